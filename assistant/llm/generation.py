"""The language model's public face: load it, chat with it, stream it, constrain it.

    >>> from assistant.llm.generation import LLMConfig, load_model, generate
    >>> loaded = load_model(LLMConfig())                      # packaged SmolLM2, NF4
    >>> generate(loaded, [{"role": "user", "content": "Hi"}], max_new_tokens=16).text

`generate` and `stream` share one greedy-by-default decoding loop with the KV cache on
(temperature > 0 samples), prompts built with the tokenizer's chat template.
`generate_json` stops decoding at the end of the first JSON object in the reply and, when
there is none, retries once with the reply prefilled with "{".

Re-exported here: loading, the GGUF cache and adapter checks (`assistant.llm.loading`),
prompts (`assistant.llm.chat_prompt`) and `generate_choice`, which scores a fixed list of
answers by log-likelihood in one batched forward pass (`assistant.llm.choice`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from assistant.llm.batching import scheduler_for
from assistant.llm.chat_prompt import Message, build_prompt
from assistant.llm.choice import Choice, generate_choice
from assistant.llm.decoding import (
    TokenGuide,
    _decode_tokens,
    _encode,
    _stop_token_ids,
)
from assistant.llm.loading import (
    ADAPTER_MANIFEST,
    DEFAULT_MODEL,
    MODEL_MANIFEST,
    LLMConfig,
    LoadedModel,
    ensure_hf_folder,
    load_model,
    model_id_for,
    read_adapter_manifest,
)
from retrieval.errors import CartsmithError

__all__ = [
    "ADAPTER_MANIFEST",
    "DEFAULT_MODEL",
    "MODEL_MANIFEST",
    "Choice",
    "Generation",
    "JsonGeneration",
    "LLMConfig",
    "LLMOutputError",
    "LoadedModel",
    "Message",
    "build_prompt",
    "ensure_hf_folder",
    "extract_json_object",
    "generate",
    "generate_choice",
    "generate_json",
    "load_model",
    "model_id_for",
    "read_adapter_manifest",
    "stream",
]

PrefixAllowedTokensFn = Callable[[int, Any], list[int]]


class LLMOutputError(CartsmithError):
    """The model's reply could not be used (no JSON object, say)."""


@dataclasses.dataclass(frozen=True)
class Generation:
    """A finished reply. finish_reason: "eos", "stop" (a stop string) or "length"."""

    text: str
    n_prompt_tokens: int
    n_new_tokens: int
    seconds: float
    finish_reason: str = "eos"

    @property
    def tokens_per_second(self) -> float:
        return self.n_new_tokens / self.seconds if self.seconds > 0 else 0.0


@dataclasses.dataclass(frozen=True)
class JsonGeneration:
    """generate_json's result: the parsed object, the reply it came from, how many tries."""

    data: dict[str, Any]
    text: str
    attempts: int
    generations: tuple[Generation, ...]

    @property
    def seconds(self) -> float:
        return sum(g.seconds for g in self.generations)


# --------------------------------------------------------------------------- decoding


