"""Guided decoding for the parser: the reply can only spell a valid `Request` as JSON.

`RequestJsonGuide` is a `decoding.TokenGuide` over the parser's reply, which starts with the
prefill '{"intent": "'. It accepts a token only while the text is still the beginning of
one flat JSON object of the request's schema:

* intent is one of INTENTS (the model picks which; the guide only spells);
* other keys are the request's own (need, target: strings; items, exclude: lists of
  strings; budget: a number; size, party_size: whole numbers), each at most once, numbers
  within the ranges `Request` accepts (a "size" of 200 cannot be spelt);
* strings stay on one line and short, lists short;
* with the shopper's message as `source`, every text value (need, target, items, exclude)
  is copied from it: a run of the message's own characters (case aside), or a position
  number for target. A 135M model asked for "something antique" otherwise writes needs
  such as "antepetitoin" or "a match" that the shopper never said, and the bundle then
  answers a want nobody had;
* nothing follows the closing brace, and the reply may not end before it.

So a reply is valid JSON of the right shape by construction; `Request.from_dict` still
validates what the values mean.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.records import (
    INTENTS,
    MAX_BUDGET,
    MAX_BUNDLE_SIZE,
    MAX_MENTION_CHARS,
    MAX_PARTY_SIZE,
)

STRING_KEYS = ("need", "target")
LIST_KEYS = ("items", "exclude")
NUMBER_KEYS = ("budget",)
WHOLE_KEYS = ("size", "party_size")
KEYS = ("intent", *STRING_KEYS, *LIST_KEYS, *NUMBER_KEYS, *WHOLE_KEYS)
MAX_STRING = MAX_MENTION_CHARS
# (low, high) per number key, as Request validates them: a budget above low, counts from it
NUMBER_RANGES = {"budget": (0.0, MAX_BUDGET), "size": (1.0, float(MAX_BUNDLE_SIZE)),
                 "party_size": (1.0, float(MAX_PARTY_SIZE))}
MAX_LIST = 8
MAX_DIGITS = 7
MAX_POSITION_DIGITS = 2  # a copied target may also be "4" for "the fourth one"


class _Partial(Exception):
    """The text ended inside a valid prefix: everything read so far is fine."""


class _Invalid(Exception):
    """The text can no longer become a valid request."""


class _Reader:
    def __init__(self, text: str, intents: Sequence[str], folded_source: str | None = None) -> None:
        self.text = text
        self.pos = 0
        self.intents = intents
        self.source = folded_source  # casefolded once by the guide, not on every candidate token

    def peek(self) -> str:
        if self.pos >= len(self.text):
            raise _Partial
        return self.text[self.pos]

    def take(self, expected: str) -> None:
        for ch in expected:
            if self.peek() != ch:
                raise _Invalid
            self.pos += 1

    def spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def string(self, choices: Sequence[str] | None = None, *, copied: bool = False,
               position: bool = False) -> str:
        """A JSON string; with choices, it must spell one of them; copied, it must be a run
        of the source's characters (or, with position, a short whole number)."""
        self.take('"')
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                self._check_value("".join(out), choices, copied, position, partial=True)
                raise _Partial
            ch = self.text[self.pos]
            self.pos += 1
            if ch == '"':
                value = "".join(out)
                self._check_value(value, choices, copied, position, partial=False)
                return value
            if ch in "\n\r" or ord(ch) < 32:
                raise _Invalid
            if ch == "\\":
                ch = self._escaped()
            out.append(ch)
            if len(out) > MAX_STRING:
                raise _Invalid
            if choices is not None:  # a copy is checked where the string or the text ends
                self._check_value("".join(out), choices, False, False, partial=True)

    def _escaped(self) -> str:
        """The character a JSON escape stands for (the backslash already read)."""
        escaped = self.peek()
        self.pos += 1
        simple = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
        if escaped in simple:
            return simple[escaped]
        if escaped != "u":
            raise _Invalid
        digits = self.text[self.pos:self.pos + 4]
        if any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise _Invalid
        if len(digits) < 4:
            raise _Partial
        self.pos += 4
        return chr(int(digits, 16))

    def _check_value(self, value: str, choices: Sequence[str] | None, copied: bool, position: bool,
                     *, partial: bool) -> None:
        if choices is not None:
            ok = any(c.startswith(value) for c in choices) if partial else value in choices
            if not ok:
                raise _Invalid
        if copied and self.source is not None:
            if position and value.isdigit() and value.isascii() and len(value) <= MAX_POSITION_DIGITS:
                return
            if value.casefold() not in self.source:
                raise _Invalid

    def number(self, whole: bool, low: float, high: float) -> None:
        """A JSON number within (low, high] for a budget, [low, high] for a count: the
        values `Request` accepts, so a well-formed reply never fails validation."""
        start = self.pos
        digits = dot = 0
        while self.pos < len(self.text) and (self.text[self.pos].isdigit() or self.text[self.pos] == "."):
            ch = self.text[self.pos]
            if not ch.isascii():
                raise _Invalid
            if ch == ".":
                if whole or dot or not digits:
                    raise _Invalid
                dot += 1
            else:
                digits += 1
            self.pos += 1
        spelt = self.text[start:self.pos]
        if digits > MAX_DIGITS or (len(spelt) > 1 and spelt[0] == "0" and spelt[1] != "."):
            raise _Invalid  # JSON has no leading zeros
        if whole and spelt.startswith("0") and low >= 1:
            raise _Invalid  # a count of 0 (and nothing it could grow into) is refused
        if spelt and float(spelt.rstrip(".")) > high:  # more digits only make it larger
            raise _Invalid
        if self.pos >= len(self.text):
            raise _Partial
        if not spelt or spelt.endswith("."):
            raise _Invalid
        value = float(spelt)
        if value < low or (not whole and value <= low):
            raise _Invalid

    def string_list(self) -> None:
        self.take("[")
        self.spaces()
        if self.peek() == "]":
            self.pos += 1
            return
        for _ in range(MAX_LIST):
            self.string(copied=True)
            self.spaces()
            if self.peek() == "]":
                self.pos += 1
                return
            self.take(",")
            self.spaces()
        raise _Invalid

    def request(self) -> None:
        self.take("{")
        self.spaces()
        seen: set[str] = set()
        first = True
        while True:
            if not first:
                self.spaces()
                if self.peek() == "}":
                    self.pos += 1
                    return
                self.take(",")
                self.spaces()
            left = [k for k in KEYS if k not in seen] if not first else ["intent"]
            key = self.string(left)
            seen.add(key)
            self.spaces()
            self.take(":")
            self.spaces()
            if key == "intent":
                self.string(self.intents)
            elif key in STRING_KEYS:
                self.string(copied=True, position=key == "target")
            elif key in LIST_KEYS:
                self.string_list()
            else:
                self.number(key in WHOLE_KEYS, *NUMBER_RANGES[key])
            first = False


def _state(text: str, intents: Sequence[str], folded_source: str | None = None) -> str:
    """"open" (a valid prefix), "closed" (a whole request, nothing after) or "invalid"."""
    reader = _Reader(text, intents, folded_source)
    try:
        reader.request()
    except _Partial:
        return "open"
    except _Invalid:
        return "invalid"
    return "closed" if not text[reader.pos:].strip() else "invalid"


class RequestJsonGuide:
    """The token guide for a parse reply (text = the prefill and what followed it); with
    `source` (the shopper's message), text values must be copied from it."""

    def __init__(self, intents: Sequence[str] = INTENTS, source: str | None = None) -> None:
        self.intents = tuple(intents)
        self.source = source
        self._folded = source.casefold() if source is not None else None

    def allows(self, text: str, piece: str) -> bool:
        return _state(text + piece, self.intents, self._folded) != "invalid"

    def allows_end(self, text: str) -> bool:
        return _state(text, self.intents, self._folded) == "closed"
