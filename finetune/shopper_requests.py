"""Parse examples for the phenomena ordinary shoppers bring (issue #13): needs told by person,
occasion, interest or theme; money in words, other currencies, ranges and per-item caps;
"the cheapest"; party sizes in words; many forms of exclusion; positions in words ("the
middle one", "number two", "the last one"); cart questions; a new idea mid-conversation;
typos, chatty openings and endings, redacted personal data.

Each maker returns (message, target as a dict). The target is what the parser should say:
a range's top is the budget (code reads the low end), a per-item cap is no budget (code reads
it), "the cheapest" is a bundle request (code reads the sort), a position is its number.
"""

from __future__ import annotations

import random
import re
from typing import Any

from . import phrasings_more as banks

_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
          "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty",
         90: "ninety"}
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")
_SUFFIX = {1: "st", 2: "nd", 3: "rd"}


def number_words(n: int) -> str:
    """1..99 in words: 35 -> "thirty-five" (or "thirty five")."""
    if n < 20:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    return _TENS[tens * 10] + (f"-{_UNITS[unit]}" if unit else "")


def money_phrase(amount: int, rng: random.Random) -> str:
    """An amount as a shopper writes it: "£25", "25 quid", "twenty-five pounds", "a tenner", "$25"."""
    r = rng.random()
    if amount in banks.MONEY_SLANG and r < 0.25:
        return rng.choice(banks.MONEY_SLANG[amount])
    if amount < 100 and r < 0.45:
        words = number_words(amount)
        if rng.random() < 0.3:
            words = words.replace("-", " ")
        return rng.choice(banks.MONEY_WORDS).format(w=words)
    return rng.choice(banks.MONEY_DIGITS).format(n=amount)


def _amount(rng: random.Random) -> int:
    return rng.choice((5, 8, 10, 12, 15, 18, 20, 25, 30, 35, 40, 45, 50, 60, 70, 75, 80, 100, 120, 150))


def need_phrase(rng: random.Random) -> tuple[str, bool]:
    """A need in a shopper's words ("my nan's 80th", "a leaving present for a colleague",
    "my dad who loves gardening", "a retro kitchen", "a bake sale") and whether it is a
    gathering (a party size fits it)."""
    r = rng.random()
    if r < 0.25:
        person = rng.choice(banks.PEOPLE)
        owner = person + ("'" if person.endswith("s") else "'s")
        event = rng.choice(banks.POSSESSIVE_EVENTS)
        return f"{owner} {event}", event in ("birthday party", "hen do", "leaving do", "housewarming")
    if r < 0.45:
        return f"{rng.choice(banks.GIFT_EVENTS)} for {rng.choice(banks.PEOPLE)}", False
    if r < 0.65:
        who = rng.choice(banks.PEOPLE)
        return f"{who} who {rng.choice(banks.INTERESTS)}", False
    if r < 0.85:
        return rng.choice(banks.OCCASION_PHRASES), True
    return rng.choice(banks.THEMES), False


def _party(rng: random.Random) -> tuple[str, int]:
    if rng.random() < 0.2:
        phrase, n = rng.choice(banks.PARTY_FIXED)
        return phrase.format(partner=rng.choice(banks.PARTNERS)), n
    n = rng.choice((3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30))
    return rng.choice(banks.PARTY_AFTER).format(n=n, w=number_words(n) if rng.random() < 0.6 else n), n


def _size(rng: random.Random) -> tuple[str, int]:
    template = rng.choice(banks.SIZE_AFTER)
    if "couple" in template:
        return template, 2
    n = rng.randint(2, 6)
    return template.format(n=n, w=number_words(n)), n


def _range(rng: random.Random) -> tuple[str, int, int]:
    low = rng.choice((5, 10, 15, 20, 25, 30, 40, 50))
    high = low + rng.choice((5, 10, 15, 20, 30))
    return rng.choice(banks.RANGE_PHRASES).format(low=low, high=high), low, high


def _cap(rng: random.Random) -> tuple[str, int]:
    cap = rng.choice((2, 3, 4, 5, 8, 10, 15))
    return rng.choice(banks.CAP_PHRASES).format(cap=cap), cap


def typo(text: str, rng: random.Random, protected: str = "") -> str:
    """One slip of the keyboard in a word of `text` outside `protected` (a dropped, doubled or
    swapped letter): the slots the target copies stay as written."""
    kept = set(re.findall(r"[a-z]+", protected.lower()))
    spans = [m for m in re.finditer(r"[a-z]{4,}", text) if m.group() not in kept]
    if not spans:
        return text
    m = rng.choice(spans)
    word = m.group()
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        new = word[:i] + word[i + 1:]
    elif kind < 0.7:
        new = word[:i] + word[i] + word[i:]
    else:
        new = word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]
    return text[:m.start()] + new + text[m.end():]


def _chatty(text: str, rng: random.Random) -> str:
    if rng.random() < 0.22:
        text = f"{rng.choice(banks.BACKSTORY)} {text}"
    if rng.random() < 0.15:
        text = text.rstrip() + rng.choice(banks.SIGN_OFFS)
    if rng.random() < 0.06:
        text = rng.choice(banks.PII_OPENERS) + text
    return text


