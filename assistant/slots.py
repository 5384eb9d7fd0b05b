"""Deterministic slot checks on the model's structured request.

Money and counts are where a 135M model slips most (the held-out slot accuracy for the
budget is well below the intent's), and where a slip costs the shopper most. When the
shopper's own words state a budget or a number of items and the model's request lacks it,
code fills it in from the text; a budget phrase left inside the need text is cut out.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .records import MAX_BUDGET, MAX_BUNDLE_SIZE, Request

_AMOUNT = r"(\d{1,6}(?:[.,]\d{1,2})?)"
_BUDGET_PATTERNS = [
    re.compile(rf"(?:under|below|less than|no more than|max(?:imum)?|up to|within|budget(?: of| is)?|around|about|for)\s*(?:£|gbp\s*)?{_AMOUNT}\s*(?:£|pounds?|quid|gbp)?", re.I),
    re.compile(rf"(?:£|gbp\s?){_AMOUNT}", re.I),
    re.compile(rf"{_AMOUNT}\s*(?:pounds?|quid|gbp)\b", re.I),
]
_MONEY_WORD = re.compile(r"£|pounds?|quid|gbp|budget|under|below|max", re.I)
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "a couple of": 2, "a few": 3}
_COUNT = re.compile(r"\b(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few)\s+"
                    r"(?:items?|things?|products?|pieces?|gifts?|bits)\b", re.I)


def budget_in(text: str) -> float | None:
    for pattern in _BUDGET_PATTERNS:
        for match in pattern.finditer(text):
            if pattern is _BUDGET_PATTERNS[0] and not _MONEY_WORD.search(match.group(0)):
                continue  # "for 4" is a party size, not money
            value = float(match.group(1).replace(",", "."))
            if 0 < value <= MAX_BUDGET:
                return value
    return None


def count_in(text: str) -> int | None:
    match = _COUNT.search(text)
    if not match:
        return None
    word = match.group(1).lower()
    value = int(word) if word.isdigit() else _NUMBER_WORDS[word]
    return value if 1 <= value <= MAX_BUNDLE_SIZE else None


def _is_money_phrase(text: str) -> bool:
    stripped = text.strip().lower()
    return budget_in(stripped) is not None and len(re.sub(
        r"(?:about|around|under|below|max(?:imum)?|up to|budget(?: of)?|£|gbp|pounds?|quid|[\d.,\s])", "",
        stripped)) == 0


def complete_slots(request: Request, text: str) -> Request:
    """Fill a budget or size the shopper stated but the model left out; tidy the need."""
    changes: dict[str, Any] = {}
    wants_money = request.intent in ("bundle", "cheaper", "set_budget", "add")
    if wants_money and request.budget is None:
        budget = budget_in(text)
        if budget is not None:
            changes["budget"] = budget
    if request.intent == "bundle" and request.size is None:
        size = count_in(text)
        if size is not None:
            changes["size"] = size
    # A money phrase the model copied into the item mentions is a budget, not an item.
    kept = tuple(m for m in request.items if not _is_money_phrase(m))
    if kept != request.items:
        changes["items"] = kept
    if request.need:
        need = re.sub(r"\s*(?:,\s*)?(?:under|below|max(?:imum)?|up to|budget(?: of)?)?\s*(?:£|gbp\s?)\s?\d[\d.,]*"
                      r"(?:\s*(?:pounds?|quid))?", "", request.need, flags=re.I).strip(" ,.")
        if need != request.need:
            changes["need"] = need or None
    return dataclasses.replace(request, **changes) if changes else request


_CART_WORDS = re.compile(r"\b(cart|basket|trolley|checkout|check out|buy (?:it|them|these|all)|purchase)\b", re.I)


def reconcile_intent(request: Request, text: str) -> Request:
    """Putting things in the cart changes the shopper's order, so it needs the shopper's words.

    The model's intent is kept unless the text contradicts the one intent with a side
    effect: "add_to_cart" without any cart wording becomes a bundle request for the items
    named (nothing is added), and "add" with cart wording becomes "add_to_cart".
    """
    says_cart = bool(_CART_WORDS.search(text))
    if request.intent == "add_to_cart" and not says_cart:
        return dataclasses.replace(request, intent="bundle", target=None)
    if request.intent == "add" and says_cart:
        return dataclasses.replace(request, intent="add_to_cart", items=(), need=None)
    return request


def need_from_text(text: str) -> str:
    """The shopper's words without budget and count phrases (what to match against items)."""
    need = _COUNT.sub("", text)
    for pattern in _BUDGET_PATTERNS:
        need = pattern.sub("", need)
    return re.sub(r"\s+", " ", need).strip(" ,.!?")
