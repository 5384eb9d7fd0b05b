"""Guided decoding for the parser: the reply can only spell a valid `Request` as JSON.

`RequestJsonGuide` is a `decoding.TokenGuide` over the parser's reply, which starts with the
prefill '{"intent": "'. It accepts a token only while the text is still the beginning of
one flat JSON object of the request's schema:

* intent is one of INTENTS (the model picks which; the guide only spells);
* other keys are the request's own (need, target: strings; items, exclude: lists of
  strings; budget: a number; size, party_size: whole numbers), each at most once;
* strings stay on one line and short, lists short;
* nothing follows the closing brace, and the reply may not end before it.

So a reply is valid JSON of the right shape by construction; `Request.from_dict` still
validates what the values mean.
"""

from __future__ import annotations

from collections.abc import Sequence

from .records import INTENTS

STRING_KEYS = ("need", "target")
LIST_KEYS = ("items", "exclude")
NUMBER_KEYS = ("budget",)
WHOLE_KEYS = ("size", "party_size")
KEYS = ("intent", *STRING_KEYS, *LIST_KEYS, *NUMBER_KEYS, *WHOLE_KEYS)
MAX_STRING = 120
MAX_LIST = 8
MAX_DIGITS = 7


class _Partial(Exception):
    """The text ended inside a valid prefix: everything read so far is fine."""


class _Invalid(Exception):
    """The text can no longer become a valid request."""


class _Reader:
    def __init__(self, text: str, intents: Sequence[str]) -> None:
        self.text = text
        self.pos = 0
        self.intents = intents

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

    def string(self, choices: Sequence[str] | None = None) -> str:
        """A JSON string; with choices, it must spell one of them."""
        self.take('"')
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                so_far = "".join(out)
                if choices is not None and not any(c.startswith(so_far) for c in choices):
                    raise _Invalid
                raise _Partial
            ch = self.text[self.pos]
            self.pos += 1
            if ch == '"':
                value = "".join(out)
                if choices is not None and value not in choices:
                    raise _Invalid
                return value
            if ch in "\n\r" or ord(ch) < 32:
                raise _Invalid
            if ch == "\\":
                escaped = self.peek()
                if escaped not in '"\\/bfnrtu':
                    raise _Invalid
                self.pos += 1
            out.append(ch)
            if len(out) > MAX_STRING:
                raise _Invalid
            if choices is not None and not any(c.startswith("".join(out)) for c in choices):
                raise _Invalid

    def number(self, whole: bool) -> None:
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
        if self.pos >= len(self.text):
            if digits > MAX_DIGITS:
                raise _Invalid
            raise _Partial
        if self.pos == start or self.text[self.pos - 1] == "." or digits > MAX_DIGITS:
            raise _Invalid

    def string_list(self) -> None:
        self.take("[")
        self.spaces()
        if self.peek() == "]":
            self.pos += 1
            return
        for _ in range(MAX_LIST):
            self.string()
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
                self.string()
            elif key in LIST_KEYS:
                self.string_list()
            else:
                self.number(whole=key in WHOLE_KEYS)
            first = False


def _state(text: str, intents: Sequence[str]) -> str:
    """"open" (a valid prefix), "closed" (a whole request, nothing after) or "invalid"."""
    reader = _Reader(text, intents)
    try:
        reader.request()
    except _Partial:
        return "open"
    except _Invalid:
        return "invalid"
    return "closed" if not text[reader.pos:].strip() else "invalid"


class RequestJsonGuide:
    """The token guide for a parse reply (text = the prefill and what followed it)."""

    def __init__(self, intents: Sequence[str] = INTENTS) -> None:
        self.intents = tuple(intents)

    def allows(self, text: str, piece: str) -> bool:
        return _state(text + piece, self.intents) != "invalid"

    def allows_end(self, text: str) -> bool:
        return _state(text, self.intents) == "closed"
