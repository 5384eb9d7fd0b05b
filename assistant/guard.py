"""Guardrails around a turn: input limits, PII redaction, injection detection, grounding.

Pure code, no model: the checks must hold whatever the language model does.
- `check_input` enforces length/emptiness limits and returns cleaned text.
- `redact` removes emails, phone numbers, card numbers and street addresses before
  anything is logged or stored.
- `looks_like_injection` flags attempts to change the assistant's rules or read its
  prompt; such turns are answered with a fixed polite redirect and never reach the writer.
- `ungrounded_mentions` finds catalog titles or prices in a reply that the bundle does not
  justify (the writer's output guard).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable

from retrieval.errors import CartsmithError

from .records import Bundle


class InputRejected(CartsmithError):
    """The shopper's message breaks a limit; `field` and `limit` say which."""

    def __init__(self, message: str, *, field: str = "text", limit: int | None = None) -> None:
        self.field = field
        self.limit = limit
        super().__init__(message)


@dataclasses.dataclass(frozen=True)
class InputLimits:
    max_chars: int = 2_000
    max_turns_per_session: int = 200


def check_input(text: object, limits: InputLimits = InputLimits()) -> str:
    if not isinstance(text, str):
        raise InputRejected("text: expected a string")
    if len(text) > limits.max_chars:
        raise InputRejected(
            f"text: the message has {len(text):,} characters; the limit is {limits.max_chars:,}",
            limit=limits.max_chars,
        )
    cleaned = "".join(ch for ch in unicodedata.normalize("NFKC", text)
                      if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    cleaned = re.sub(r"[ \t]+", " ", cleaned).strip()
    if not cleaned:
        raise InputRejected("text: the message is empty")
    return cleaned


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_PHONE = re.compile(r"(?<![\w£$€])(?:\+\d{1,3}[\s.-]?)?(?:\(?\d{2,5}\)?[\s.-]?){2,4}\d{3,4}\b")
_POSTCODE_UK = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
_STREET = re.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|"
    r"Court|Ct|Place|Pl|Square|Sq|Boulevard|Blvd|Terrace|Gardens|Crescent)\b\.?",
    re.IGNORECASE,
)


def _luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        alt = not alt
    return total % 10 == 0


def redact(text: str) -> str:
    """Replace PII with typed placeholders: [email], [card], [phone], [address]."""
    text = _EMAIL.sub("[email]", text)

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "[card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group()

    text = _CARD.sub(card, text)
    text = _STREET.sub("[address]", text)
    text = _POSTCODE_UK.sub("[address]", text)

    def phone(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "[phone]" if len(digits) >= 9 else match.group()

    return _PHONE.sub(phone, text)


_INJECTION = [re.compile(p, re.IGNORECASE) for p in (
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instruction|rule|prompt|previous|above|guideline)s?\b",
    r"\b(system|hidden|secret|initial)\s+(prompt|instruction|message)s?\b",
    r"\b(print|show|reveal|repeat|output|tell me|what is|what's|leak)\b.{0,30}\b(prompt|instructions|rules)\b",
    r"\byou are (now|no longer)\b",
    r"\b(pretend|act|roleplay|role-play)\b.{0,30}\b(you are|as|to be)\b",
    r"\b(jailbreak|developer mode|dan mode|do anything now)\b",
    r"\b(set|change|make|update)\b.{0,40}\bprices?\b.{0,20}\b(to|=)\s*[£$€]?\s*0\b",
    r"\b(free of charge|for free|100% discount|give me .{0,20} discount)\b",
    r"\b(other|another|competitor'?s?|different)\s+(shop|store|retailer|website|site)s?\b",
    r"\bamazon|ebay|etsy|walmart|argos|ikea\b",
    r"<\|?(system|im_start|im_end)\|?>|\[/?INST\]",
)]


def looks_like_injection(text: str) -> bool:
    return any(p.search(text) for p in _INJECTION)


_PRICE = re.compile(r"(?:£|\$|€|GBP\s?)\s?\d[\d,]*(?:\.\d+)?|\b\d+(?:\.\d{2})\s?(?:pounds|gbp|quid)\b",
                    re.IGNORECASE)


def prices_in(text: str) -> list[str]:
    return [m.group().strip() for m in _PRICE.finditer(text)]


def ungrounded_mentions(reply: str, bundle: Bundle, catalog_titles: Iterable[str],
                        rendered_prices: Iterable[str] = ()) -> list[str]:
    """Catalog titles named in `reply` that are not bundle items, and prices not rendered by code."""
    allowed_titles = {bi.item.title.lower() for bi in bundle.items}
    lowered = reply.lower()
    problems = [t for t in catalog_titles if len(t) > 6 and t.lower() not in allowed_titles
                and t.lower() in lowered and not any(t.lower() in a for a in allowed_titles)]
    allowed_prices = {p.replace(" ", "") for p in rendered_prices}
    problems += [p for p in prices_in(reply) if p.replace(" ", "") not in allowed_prices]
    return problems
