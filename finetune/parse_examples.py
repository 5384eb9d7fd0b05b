"""Parse examples: a shopper message about one real invoice's items (many phrasings, partial
or misspelt item mentions, budgets in many money formats, edits, small talk, off-topic and
prompt-injection attempts), rendered with the `parse` prompt; the target is the
`Request` it means, as JSON.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

from assistant.records import Request
from prompts import render

from . import phrasings
from .shopper_requests import followup, need_request
from .training_shop import Shop

# Shares of the parse examples made by `shopper_requests` (needs in a shopper's words, money
# in words and ranges, positions in words, ...): the rest come from the banks of `phrasings`.
NEED_SHARE = 0.3
FOLLOWUP_SHARE = 0.25

ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
COLOURS = {"red", "pink", "blue", "green", "white", "black", "ivory", "cream", "gold", "silver",
           "purple", "yellow", "orange", "brown", "grey", "natural", "turquoise", "lilac"}


def mention(title: str, rng: random.Random) -> str:
    """How a shopper might name an item: lower-cased, often partial, sometimes a typo."""
    words = [w for w in re.sub(r"[^\w' -]", " ", title.lower()).split() if w]
    if not words:
        return title.lower()
    r = rng.random()
    if r < 0.35 or len(words) <= 2:
        out = words
    elif r < 0.6:
        out = [w for w in words if w not in COLOURS] or words
    elif r < 0.8:
        out = words[: max(2, len(words) - 1)]
    else:
        out = words[-2:] if rng.random() < 0.5 else words[:2]
    text = " ".join(out)
    if rng.random() < 0.06 and len(text) > 6:  # a typo: drop one letter
        i = rng.randrange(1, len(text) - 1)
        if text[i].isalpha():
            text = text[:i] + text[i + 1:]
    return text[:100]


def money(n: float, rng: random.Random) -> str:
    shown = f"{n:.2f}" if not float(n).is_integer() else str(int(n))
    return rng.choice(phrasings.BUDGET_FORMATS).format(n=shown)


def _budget(rng: random.Random) -> float:
    if rng.random() < 0.15:
        return rng.choice((7.5, 12.5, 17.5, 22.5, 9.99, 14.99))
    return float(rng.choice((5, 8, 10, 12, 15, 20, 25, 30, 35, 40, 45, 50, 60, 75, 80, 100, 120, 150, 200)))


def casing(text: str, rng: random.Random, capitalised: float = 0.12, shouted: float = 0.05) -> str:
    """As typed: usually lower case, sometimes capitalised, sometimes all capitals (one draw)."""
    r = rng.random()
    if r < capitalised:
        return text.capitalize()
    if r < capitalised + shouted:
        return text.upper()
    return text


def _style(text: str, rng: random.Random) -> str:
    text = casing(text, rng)
    if rng.random() < 0.12:
        text = rng.choice(("please ", "hey, ", "hi! ", "ok ", "hmm ")) + text
    if rng.random() < 0.08:
        text += rng.choice((" thanks", " 🙂", " x", "!!", " pls"))
    return text


def bundle_summary(titles: Sequence[str]) -> str:
    return "; ".join(f"[{i}] {t}" for i, t in enumerate(titles, 1)) if titles else "(none)"


def parse_example(shop: Shop, basket: list[str], rng: random.Random) -> tuple[str, str, Request]:
    """(message, bundle summary, target request) for one invoice."""
    cat = shop.catalog
    titles = [cat.get(i).title for i in basket]
    current = rng.sample(titles, k=min(len(titles), rng.randint(3, 5)))
    summary = bundle_summary(current)
    pos = rng.randint(1, len(current))
    pos_word = ORDINAL_WORDS.get(pos, str(pos))
    in_bundle = mention(current[pos - 1], rng)
    item = mention(rng.choice(titles), rng)
    other = mention(rng.choice([t for t in titles if t != current[pos - 1]] or titles), rng)
    need = rng.choice(phrasings.OCCASIONS)
    made = rng.random()
    if made < NEED_SHARE + FOLLOWUP_SHARE:
        if made < NEED_SHARE:
            msg, target = need_request(rng)
            summary = "(none)" if rng.random() < 0.75 else summary
        else:
            msg, target = followup(current, [t for t in titles if t not in current], mention, rng)
        msg = _style(msg, rng)
        return msg, summary, Request.from_dict(_upper_mentions(target) if msg.isupper() else target)
    intent = rng.choices(
        ["bundle_item", "bundle_need", "cheaper", "swap", "remove", "add", "lock", "more_like",
         "set_budget", "add_to_cart", "compare", "question", "smalltalk", "off_topic"],
        weights=[16, 14, 6, 9, 6, 7, 4, 5, 6, 6, 4, 5, 5, 9],
    )[0]
    fill: dict[str, Any] = {"item": item, "need": need, "pos": pos_word, "num": pos}
    req: dict[str, Any]
    if intent in ("bundle_item", "bundle_need"):
        summary = "(none)" if rng.random() < 0.7 else summary
        template = rng.choice(phrasings.BUNDLE_ITEM if intent == "bundle_item" else phrasings.BUNDLE_NEED)
        msg = template.format(**fill)
        req = {"intent": "bundle"}
        if intent == "bundle_item":
            req["items"] = [item]
            if rng.random() < 0.15:
                need2 = rng.choice(phrasings.OCCASIONS)
                msg += f" for {need2}"
                req["need"] = need2
        else:
            req["need"] = need
        if rng.random() < 0.35:
            b = _budget(rng)
            msg += rng.choice(phrasings.BUDGET_SUFFIX).format(budget=money(b, rng))
            req["budget"] = b
        if rng.random() < 0.12:
            size = rng.randint(2, 6)
            msg += rng.choice(phrasings.SIZE_SUFFIX).format(size=size)
            req["size"] = size
        if rng.random() < 0.12:
            party = rng.choice((2, 4, 6, 8, 10, 12, 20))
            msg += rng.choice(phrasings.PARTY_SUFFIX).format(party=party)
            req["party_size"] = party
        if rng.random() < 0.12:
            excl = rng.choice(("candles", "glass", "plastic", "pink", "christmas", "paper", "mugs", "bags"))
            msg += rng.choice(phrasings.EXCLUDE_SUFFIX).format(excl=excl)
            req["exclude"] = [excl]
    elif intent == "cheaper":
        if rng.random() < 0.35:
            b = _budget(rng)
            # A stated amount is a budget change: one label for one meaning, so the model
            # is never asked to tell "down to £30" (cheaper) from "£30 instead" (set_budget).
            msg = rng.choice(phrasings.CHEAPER_BUDGET).format(budget=money(b, rng))
            req = {"intent": "set_budget", "budget": b}
        else:
            msg = rng.choice(phrasings.CHEAPER)
            req = {"intent": "cheaper"}
    elif intent == "swap":
        r = rng.random()
        if r < 0.45:
            msg = rng.choice(phrasings.SWAP_POS).format(**fill)
            req = {"intent": "swap", "target": str(pos)}
        elif r < 0.8:
            msg = rng.choice(phrasings.SWAP_ITEM).format(item=in_bundle)
            req = {"intent": "swap", "target": in_bundle}
        else:
            template = rng.choice(phrasings.SWAP_WITH)
            msg = template.format(item=in_bundle, item2=other, pos=pos_word)
            req = {"intent": "swap", "target": str(pos) if "{pos}" in template else in_bundle, "items": [other]}
    elif intent in ("remove", "lock", "more_like"):
        bank = {"remove": phrasings.REMOVE, "lock": phrasings.LOCK, "more_like": phrasings.MORE_LIKE}[intent]
        template = rng.choice(bank)
        msg = template.format(item=in_bundle, pos=pos_word, num=pos)
        req = {"intent": intent, "target": in_bundle if "{item}" in template else str(pos)}
    elif intent == "add":
        if rng.random() < 0.7:
            msg = rng.choice(phrasings.ADD_ITEM).format(item=item)
            req = {"intent": "add", "items": [item]}
        else:
            msg = rng.choice(phrasings.ADD_NEED).format(need=need)
            req = {"intent": "add", "need": need}
    elif intent == "set_budget":
        b = _budget(rng)
        msg = rng.choice(phrasings.SET_BUDGET).format(budget=money(b, rng))
        req = {"intent": "set_budget", "budget": b}
    elif intent == "add_to_cart":
        if rng.random() < 0.6:
            msg = rng.choice(phrasings.CART_ALL)
            req = {"intent": "add_to_cart"}
        else:
            template = rng.choice(phrasings.CART_ONE)
            msg = template.format(item=in_bundle, pos=pos_word, num=pos)
            req = {"intent": "add_to_cart", "target": in_bundle if "{item}" in template else str(pos)}
    elif intent == "compare":
        msg = rng.choice(phrasings.COMPARE).format(item=in_bundle, item2=other)
        req = {"intent": "compare", "items": [in_bundle, other]}
    elif intent == "question":
        msg = rng.choice(phrasings.QUESTION).format(item=in_bundle)
        req = {"intent": "question", "target": in_bundle}
    elif intent == "smalltalk":
        msg = rng.choice(phrasings.SMALLTALK)
        req = {"intent": "smalltalk"}
        summary = summary if rng.random() < 0.5 else "(none)"
    else:
        msg = rng.choice(phrasings.OFF_TOPIC).format(item=in_bundle)
        req = {"intent": "off_topic"}
        summary = summary if rng.random() < 0.5 else "(none)"
    msg = _style(msg, rng) if intent not in ("smalltalk", "off_topic") or rng.random() < 0.5 else msg
    if msg.isupper():  # an all-caps message: the mentions in the target stay as written
        req = _upper_mentions(req)
    return msg, summary, Request.from_dict(req)


def _upper_mentions(req: dict[str, Any]) -> dict[str, Any]:
    out = dict(req)
    for key in ("items", "exclude"):
        if key in out:
            out[key] = [v.upper() for v in out[key]]
    for key in ("need", "target"):
        if key in out and isinstance(out[key], str):
            out[key] = out[key].upper()
    return out


def parse_messages(message: str, summary: str, request: Request | None = None) -> list[dict[str, str]]:
    msgs = [{"role": "user", "content": render("parse", bundle=summary, message=message)}]
    if request is not None:
        msgs.append({"role": "assistant", "content": request.to_json()})
    return msgs
