"""Checks on a slot-form answer ("[n] reason" lines) and its substituted text: every slot
once, no money written by the model, each reason citing only its own item's evidence
numbers, no other catalog title; plus the per-line checks the writer runs while decoding."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from assistant.records import Bundle, BundleItem
from assistant.write.answer_claims import claim_violation
from assistant.write.answer_words import LineWords, words_violation

Claims = Sequence[frozenset[str]] | None  # per item: the claim classes its evidence supports
Words = Sequence[LineWords] | None  # per item: the words its line may and must use

SLOT_LINE = re.compile(r"^\s*\[(\d{1,2})\]\s*(.*)$")
ANY_SLOT = re.compile(r"\[(\d{1,3})\]")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
MONEY = re.compile(r"[£$€]\s*\d|\d\s*(?:p\b|pence|pounds?\b|quid|gbp|eur|usd)", re.IGNORECASE)


def fact_numbers(text: str) -> frozenset[str]:
    """Numbers in a text, commas dropped ("1,036" -> "1036")."""
    return frozenset(m.group(0).replace(",", "").rstrip(".") for m in NUMBER.finditer(text))


def format_price(value: float | None) -> str:
    return "no price" if value is None else f"£{value:.2f}"


def parse_slot_lines(text: str) -> tuple[str, dict[int, list[str]]]:
    """(opening text, slot -> reasons of the lines that start with that slot)."""
    opening: list[str] = []
    slots: dict[int, list[str]] = {}
    for line in text.strip().splitlines():
        m = SLOT_LINE.match(line)
        if m:
            slots.setdefault(int(m.group(1)), []).append(m.group(2).strip())
        elif line.strip() and not slots:
            opening.append(line.strip())
        elif line.strip():
            slots.setdefault(-1, []).append(line.strip())  # stray text after the item lines
    return " ".join(opening), slots


def check_slots(text: str, n_items: int) -> bool:
    """Every slot 1..n starts exactly one line; no other slot number appears anywhere."""
    _, slots = parse_slot_lines(text)
    if -1 in slots:
        return False
    if sorted(slots) != list(range(1, n_items + 1)) or any(len(v) != 1 for v in slots.values()):
        return False
    if any(not v[0] for v in slots.values()):
        return False
    return all(1 <= int(m.group(1)) <= n_items for m in ANY_SLOT.finditer(text))


def odd_number_sign(text: str) -> bool:
    """A number written outside ASCII digits ("₂", "¼", "٣"): no check could read it as
    one of the item's own numbers, so a reason may not hold one."""
    return any(not ch.isascii() and unicodedata.category(ch).startswith("N") for ch in text)


def check_no_prices(text: str) -> bool:
    """True when the model's text holds no money amount (code writes every price)."""
    return MONEY.search(text) is None


def _own(fact: str | frozenset[str]) -> frozenset[str]:
    return fact if isinstance(fact, frozenset) else fact_numbers(fact)


def says_a_sentence_twice(reason: str) -> bool:
    """"Round the set off. Round the set off.": a small model looping, not a reason."""
    said = [" ".join(re.findall(r"\w+", part.casefold())) for part in re.split(r"[.!?]+", reason)]
    said = [s for s in said if s]
    return len(said) != len(set(said))


def _reason_ok(reason: str, own: frozenset[str], allowed: frozenset[str] | None,
               words: LineWords | None = None) -> bool:
    """One reason: its numbers are a non-empty subset of its own (none when it has none),
    it makes no claim outside `allowed` (unchecked when None) and, with `words`, it tells
    its own item (`answer_words`)."""
    reason = ANY_SLOT.sub("", reason)
    if says_a_sentence_twice(reason):
        return False
    cited = fact_numbers(reason)
    numbers_ok = (bool(cited) and cited <= own) if own else not cited
    if odd_number_sign(reason):
        return False
    return numbers_ok and (allowed is None or claim_violation(reason, allowed) is None) and (
        words is None or words_violation(reason, words) is None)


def bad_reasons(text: str, facts: Sequence[str | frozenset[str]], claims: Claims = None,
                words: Words = None) -> list[int]:
    """The item numbers (1-based) whose line is missing, doubled or fails `_reason_ok`."""
    _, slots = parse_slot_lines(text)
    bad = []
    for n, fact in enumerate(facts, 1):
        lines = slots.get(n)
        if not lines or len(lines) != 1 or not _reason_ok(
                lines[0], _own(fact), claims[n - 1] if claims is not None else None,
                words[n - 1] if words is not None else None):
            bad.append(n)
    return bad