def need_request(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A first message about a need, with the slots shoppers add to it."""
    need, gathering = need_phrase(rng)
    target: dict[str, Any] = {"intent": "bundle", "need": need}
    if rng.random() < 0.1:
        text = rng.choice(banks.CHEAPEST_OPENERS).format(need=need)
    else:
        text = rng.choice(banks.NEED_OPENERS).format(need=need)
    extras: list[str] = []
    r = rng.random()
    if r < 0.3:
        amount = _amount(rng)
        extras.append(rng.choice(banks.BUDGET_AFTER).format(money=money_phrase(amount, rng)))
        target["budget"] = amount
    elif r < 0.4:
        phrase, _, high = _range(rng)
        extras.append(rng.choice(banks.RANGE_AFTER).format(range=phrase))
        target["budget"] = high
    if rng.random() < 0.1:
        phrase, cap = _cap(rng)
        if cap * 2 <= target.get("budget", 1000):
            extras.append(rng.choice(banks.CAP_AFTER).format(cap=phrase))
    if gathering and rng.random() < 0.4:
        phrase, n = _party(rng)
        extras.append(phrase)
        target["party_size"] = n
    if rng.random() < 0.08:
        phrase, n = _size(rng)
        extras.append(phrase)
        target["size"] = n
    if rng.random() < 0.18:
        excl = rng.choice(banks.EXCLUSIONS)
        extras.append(rng.choice(banks.EXCLUDE_AFTER).format(excl=excl))
        target["exclude"] = [excl]
    rng.shuffle(extras)
    text = text.rstrip("?!.") + "".join(extras) if extras else text
    if rng.random() < 0.15:
        text = typo(text, rng, protected=" ".join(str(v) for v in target.values()))
    return _chatty(text, rng), target


def position_phrase(pos: int, n: int, rng: random.Random) -> str:
    """Bundle position `pos` (1-based) of `n` items in words."""
    choices = [f"the {_ORDINALS[pos - 1]} one", f"number {_UNITS[pos]}", f"no. {pos}", f"#{pos}", f"item {pos}",
               f"the {pos}{_SUFFIX.get(pos, 'th')}", f"the {pos}{_SUFFIX.get(pos, 'th')} one",
               f"the {_ORDINALS[pos - 1]} thing"]
    if pos == (n - 1) // 2 + 1 and n >= 3:
        choices += ["the middle one", "the one in the middle"] * 2
    if pos == n:
        choices += ["the last one", "the final one", "the bottom one", "the one at the end", "the last thing"]
    if pos == 1:
        choices += ["the top one", "the first thing"]
    return rng.choice(choices)


def followup(current: list[str], others: list[str], mention_of: Any,
             rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A follow-up to the bundle `current` (titles; `others` are titles to ask for instead): an edit by position in words or by part
    of a name, a budget in words or a range, a per-item cap, a cart question, a new idea."""
    n = len(current)
    pos = rng.randint(1, n)
    by_words = rng.random() < 0.6
    pointer = position_phrase(pos, n, rng) if by_words else "the " + mention_of(current[pos - 1], rng)
    target_value = str(pos) if by_words else pointer[4:]
    kind = rng.choices(["swap", "swap_for", "remove", "lock", "more_like", "question", "cart_one", "cart_q",
                        "cheaper", "set_budget", "range", "cap", "restart", "exclude"],
                       weights=[12, 4, 10, 5, 5, 6, 6, 5, 7, 7, 4, 3, 6, 5])[0]
    if kind == "swap_for":
        other = mention_of(rng.choice(others or current), rng)
        text = rng.choice(banks.SWAP_FOR_MORE).format(pos=pointer, item=other)
        return text, {"intent": "swap", "target": target_value, "items": [other]}
    if kind in ("swap", "remove", "lock", "more_like", "question", "cart_one"):
        bank = {"swap": banks.SWAP_MORE, "remove": banks.REMOVE_MORE, "lock": banks.LOCK_MORE,
                "more_like": banks.MORE_LIKE_MORE, "question": banks.QUESTION_MORE,
                "cart_one": banks.CART_ONE_MORE}[kind]
        text = rng.choice(bank).format(pos=pointer)
        intent = "add_to_cart" if kind == "cart_one" else kind
        return _maybe_typo(text, rng, target_value), {"intent": intent, "target": target_value}
    if kind == "cart_q":
        return rng.choice(banks.CART_QUESTIONS), {"intent": "question"}
    if kind == "cheaper":
        return _maybe_typo(rng.choice(banks.CHEAPER_MORE), rng), {"intent": "cheaper"}
    if kind == "set_budget":
        amount = _amount(rng)
        return rng.choice(banks.SET_BUDGET_MORE).format(money=money_phrase(amount, rng)), \
            {"intent": "set_budget", "budget": amount}
    if kind == "range":
        phrase, _, high = _range(rng)
        return rng.choice(banks.SET_RANGE_MORE).format(range=phrase), {"intent": "set_budget", "budget": high}
    if kind == "cap":
        phrase, _ = _cap(rng)
        return rng.choice(banks.CAP_FOLLOWUPS).format(cap=phrase), {"intent": "cheaper"}
    if kind == "exclude":
        excl = rng.choice(banks.EXCLUSIONS)
        return rng.choice(banks.EXCLUDE_FOLLOWUPS).format(excl=excl), {"intent": "bundle", "exclude": [excl]}
    text, target = need_request(rng)
    return rng.choice(banks.RESTART).format(request=text[0].lower() + text[1:]), target


def _maybe_typo(text: str, rng: random.Random, protected: str = "") -> str:
    return typo(text, rng, protected) if rng.random() < 0.12 else text
