"""Guardrails around a turn: input limits, PII redaction, injection detection, grounding.

Pure code, no model: the checks must hold whatever the language model does.
- `check_input` enforces length/emptiness limits and returns cleaned text.
- `redact` removes emails, phone numbers, card numbers (and their CVV/expiry) and street
  addresses before anything is logged or stored; `without_pii` leaves them out altogether.
- `looks_like_injection` (`injection_kind` says which family) flags attempts to change
  the assistant's rules, read its prompt, take on another persona, change prices, send the
  shopper to another shop, or smuggle chat-template markers; such turns are answered with
  a fixed polite redirect and never reach the model. Obfuscation is undone first: Unicode
  look-alikes, accents, leetspeak, letters spaced or split by punctuation, reversed text,
  base64; a few common phrasings are known in other languages too.
- `off_topic_kind` names the topic of a request that is clearly not shopping, for a short
  redirect instead of whatever the model would make of it.
- `ungrounded_mentions` finds catalog titles or prices in a reply that code did not put
  there; `prompt_leaks` finds runs of prompt text in a reply.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import unicodedata
from collections.abc import Iterable

from assistant.records import Bundle
from assistant.safety.patterns import (
    LEET,
    LOOKALIKES,
    OFF_TOPIC_PATTERNS,
    OTHER_LANGUAGES,
    SQUASHED_PATTERNS,
    WORD_PATTERNS,
)
from retrieval.errors import CartsmithError


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


_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                             "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
                             "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-"})


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
    # one spelling of quotes and dashes for every rule after the guard: a phone's "don’t"
    # is "don't", "£15–25" is "£15-25"
    cleaned = cleaned.translate(_TYPOGRAPHY)
    cleaned = re.sub(r"[ \t]+", " ", cleaned).strip()
    if not cleaned:
        raise InputRejected("text: the message is empty")
    return cleaned


# ------------------------------------------------------------------------------------------
# PII
# ------------------------------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_AT = r"(?:\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+|\.)"
# "jane dot doe at example dot com", "jane(at)example(dot)co(dot)uk"
_EMAIL_SPELLED = re.compile(
    rf"[\w.+-]+(?:{_DOT}[\w+-]+)*{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}"
    r"(?:com|net|org|edu|gov|io|co|uk|de|fr|es|it|nl|ie|eu|info|me|biz)\b", re.IGNORECASE)
_CARD = re.compile(r"(?<![\d.,])\d(?:[ .-]?\d){12,18}(?![\d])")
_CARD_EXTRA = re.compile(
    r"\b(?:cvv2?|cvc2?|csc|cid|security code)\b\s*[:#=]?\s*\d{3,4}\b"
    r"|\b(?:exp(?:iry|ires|iration)?(?:\s+date)?|valid\s+(?:thru|through|until))\b\.?\s*[:#=]?\s*"
    r"(?:0?[1-9]|1[0-2])\s*[/-]\s*(?:\d{4}|\d{2})\b", re.IGNORECASE)
# 9 to 15 digits in groups (UK, US and international formats); a price's digits never start one.
_PHONE = re.compile(r"(?<![\w£$€.,])(?:\+\s?)?\(?\d(?:[\s().-]{0,3}\d){8,14}(?!\d)")
_STREET_WORDS = r"(?:street|road|rd|avenue|ave|lane|ln|drive|boulevard|blvd|crescent|cres|highway|hwy|parkway)"
# These also name products ("Place Settings", "Square Planters", "St George"): only an
# address when the phrase ends there.
_STREET_WORDS_ENDING = (r"(?:st|dr|close|way|court|ct|place|pl|square|sq|terrace|gardens|grove|mews|row|walk|"
                        r"hill|park)")
_STREET = re.compile(
    # "2 x Wrap Paisley Park" is a quantity and a product
    r"\b\d{1,5}[a-z]?,?\s+(?!(?:x|of|pack|packs|set|sets|pcs|pieces?|bags?|boxes?)\b)(?:[a-z][\w'-]*\s+){1,3}"
    rf"(?:{_STREET_WORDS}\b\.?|{_STREET_WORDS_ENDING}\b(?=\s*(?:$|[,;:)\n]|\.(?:\s|$))))",
    re.IGNORECASE)
_ADDRESS_OTHER = re.compile(
    r"\b(?:flat|apt|apartment|suite|unit)\s*(?:no\.?\s*)?#?\s*\d{1,5}[a-z]?\b"
    r"|\bp\.?\s?o\.?\s+box\s+\d{1,6}\b"
    r"|\b[\wäöüß-]*(?:straße|strasse|str\.|gasse|allee|platz|damm)\s+\d{1,4}[a-z]?\b"
    r"|\b\d{1,4}(?:\s*(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|chemin|impasse|allée)\s+(?:[\w'-]+\s?){1,4}",
    re.IGNORECASE)
_POSTCODE_UK = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)\s*\d[ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE)
_ZIP_US = re.compile(r"\b(?:A[KLRZ]|C[AOT]|DE|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|RI|"
                     r"S[CD]|T[NX]|UT|V[AT]|W[AIVY])\s+\d{5}(?:-\d{4})?\b")


def luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        alt = not alt
    return total % 10 == 0


# A name the shopper gives about themselves: after "my name is" / "name:" any one or two
# words; after "I'm" / "this is" / "call me" only capitalised words that end the phrase
# ("I'm Gemma, ...", not "I'm looking for ...").
_NAME_SAID = re.compile(r"\b(?i:my\s+name(?:'s|’s|\s+is)|name\s*[:=])\s+(?P<name>[\w'’-]+(?:\s+[A-Z][\w'’-]+)?)")
_NAME_INTRO = re.compile(r"\b(?:[Ii]'m|[Ii]’m|[Ii]\s+am|[Tt]his\s+is|[Cc]all\s+me|[Ii]t's|[Ii]t’s)\s+"  # not Title Case ("I Am So Poorly")
                         r"(?!(?:English|Scottish|Welsh|Irish|British|American|Vegan|Vegetarian|Sorry|Back|Here|Done|"
                         r"Ready|Fine|Good|Great|Okay|Ok|Sure|New|Lost|Stuck|Broke|Skint)\b)"
                         r"(?P<name>[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)?)(?=\s*(?:[,.;:!?)\n–—]|\s-\s|$))")
# A date of birth: after its cue, or any full date in the last century.
_BIRTH_DATE = re.compile(r"\b(?i:dob|d\.o\.b\.?|date\s+of\s+birth|born(?:\s+on)?)\s*[:=]?\s*"
                         r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b\d{1,2}[/.-]\d{1,2}[/.-]19\d{2}\b")


def redact(text: str) -> str:
    """Replace PII with typed placeholders: [email], [card], [phone], [address], [name], [dob]."""
    text = _BIRTH_DATE.sub("[dob]", text)
    text = _NAME_SAID.sub(lambda m: m.group(0)[:m.start("name") - m.start()] + "[name]", text)
    text = _NAME_INTRO.sub(lambda m: m.group(0)[:m.start("name") - m.start()] + "[name]", text)
    text = _EMAIL.sub("[email]", text)
    text = _EMAIL_SPELLED.sub("[email]", text)

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "[card]" if 13 <= len(digits) <= 19 and luhn_ok(digits) else match.group()

    text = _CARD.sub(card, text)
    text = _CARD_EXTRA.sub("[card]", text)
    text = _STREET.sub("[address]", text)
    text = _ADDRESS_OTHER.sub("[address]", text)
    text = _POSTCODE_UK.sub("[address]", text)
    text = _ZIP_US.sub("[address]", text)
    return _PHONE.sub("[phone]", text)


_PLACEHOLDER = re.compile(r"\s*\[(?:email|card|phone|address|name|dob)\]")


def without_pii(text: str) -> str:
    """The text with its PII left out altogether (not even a placeholder): what to match
    items against or to quote back to the shopper."""
    return re.sub(r"\s+", " ", _PLACEHOLDER.sub("", redact(text))).strip(" ,;")


# ------------------------------------------------------------------------------------------
# Injection: the text is looked at in several forms, each pattern family on the forms it suits
# ------------------------------------------------------------------------------------------
_LEET_I = str.maketrans({**LEET, "1": "i", "!": "i"})
_LEET_L = str.maketrans({**LEET, "1": "l", "!": "l"})
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def _fold(text: str) -> str:
    """NFKC, accents and invisible characters removed, lower case, spaces collapsed."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Mn", "Me", "Cf", "Cc"))
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'").replace("‘", "'")
    return re.sub(r"[ \t]+", " ", text)