def check_reasons(text: str, facts: Sequence[str | frozenset[str]], claims: Claims = None,
                  words: Words = None) -> bool:
    """Each item line cites only its own evidence numbers, and at least one when it has any;
    with claims, it also claims nothing its evidence does not support ("a best seller" for
    a pairing, "your pick" for an item the shopper did not choose); with words, it tells
    its own item, not another's (`answer_words`).
    facts: each item's fact text, or the set of numbers it may cite (`numbers_of`)."""
    return not bad_reasons(text, facts, claims, words)


def item_label(bi: BundleItem) -> str:
    """How code names a bundle line: "Title (£2.10)", or with a quantity
    "6 × Title (£2.10 each, £12.60)". The model never writes names, quantities or prices."""
    if bi.quantity == 1:
        return f"{bi.item.title} ({format_price(bi.item.price)})"
    return f"{bi.quantity} × {bi.item.title} ({format_price(bi.item.price)} each, {format_price(bi.cost)})"


def substitute(text: str, bundle: Bundle) -> str:
    """Replace each "[n] reason" line with "n. Title (£price) — reason"; drop stray slots."""
    opening, slots = parse_slot_lines(text)
    out = [opening] if opening else []
    for n, bi in enumerate(bundle.items, 1):
        for reason in slots.get(n, []):
            reason = ANY_SLOT.sub("", reason).strip(" -—:")
            out.append(f"{n}. {item_label(bi)} — {reason}")
    return "\n".join(out)


def is_grounded(final: str, bundle: Bundle, other_titles: Iterable[str] = ()) -> bool:
    """The answer names each bundle title exactly once, no other catalog title, and every
    price in it is one code rendered for a bundle item right after its title."""
    rest = final
    for bi in bundle.items:
        named = item_label(bi)
        if rest.count(named) != 1:
            return False
        rest = rest.replace(named, "\x00")
    if MONEY.search(rest):
        return False
    lowered = rest.lower()
    bundle_titles = {bi.item.title.lower() for bi in bundle.items}
    for title in other_titles:
        t = title.lower()
        if len(t) >= 6 and t not in bundle_titles and t in lowered:
            return False
    return True


def line_ok(line: str, index: int, facts: Sequence[str | frozenset[str]], claims: Claims = None,
             words: Words = None) -> bool:
    """One finished line of a slot answer: index 0 is the opening, index k the line of slot k."""
    if MONEY.search(line):
        return False
    if index == 0:
        return bool(line.strip()) and ANY_SLOT.search(line) is None
    m = SLOT_LINE.match(line)
    if m is None or int(m.group(1)) != index or index > len(facts) or not m.group(2).strip():
        return False
    if any(int(s.group(1)) != index for s in ANY_SLOT.finditer(line)):
        return False
    return _reason_ok(m.group(2), _own(facts[index - 1]), claims[index - 1] if claims is not None else None,
                      words[index - 1] if words is not None else None)


def _finished_lines(text: str) -> int:
    return sum(1 for line in text.split("\n")[:-1] if line.strip())


def first_bad_line(text: str, facts: Sequence[str | frozenset[str]], claims: Claims = None,
                   words: Words = None) -> int | None:
    """Index of the first finished line (one followed by a newline) that fails its check,
    or of a line past the last slot; None while everything finished so far is fine."""
    finished = text.split("\n")[:-1]
    lines = [line for line in finished if line.strip()]
    for index, line in enumerate(lines):
        if index > len(facts) or not line_ok(line, index, facts, claims, words):
            return index
    return None


def good_prefix(text: str, facts: Sequence[str | frozenset[str]], claims: Claims = None,
                words: Words = None) -> str:
    """The leading lines of an answer that pass their checks, each ending in a newline
    ("" when even the opening fails): the point a repair continues from."""
    lines = [line for line in text.strip().split("\n") if line.strip()]
    kept: list[str] = []
    for index, line in enumerate(lines):
        if index > len(facts) or not line_ok(line, index, facts, claims, words):
            break
        kept.append(line)
    if len(kept) == len(facts) + 1:  # every line fine: the fault is elsewhere (a title, say)
        kept = kept[:1]
    return "".join(line + "\n" for line in kept)
