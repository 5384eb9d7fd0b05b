"""Budgets and item counts in the shopper's own words: "under £20", "30 quid", "max 15";
"three things", "a few gifts". What a small model most often gets wrong, read by code.
"""

from __future__ import annotations

import re

from assistant.records import MAX_BUDGET, MAX_BUNDLE_SIZE

_AMOUNT = r"(\d{1,6}(?:[.,]\d{1,2})?)"
BUDGET_PATTERNS = [
    re.compile(rf"(?:under|below|less than|no more than|max(?:imum)?|up to|within|budget(?: of| is)?|around|about|for)\s*(?:£|gbp\s*)?{_AMOUNT}\s*(?:£|pounds?|quid|gbp)?", re.I),
    re.compile(rf"(?:£|gbp\s?){_AMOUNT}", re.I),
    re.compile(rf"{_AMOUNT}\s*(?:pounds?|quid|gbp)\b", re.I),
]
_MONEY_WORD = re.compile(r"£|pounds?|quid|gbp|budget|under|below|max", re.I)
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "a couple of": 2, "a few": 3}
COUNT_PHRASE = re.compile(r"\b(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few)\s+"
                          r"(?:items?|things?|products?|pieces?|gifts?|bits)\b", re.I)


def budget_in(text: str) -> float | None:
    for pattern in BUDGET_PATTERNS:
        for match in pattern.finditer(text):
            if pattern is BUDGET_PATTERNS[0] and not _MONEY_WORD.search(match.group(0)):
                continue  # "for 4" is a party size, not money
            value = float(match.group(1).replace(",", "."))
            if 0 < value <= MAX_BUDGET:
                return value
    return None


def count_in(text: str) -> int | None:
    match = COUNT_PHRASE.search(text)
    if not match:
        return None
    word = match.group(1).lower()
    value = int(word) if word.isdigit() else _NUMBER_WORDS[word]
    return value if 1 <= value <= MAX_BUNDLE_SIZE else None


def is_money_phrase(text: str) -> bool:
    stripped = text.strip().lower()
    return budget_in(stripped) is not None and len(re.sub(
        r"(?:about|around|under|below|max(?:imum)?|up to|budget(?: of)?|£|gbp|pounds?|quid|[\d.,\s])", "",
        stripped)) == 0


def number_in(value: float, text: str) -> bool:
    """The text holds this number, in digits ("15", "15.00") or as a small number word."""
    digits = {m.group(0).replace(",", "") for m in re.finditer(r"\d[\d,]*(?:\.\d+)?", text)}
    if any(float(d) == float(value) for d in digits if d.replace(".", "", 1).isdigit()):
        return True
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
             "nine": 9, "ten": 10, "a dozen": 12, "twelve": 12, "twenty": 20}
    lowered = text.lower()
    return any(float(n) == float(value) and re.search(rf"\b{w}\b", lowered) for w, n in words.items())