def _decoded_base64(text: str) -> list[str]:
    out = []
    for token in _BASE64.findall(text):
        try:
            raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if decoded.isprintable() and sum(ch.isalpha() or ch == " " for ch in decoded) >= 0.8 * len(decoded):
            out.append(decoded)
    return out


def _forms(text: str) -> tuple[list[str], list[str], list[str]]:
    """(word forms, letters-only forms, forms for other languages)."""
    folded = _fold(text)
    sources = [folded, *(_fold(d) for d in _decoded_base64(text))]
    words: list[str] = []
    for source in sources:
        latin = source.translate(LOOKALIKES)
        words += [latin, latin.translate(_LEET_I), latin.translate(_LEET_L)]
    # i, l and 1 are told apart nowhere in the letters-only forms ("1gn0r3 y0ur ru135").
    squashed = [re.sub(r"[^a-z]", "", w).replace("l", "i") for w in words]
    squashed += [s[::-1] for s in squashed]  # written backwards
    # Accents go for the Latin-script phrasings; other scripts need their marks (Devanagari
    # vowel signs, Japanese voicing marks).
    native = unicodedata.normalize("NFKC", text).casefold()
    return list(dict.fromkeys(words)), list(dict.fromkeys(squashed)), [folded, native]


def _compile(table: dict[str, tuple[str, ...]]) -> list[tuple[str, re.Pattern[str]]]:
    return [(kind, re.compile(p, re.IGNORECASE)) for kind, patterns in table.items() for p in patterns]


