"""The shopper's message -> a structured `Request`, by the language model.

`RequestParser(loaded).parse(message, bundle_summary)` renders the `parse` prompt, decodes
with the reply prefilled with '{"intent": "' (the fine-tuned adapter's targets all begin so,
and it steers the base model into JSON), stops at the first "}" (a `Request` has no nested
object), and validates with `Request.from_dict`, which names a wrong field. An invalid
reply is retried once with a small sampling temperature.

Decoding is guided (`request_guide.RequestJsonGuide`): a token is taken only while the
reply is still the beginning of one flat JSON object of the request's schema (an intent of
INTENTS, known keys once each, strings, string lists and numbers where they belong), so
every reply is valid JSON of the right shape, and every text value in it (need, target,
items, exclude) is copied from the shopper's message.

`bundle_summary(bundle)` renders the current bundle the way the prompt (and the training
data) shows it: "[1] Teapot Blue; [2] Tea Towel Red" or "(none)".
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from assistant.records import Bundle, Request, RequestError
from prompts import render

__all__ = ["PREFILL", "ParseResult", "RequestParser", "bundle_summary", "parse_messages",
           "read_request"]

PREFILL = '{"intent": "'
MAX_NEW_TOKENS = 48


@dataclasses.dataclass(frozen=True)
class ParseResult:
    request: Request | None
    raw_text: str
    valid_json: bool
    error: str | None = None
    attempts: int = 1
    tokens: int = 0
    seconds: float = 0.0


def bundle_summary(bundle: Bundle | None) -> str:
    if bundle is None or not bundle.items:
        return "(none)"
    return "; ".join(f"[{n}] {bi.item.title}" for n, bi in enumerate(bundle.items, 1))


def parse_messages(message: str, summary: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": render("parse", bundle=summary or "(none)", message=message)}]


def read_request(text: str) -> tuple[Request | None, bool, str | None]:
    """(request, the text held a JSON object, error) for one reply."""
    start = text.find("{")
    if start < 0:
        return None, False, "no JSON object"
    end = text.find("}", start)
    candidate = text[start:end + 1] if end >= 0 else text[start:] + "}"
    try:
        data = json.loads(candidate)
    except ValueError as exc:
        return None, False, f"invalid JSON: {exc}"
    try:
        return Request.from_dict(data), True, None
    except RequestError as exc:
        return None, True, str(exc)


class RequestParser:
    """Structured requests from free text with a loaded model (and its adapter, if any)."""

    def __init__(self, loaded: Any, *, max_new_tokens: int = MAX_NEW_TOKENS,
                 retry_temperature: float = 0.3, guided: bool = True) -> None:
        self.loaded = loaded
        self.max_new_tokens = max_new_tokens
        self.retry_temperature = retry_temperature
        self.guided = guided

    def _generate(self, messages: list[dict[str, str]], temperature: float, source: str) -> tuple[str, int]:
        from assistant.llm.generation import generate
        from assistant.understand.request_guide import RequestJsonGuide

        guide = RequestJsonGuide(source=source) if self.guided else None
        gen = generate(self.loaded, messages, max_new_tokens=self.max_new_tokens, stop=["}"],
                       guide=guide, temperature=temperature, prefill=PREFILL)
        text = gen.text
        if gen.finish_reason == "stop":
            text += "}"
        return text, gen.n_new_tokens

    def parse(self, message: str, bundle_summary: str = "(none)") -> ParseResult:
        started = time.perf_counter()
        messages = parse_messages(message, bundle_summary)
        tokens = 0
        raw, valid, error = "", False, None
        for attempt, temperature in enumerate((0.0, self.retry_temperature), 1):
            raw, n = self._generate(messages, temperature, message)
            tokens += n
            request, _is_json, error = read_request(raw)
            if request is not None:
                return ParseResult(request, raw, True, None, attempt, tokens, time.perf_counter() - started)
            valid = False
        return ParseResult(None, raw, valid, error, 2, tokens, time.perf_counter() - started)
