"""Asking for the bundle at several prices, and picking one of them, in English.

Two named rules, each with examples in `assistant/understand/rules.py`:

* "price tiers": the shopper wants the bundle in a cheaper and a nicer version at once
  ("show me a cheaper and a nicer version", "budget and premium options", "good, better,
  best"), not one edit ("make it cheaper") and not one thing that is both ("a cheaper and
  nicer teapot").
* "tier named": with the tiers on screen, which one the shopper takes ("the budget one",
  "I'll go with the premium version", "the standard option").
"""

from __future__ import annotations

import re

_LOW = r"(?:cheaper|cheap|budget|basic|lower[- ]priced|less expensive|thriftier)"
_HIGH = (r"(?:nicer|posher|fancier|pricier|premium|luxury|luxurious|deluxe|better|more expensive|"
         r"higher[- ]end|splashier|more special)")
_VERSION = r"(?:versions?|options?|ones?|bundles?|alternatives?|sets?|selections?|tiers?)"
_AND = r"\s+(?:version\s+|option\s+|one\s+)?(?:and|&|or|plus|as well as|vs\.?|versus)\s+(?:also\s+)?"
_TIERS = re.compile(
    rf"\b{_LOW}{_AND}(?:an?\s+|one\s+)(?:\w+\s+)?{_HIGH}\b"           # a cheaper and a nicer (version)
    rf"|\b{_LOW}{_AND}{_HIGH}\s+{_VERSION}\b"                           # budget and premium options
    rf"|\b{_HIGH}{_AND}(?:an?\s+|one\s+)(?:\w+\s+)?{_LOW}\b"
    rf"|\b{_HIGH}{_AND}{_LOW}\s+{_VERSION}\b"
    r"|\bgood\s*,?\s*better\s*,?\s*(?:and\s+|&\s+)?best\b"
    r"|\b(?:three|3|a few|several|different)\s+(?:price\s+(?:points|levels|ranges|brackets|tiers)|budgets|tiers)\b"
    r"|\b(?:at|in)\s+(?:different|various|a few|several|three|3)\s+price\s+(?:points|levels|ranges|brackets)\b"
    r"|\bprice\s+tiers\b",
    re.IGNORECASE)

_TIER_WORDS = {
    "budget": "budget", "cheap": "budget", "cheaper": "budget", "cheapest": "budget", "basic": "budget",
    "standard": "standard", "middle": "standard", "mid-range": "standard", "midrange": "standard",
    "regular": "standard", "original": "standard",
    "premium": "premium", "posh": "premium", "posher": "premium", "nicer": "premium", "nicest": "premium",
    "luxury": "premium", "fancier": "premium", "pricier": "premium", "deluxe": "premium",
}
_TIER_NAMED = re.compile(
    r"\b(?:the\s+)?(" + "|".join(sorted(_TIER_WORDS, key=len, reverse=True)) + r")\s+"
    r"(?:one|version|option|tier|bundle|set|selection)\b", re.IGNORECASE)


def asks_for_tiers(text: str) -> bool:
    """Rule "price tiers". "show me a cheaper and a nicer version" -> True; "budget and
    premium options" -> True; "make it cheaper" -> False; "a cheaper and nicer teapot" -> False."""
    return _TIERS.search(text or "") is not None


def tier_named(text: str) -> str | None:
    """Rule "tier named": "the budget one" -> "budget"; "I'll take the premium version" ->
    "premium"; "the standard option" -> "standard"; "make it cheaper" -> None."""
    match = _TIER_NAMED.search(text or "")
    return _TIER_WORDS[match.group(1).lower()] if match else None