_WORD = _compile(WORD_PATTERNS)
_SQUASHED = _compile({kind: tuple(p.replace("l", "i") for p in patterns)
                     for kind, patterns in SQUASHED_PATTERNS.items()})
_FOREIGN = _compile(OTHER_LANGUAGES)


def injection_kind(text: str) -> str | None:
    """The family of the first injection pattern the text matches, else None.

    Families: override, extraction, roleplay, price, competitor, template.
    """
    # An email address is PII to redact, not a link to another shop.
    words, squashed, foreign = _forms(_EMAIL_SPELLED.sub(" ", _EMAIL.sub(" ", text)))
    for kind, pattern in _WORD:
        if any(pattern.search(w) for w in words):
            return kind
    for kind, pattern in _SQUASHED:
        if any(pattern.search(s) for s in squashed):
            return kind
    for kind, pattern in _FOREIGN:
        if any(pattern.search(f) for f in foreign):
            return kind
    return None


def looks_like_injection(text: str) -> bool:
    return injection_kind(text) is not None


# ------------------------------------------------------------------------------------------
# Off-topic requests: clearly not shopping, whatever the model would make of them
# ------------------------------------------------------------------------------------------
_OFF_TOPIC = _compile(OFF_TOPIC_PATTERNS)


def off_topic_kind(text: str) -> str | None:
    """The topic of a request that is clearly not shopping (weather, politics, homework,
    code, medical, finance, trivia, questions about the assistant, other services), else None."""
    folded = _fold(text).translate(LOOKALIKES)
    return next((kind for kind, pattern in _OFF_TOPIC if pattern.search(folded)), None)


# ------------------------------------------------------------------------------------------
# Grounding and prompt leaks in replies
# ------------------------------------------------------------------------------------------
_PRICE = re.compile(r"(?:£|\$|€|GBP\s?)\s?\d+(?:,\d{3})*(?:\.\d+)?|\b\d+(?:\.\d{2})\s?(?:pounds|gbp|quid)\b",
                    re.IGNORECASE)


def prices_in(text: str) -> list[str]:
    return [m.group().strip() for m in _PRICE.finditer(text)]


def _price_key(price: str) -> str:
    return re.sub(r"[\s,]", "", price).lower()


def ungrounded_mentions(reply: str, bundle: Bundle | None, catalog_titles: Iterable[str],
                        rendered_prices: Iterable[str] = (), *, allowed_titles: Iterable[str] = ()) -> list[str]:
    """Catalog titles named in `reply` that are neither bundle items nor `allowed_titles`
    (e.g. the alternatives or cart lines code wrote), and prices not in `rendered_prices`."""
    allowed = {bi.item.title.lower() for bi in (bundle.items if bundle else ())}
    allowed |= {t.lower() for t in allowed_titles}
    lowered = reply.lower()
    problems = [t for t in catalog_titles if len(t) > 6 and t.lower() not in allowed
                and t.lower() in lowered and not any(t.lower() in a for a in allowed)]
    allowed_prices = {_price_key(p) for p in rendered_prices}
    rest = lowered
    for title in sorted(allowed, key=len, reverse=True):  # "Gift Voucher £100.00" is a name, not a price
        rest = rest.replace(title, " ")
    problems += [p for p in prices_in(rest) if _price_key(p) not in allowed_prices]
    return problems


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _fold(text))


def prompt_leaks(reply: str, sources: Iterable[str], min_words: int = 6) -> list[str]:
    """Runs of `min_words` consecutive words of any source (a prompt, a system message) that
    also occur in `reply`, compared case-, accent- and punctuation-insensitively."""
    said = " " + " ".join(_words(reply)) + " "
    leaks: list[str] = []
    for source in sources:
        words = _words(source)
        for start in range(len(words) - min_words + 1):
            run = " ".join(words[start:start + min_words])
            if f" {run} " in said and run not in leaks:
                leaks.append(run)
    return leaks
