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

With an intent reader (`intent_reader.IntentReader`, shipped and on by default in the
assistant), the guide allows only the intents of the reader's shortlist for the message, and
the result carries the reader's intent when it is sure (`ParseResult.sure_intent`). A reply
the guide cut short keeps its complete fields (`salvage_request`) when both attempts fail.

`bundle_summary(bundle)` renders the current bundle the way the prompt (and the training
data) shows it: "[1] Teapot Blue; [2] Tea Towel Red" or "(none)".

The model may also be a `remote.RemoteChatModel` (an OpenAI-compatible server): the same
prompt is sent with `request_json_schema()` as the server's structured-output schema (its
grammar plays the guide's part for the JSON's shape), and the finished reply is then read
by the same guide (`remote_guide_error`: every text value copied from the message), so a
remote request passes exactly the checks a local one does. A server that cannot be
reached fails the parse (`ParseResult.error` names the URL), as an unusable reply does.

With `words_first` (`words_first.WordsFirstConfig.intent_from_words`), a turn whose
shortlist is one intent the words read as well as the model, or, while the model is busy,
a shortlist of intents they read well enough, is not decoded at all: the result is the bare
intent (`ParseResult.by_words`), and the served request's slots all come from the words.
The model counts as busy from `busy()` (the scheduler's rows) or from the parses already
sent to it, which count before they join the scheduler's queue.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from assistant.llm.remote import RemoteChatModel, RemoteModelError
from assistant.records import INTENTS, Bundle, Request, RequestError
from assistant.understand.intent_reader import (
    SHORTLIST_MASS,
    IntentReader,
    shortlist_of,
    sure_intent,
)
from assistant.understand.request_guide import (
    LIST_KEYS,
    MAX_LIST,
    MAX_STRING,
    NUMBER_RANGES,
    WHOLE_KEYS,
    RequestJsonGuide,
)
from assistant.understand.shopper_cues import phrased_as_question
from assistant.understand.words_first import WordsFirstConfig
from prompts import render

__all__ = ["PREFILL", "ParseResult", "RequestParser", "bundle_summary", "parse_messages",
           "read_request", "remote_guide_error", "request_json_schema", "salvage_request"]

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
    prompt_tokens: int = 0  # fed to the model over every attempt
    sure_intent: str | None = None  # the intent reader's, when it is sure (`intent_reader.sure_intent`)
    by_words: bool = False  # not decoded: the shortlist's one intent, its slots left to the words


def bundle_summary(bundle: Bundle | None) -> str:
    if bundle is None or not bundle.items:
        return "(none)"
    return "; ".join(f"[{n}] {bi.item.title}" for n, bi in enumerate(bundle.items, 1))


def parse_messages(message: str, summary: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": render("parse", bundle=summary or "(none)", message=message)}]


def salvage_request(text: str) -> Request | None:
    """The fields of a reply cut short before its end (the guide found no allowed token the
    model ranks, or the token limit): the longest prefix that closes into a valid request,
    e.g. '{"intent": "bundle", "need": "b' -> Request("bundle"). None without an intent."""
    start = text.find("{")
    if start < 0:
        return None
    body = text[start:]
    for cut in [len(body), *sorted((i for i, ch in enumerate(body) if ch == ","), reverse=True)]:
        try:
            return Request.from_dict(json.loads(body[:cut] + "}"))
        except (ValueError, RequestError):
            continue
    return None


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


def request_json_schema(intents: Sequence[str] = INTENTS) -> dict[str, Any]:
    """The JSON schema of a parse reply, for a remote server's structured output: the
    request guide's keys and limits, properties in `Request.to_dict`'s order (the order
    the tuned adapter was trained on; a server's grammar keeps it), intent required and
    one of `intents`."""
    text = {"type": "string", "minLength": 1, "maxLength": MAX_STRING}
    properties: dict[str, Any] = {}
    for field in dataclasses.fields(Request):
        name = field.name
        if name == "intent":
            properties[name] = {"type": "string", "enum": list(intents)}
        elif name in LIST_KEYS:
            properties[name] = {"type": "array", "items": dict(text), "maxItems": MAX_LIST}
        elif name in NUMBER_RANGES:
            low, high = NUMBER_RANGES[name]
            if name in WHOLE_KEYS:
                properties[name] = {"type": "integer", "minimum": int(low), "maximum": int(high)}
            else:
                properties[name] = {"type": "number", "exclusiveMinimum": low, "maximum": high}
        else:
            properties[name] = dict(text)
    return {"type": "object", "properties": properties, "required": ["intent"],
            "additionalProperties": False}


def remote_guide_error(text: str, message: str, intents: Sequence[str] = INTENTS) -> str | None:
    """Why a remote parse reply would not have passed the request guide (None when it
    would): the guide's reader runs on the reply's object, re-spelt compactly (a server
    lays JSON out its own way). Local replies pass it by construction."""
    start, end = text.find("{"), text.find("}")
    try:
        data = json.loads(text[start:end + 1]) if 0 <= start < end else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or "intent" not in data:
        return "no JSON object with an intent"
    ordered = {"intent": data["intent"], **{k: v for k, v in data.items() if k != "intent"}}
    compact = json.dumps(ordered, ensure_ascii=False, separators=(", ", ": "))
    if not RequestJsonGuide(intents, source=message).allows_end(compact):
        return "the remote reply breaks the request guide (a value not copied from the message, or out of range)"
    return None


class RequestParser:
    """Structured requests from free text with a loaded model (and its adapter, if any), or
    with a `RemoteChatModel`. With an `intent_reader`, the reply's intent is one of the
    reader's shortlist for the message (`IntentReader.shortlist`, holding `shortlist_mass`
    of its probability)."""

    def __init__(self, loaded: Any, *, max_new_tokens: int = MAX_NEW_TOKENS,
                 retry_temperature: float = 0.3, guided: bool = True,
                 intent_reader: IntentReader | None = None, shortlist_mass: float = SHORTLIST_MASS,
                 words_first: WordsFirstConfig | None = None, busy: Callable[[], bool] | None = None) -> None:
        self.loaded = loaded
        self.words_first = words_first
        self.busy = busy
        self.max_new_tokens = max_new_tokens
        self.retry_temperature = retry_temperature
        self.guided = guided
        self.intent_reader = intent_reader
        self.shortlist_mass = shortlist_mass
        # parses sent to the model and not yet answered. A turn counts from the moment it
        # is sent, before its prompt is fed and it joins the scheduler's queue: 32 shoppers
        # arriving at once all saw an idle scheduler and all went to the model.
        self._sent = 0
        self._sent_lock = threading.Lock()

    def intents_for(self, message: str, bundle_summary: str) -> tuple[tuple[str, ...], str | None]:
        """The intents the reply may name (the reader's shortlist, or every intent) and the
        reader's intent when it is sure."""
        if self.intent_reader is None or not self.guided:
            return INTENTS, None
        probabilities = self.intent_reader.probabilities(message, bundle_summary not in ("", "(none)"))
        return shortlist_of(probabilities, self.shortlist_mass), sure_intent(probabilities)

    def _generate(self, messages: list[dict[str, str]], temperature: float, source: str,
                  intents: Sequence[str] = INTENTS) -> tuple[str, int, int]:
        from assistant.llm.generation import generate

        if isinstance(self.loaded, RemoteChatModel):
            # PREFILL's tokens are part of the remote reply, so they count against its limit
            reply = self.loaded.parse(messages, schema=request_json_schema(intents), temperature=temperature,
                                      max_tokens=self.max_new_tokens + 8)
            return reply.text, reply.tokens, reply.prompt_tokens
        guide = RequestJsonGuide(intents, source=source) if self.guided else None
        gen = generate(self.loaded, messages, max_new_tokens=self.max_new_tokens, stop=["}"],
                       guide=guide, temperature=temperature, prefill=PREFILL)
        text = gen.text
        if gen.finish_reason == "stop":
            text += "}"
        return text, gen.n_new_tokens, gen.n_prompt_tokens

    def parse(self, message: str, bundle_summary: str = "(none)") -> ParseResult:
        started = time.perf_counter()
        intents, sure = self.intents_for(message, bundle_summary)
        with self._sent_lock:
            worded = self.words_first.intent_from_words(intents, self._busy, phrased_as_question(message)) \
                if self.words_first else None
            self._sent += worded is None
        if worded is not None:
            return ParseResult(Request(intent=worded), "", True, None, 0, 0, time.perf_counter() - started, 0, sure,
                               by_words=True)
        try:
            return self._decode(message, bundle_summary, intents, sure, started)
        finally:
            with self._sent_lock:
                self._sent -= 1

    def _busy(self) -> bool:
        """The model is busy (`busy()`), or as many parses as make it busy were sent to it
        and are not answered yet. No `busy`: never (an unbatched model serves one turn at a
        time, and a turn holds it alone)."""
        if self.busy is None or self.words_first is None:
            return False
        rows = self.words_first.busy_rows
        return (0 < rows <= self._sent) or self.busy()

    def _decode(self, message: str, bundle_summary: str, intents: Sequence[str], sure: str | None,
                started: float) -> ParseResult:
        messages = parse_messages(message, bundle_summary)
        tokens = prompt_tokens = 0
        raw, valid, error = "", False, None
        replies: list[str] = []
        for attempt, temperature in enumerate((0.0, self.retry_temperature), 1):
            try:
                raw, n, fed = self._generate(messages, temperature, message, intents)
            except RemoteModelError as exc:  # the server is down or slow: asking again won't help
                return ParseResult(None, raw, False, str(exc), attempt, tokens, time.perf_counter() - started,
                                   prompt_tokens, sure)
            tokens, prompt_tokens = tokens + n, prompt_tokens + fed
            replies.append(raw)
            request, _is_json, error = read_request(raw)
            if request is not None and self.guided and isinstance(self.loaded, RemoteChatModel):
                error = remote_guide_error(raw, message, intents)
                request = None if error else request
            if request is not None:
                return ParseResult(request, raw, True, None, attempt, tokens, time.perf_counter() - started,
                                   prompt_tokens, sure)
            valid = False
        if self.guided and not isinstance(self.loaded, RemoteChatModel):
            # a guided reply cut short has only fields copied from the message: keep them,
            # the fullest of both attempts (the words fill the rest, `served_request`)
            salvaged = [r for r in (salvage_request(text) for text in replies) if r is not None]
            if salvaged:
                best = max(salvaged, key=lambda r: len(r.to_dict()))
                return ParseResult(best, raw, False, f"cut short, kept its complete fields ({error})", 2, tokens,
                                   time.perf_counter() - started, prompt_tokens, sure)
        return ParseResult(None, raw, valid, error, 2, tokens, time.perf_counter() - started, prompt_tokens, sure)