def _pending_stop_prefix(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters of text could still start a stop string."""
    keep = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:n]):
                keep = max(keep, n)
                break
    return keep


class _Decoder:
    """Shared state of one decoding run: tokens -> text with stop strings applied.

    prefill: text the assistant's reply is forced to start with (part of `text`).
    until: called with the reply so far after each token; True ends the reply ("stop").
    guide: a `TokenGuide` every new token must satisfy (the reply text it sees starts with
    the prefill).
    """

    def __init__(self, loaded: LoadedModel, messages: Sequence[Message], max_new_tokens: int | None,
                 stop: Sequence[str] | None, prefix_allowed_tokens_fn: PrefixAllowedTokensFn | None,
                 temperature: float | None, prefill: str = "",
                 until: Callable[[str], bool] | None = None, guide: TokenGuide | None = None) -> None:
        config = loaded.config
        self.loaded = loaded
        self.max_new_tokens = max_new_tokens if max_new_tokens is not None else config.max_new_tokens
        if self.max_new_tokens < 1:
            raise CartsmithError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        self.temperature = config.temperature if temperature is None else temperature
        self.stops = [s for s in (stop or []) if s]
        self.prefix_fn = prefix_allowed_tokens_fn
        self.prefill = prefill
        self.until = until
        self.guide = guide
        self.prompt_ids = _encode(loaded.tokenizer, build_prompt(loaded.tokenizer, messages) + prefill)
        self.new_ids: list[int] = []
        self.text = prefill
        self.finish_reason = "length"
        self.started = time.perf_counter()

    def pieces(self) -> Iterator[str]:
        """Yield text as it becomes final (held back while it may start a stop string)."""
        tokenizer = self.loaded.tokenizer
        stop_ids = _stop_token_ids(self.loaded)
        emitted = 0
        if self.prefill:
            yield self.prefill
            emitted = len(self.prefill)
        tokens = self._tokens()
        try:
            for token in tokens:
                self.new_ids.append(token)
                if token in stop_ids:
                    self.finish_reason = "eos"
                    break
                text = self.prefill + tokenizer.decode(self.new_ids, skip_special_tokens=True)
                cut = min((i for i in (text.find(s, len(self.prefill)) for s in self.stops) if i >= 0),
                          default=-1)
                if cut >= 0:
                    self.text = text[:cut]
                    self.finish_reason = "stop"
                    break
                self.text = text
                if text.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for the rest
                    continue
                if self.until is not None and self.until(text):
                    self.finish_reason = "stop"
                    break
                ready = len(text) - _pending_stop_prefix(text, self.stops)
                if ready > emitted:
                    yield text[emitted:ready]
                    emitted = ready
        finally:
            tokens.close()  # a row of the shared batch leaves it at once
        if len(self.text) > emitted:
            yield self.text[emitted:]

    def _tokens(self) -> Generator[int, None, None]:
        """From the model's shared batch when batching is on (`assistant.llm.batching`),
        else decoded here, in the caller's thread."""
        scheduler = scheduler_for(self.loaded)
        if scheduler is not None and self.prefix_fn is None:
            return scheduler.tokens(self.prompt_ids, self.max_new_tokens, self.temperature, self.guide,
                                    self.prefill)
        return _decode_tokens(self.loaded, self.prompt_ids, self.max_new_tokens, self.temperature,
                              self.prefix_fn, self.guide, self.prefill)

    def result(self) -> Generation:
        return Generation(
            text=self.text,
            n_prompt_tokens=len(self.prompt_ids),
            n_new_tokens=len(self.new_ids),
            seconds=time.perf_counter() - self.started,
            finish_reason=self.finish_reason,
        )


def generate(
    loaded: LoadedModel,
    messages: Sequence[Message],
    max_new_tokens: int | None = None,
    stop: Sequence[str] | None = None,
    prefix_allowed_tokens_fn: PrefixAllowedTokensFn | None = None,
    *,
    temperature: float | None = None,
    prefill: str = "",
    until: Callable[[str], bool] | None = None,
    guide: TokenGuide | None = None,
) -> Generation:
    """Reply to a chat. Greedy unless temperature (default: the config's) is > 0.

    stop: strings that end the reply (not included in text). prefix_allowed_tokens_fn:
    as in transformers, (batch_id, token ids so far incl. the prompt) -> allowed next ids.
    prefill: text the reply is forced to begin with (included in text; e.g. "{").
    until: called with the reply so far after each token; True ends it (finish "stop"),
    e.g. as soon as a check fails, so no time goes into text that will be thrown away.
    guide: a `TokenGuide` (grammar) each new token must satisfy, e.g.
    `answer_guide.SlotAnswerGuide`; the likeliest allowed token is taken.
    """
    decoder = _Decoder(loaded, messages, max_new_tokens, stop, prefix_allowed_tokens_fn, temperature,
                       prefill, until, guide)
    for _ in decoder.pieces():
        pass
    return decoder.result()


def stream(
    loaded: LoadedModel,
    messages: Sequence[Message],
    max_new_tokens: int | None = None,
    stop: Sequence[str] | None = None,
    prefix_allowed_tokens_fn: PrefixAllowedTokensFn | None = None,
    *,
    temperature: float | None = None,
    prefill: str = "",
) -> Iterator[str]:
    """Like `generate`, but yields pieces of text as they are decoded ("".join = the text)."""
    decoder = _Decoder(loaded, messages, max_new_tokens, stop, prefix_allowed_tokens_fn, temperature,
                       prefill)
    yield from decoder.pieces()


def _json_generation(loaded: LoadedModel, messages: Sequence[Message], max_new_tokens: int | None,
                     temperature: float | None, prefill: str) -> Generation:
    """A reply that ends as soon as it holds a complete JSON object."""
    decoder = _Decoder(loaded, messages, max_new_tokens, None, None, temperature, prefill,
                       until=lambda text: extract_json_object(text) is not None)
    for _ in decoder.pieces():
        pass
    return decoder.result()


# --------------------------------------------------------------------------- JSON


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in text (code fences and chatter around it are fine), or None."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def generate_json(
    loaded: LoadedModel,
    messages: Sequence[Message],
    max_new_tokens: int | None = None,
    *,
    retries: int = 1,
    temperature: float | None = None,
) -> JsonGeneration:
    """Generate and parse the first JSON object of the reply (decoding stops right after it).

    When the reply holds none, each retry asks again with the reply prefilled with "{",
    which steers even a small model into JSON; then LLMOutputError.
    """
    generations: list[Generation] = []
    for attempt in range(1, retries + 2):
        prefill = "" if attempt == 1 else "{"
        generation = _json_generation(loaded, messages, max_new_tokens, temperature, prefill)
        generations.append(generation)
        data = extract_json_object(generation.text)
        if data is not None:
            return JsonGeneration(data=data, text=generation.text, attempts=attempt,
                                  generations=tuple(generations))
    shown = generations[-1].text[:200]
    raise LLMOutputError(
        f"the model gave no JSON object in {len(generations)} tries; last reply began: {shown!r}"
    )
