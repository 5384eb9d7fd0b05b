"""The language model's public face: load it, chat with it, stream it, constrain it.

    >>> from assistant.llm import LLMConfig, load_model, generate
    >>> loaded = load_model(LLMConfig())                      # packaged SmolLM2, NF4
    >>> generate(loaded, [{"role": "user", "content": "Hi"}], max_new_tokens=16).text

`generate` and `stream` share one greedy-by-default decoding loop with the KV cache on
(temperature > 0 samples), prompts built with the tokenizer's chat template.
`generate_choice` scores a fixed list of answers by log-likelihood in one batched forward
pass (intent classification without free text), and `generate_json` stops decoding at the
end of the first JSON object in the reply and, when there is none, retries once with the
reply prefilled with "{".

Loading, the GGUF cache and adapter checks live in `assistant.llm_loading` and are
re-exported here.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import math
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from retrieval.errors import CartsmithError

from .llm_loading import (
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

Message = dict[str, str]
PrefixAllowedTokensFn = Callable[[int, Any], list[int]]

# Used only when a tokenizer has no chat template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


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
class Choice:
    """generate_choice's pick. scores are what was compared (mean log-prob per token when
    length-normalised, else the sum); probabilities are a softmax over the scores."""

    option: str
    index: int
    scores: tuple[float, ...]
    logprobs: tuple[float, ...]
    probabilities: tuple[float, ...]
    seconds: float


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


# --------------------------------------------------------------------------- prompts


def _check_messages(messages: Sequence[Message]) -> None:
    if not messages:
        raise CartsmithError("messages: at least one message is needed")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str) or \
                message.get("role") not in ("system", "user", "assistant"):
            raise CartsmithError(
                f"messages[{i}]: expected {{'role': 'system'|'user'|'assistant', 'content': str}}, got {message!r}"
            )


def build_prompt(tokenizer: Any, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> str:
    """The prompt text for messages, rendered by the tokenizer's chat template."""
    _check_messages(messages)
    template = None if getattr(tokenizer, "chat_template", None) else CHATML_TEMPLATE
    return tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=add_generation_prompt,
        chat_template=template,
    )


def _encode(tokenizer: Any, text: str) -> list[int]:
    # The chat template already wrote every special token it wants.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _stop_token_ids(loaded: LoadedModel) -> set[int]:
    tokenizer = loaded.tokenizer
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    gen_eos = getattr(getattr(loaded.model, "generation_config", None), "eos_token_id", None)
    if isinstance(gen_eos, int):
        ids.add(gen_eos)
    elif isinstance(gen_eos, list | tuple):
        ids.update(int(i) for i in gen_eos)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id:
        ids.add(im_end)
    return ids


# --------------------------------------------------------------------------- decoding


def _draft_from_context(ids: Sequence[int], max_draft: int, ngram_sizes: Sequence[int] = (3, 2)) -> list[int]:
    """Prompt-lookup drafting: the tokens that followed the latest earlier occurrence of the
    sequence's last n tokens (n = 3, else 2), up to max_draft of them; [] when none.
    Answers that restate their evidence ("13 of 103 baskets") copy spans of the prompt."""
    for n in ngram_sizes:
        if len(ids) <= n:
            continue
        tail = list(ids[-n:])
        for start in range(len(ids) - n - 1, -1, -1):
            if list(ids[start:start + n]) == tail:
                follow = list(ids[start + n:start + n + max_draft])
                if follow:
                    return follow
    return []


class _PromptCaches:
    """The KV caches of the last few finished generations per model, so a prompt that
    starts like an earlier one (the same instructions, the same bundle) skips computing
    that shared prefix again. Entries are never mutated: a reuse works on a deep copy."""

    def __init__(self, max_entries: int = 4, min_shared: int = 16) -> None:
        self.max_entries = max_entries
        self.min_shared = min_shared
        self._entries: weakref.WeakKeyDictionary[Any, list[tuple[list[int], Any]]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def take(self, model: Any, prompt_ids: Sequence[int]) -> tuple[Any, int]:
        """(a cache holding the longest shared prefix, its length) or (None, 0)."""
        with self._lock:
            entries = list(self._entries.get(model, ()))
        best, best_len = None, 0
        for ids, past in entries:
            shared = 0
            limit = min(len(ids), len(prompt_ids) - 1)  # at least one prompt token is fed
            while shared < limit and ids[shared] == prompt_ids[shared]:
                shared += 1
            if shared > best_len:
                best, best_len = (ids, past), shared
        best_len -= best_len % PREFILL_CHUNK
        if best is None or best_len < max(self.min_shared, PREFILL_CHUNK):
            return None, 0
        past = copy.deepcopy(best[1])
        extra = past.get_seq_length() - best_len
        if extra > 0:
            past.crop(-extra)
        return past, best_len

    def put(self, model: Any, ids: Sequence[int], past: Any, prompt_length: int) -> None:
        """Keep `past` cut back to the prompt's whole prefill chunks: only those positions
        were computed exactly as a later prompt's own prefill would compute them."""
        if past is None or not hasattr(past, "crop"):
            return
        length = _prefilled(prompt_length)
        if length < max(self.min_shared, PREFILL_CHUNK):
            return
        extra = past.get_seq_length() - length
        if extra < 0:
            return
        if extra:
            past.crop(-extra)
        with self._lock:
            entries = self._entries.setdefault(model, [])
            entries.insert(0, (list(ids[:length]), past))
            del entries[self.max_entries:]


_PROMPT_CACHES = _PromptCaches()
# The prompt is fed in chunks that start at multiples of this position, so the keys and
# values of a position never depend on how long the prompt is or what was cached before:
# a reused prefix is bit-for-bit what recomputing it would give, and greedy replies do not
# change with the conversation's history.
PREFILL_CHUNK = 64


def _prefilled(prompt_length: int) -> int:
    """Positions of a prompt fed in whole chunks (the last prompt token is always fed with
    the first decoding step, so the step that picks the first token has one shape)."""
    return ((prompt_length - 1) // PREFILL_CHUNK) * PREFILL_CHUNK


def _decode_tokens(
    loaded: LoadedModel,
    prompt_ids: list[int],
    max_new_tokens: int,
    temperature: float,
    prefix_allowed_tokens_fn: PrefixAllowedTokensFn | None,
) -> Iterator[int]:
    """Yield new token ids one by one (the end-of-turn token included, then stop).

    Greedy, unconstrained decoding verifies prompt-lookup drafts (`LLMConfig.prompt_lookup`
    tokens at a time): one forward pass scores the last token plus the draft, the longest
    prefix of the draft the model itself would have chosen is kept, with the model's own
    next token after it, and the KV cache is cut back to what was kept (the same text as
    token-by-token greedy in exact arithmetic; in floats a near-tie may go the other way,
    deterministically). The prompt is fed in position-aligned chunks (`PREFILL_CHUNK`), and
    with `LLMConfig.prompt_cache` whole chunks shared with a recent generation are reused
    instead of recomputed: bit-for-bit the same keys and values, so replies never depend on
    what was generated before.

    inference_mode is entered around each forward pass, not around the `yield`: a
    generator suspended inside the context would leak inference mode into the caller.
    """
    import torch

    model = loaded.model
    device = loaded.device
    config = loaded.config
    stop_ids = _stop_token_ids(loaded)
    cache_kwarg = _cache_kwarg(model)
    lookahead = getattr(config, "prompt_lookup", 0)
    drafting = lookahead > 0 and temperature <= 0 and prefix_allowed_tokens_fn is None
    caching = bool(getattr(config, "prompt_cache", False))
    ids = list(prompt_ids)
    past, reused = _PROMPT_CACHES.take(model, ids) if caching else (None, 0)
    sequence = torch.tensor([prompt_ids], dtype=torch.long, device=device)
    fed = reused
    with torch.inference_mode():
        # Whole chunks first, then the rest of the prompt but its last token; the loop
        # feeds that token (with any draft) to pick the first new token.
        while fed < len(ids) - 1:
            end = min(fed - fed % PREFILL_CHUNK + PREFILL_CHUNK, len(ids) - 1)
            out = model(input_ids=sequence[:, fed:end], use_cache=True, logits_to_keep=1, **{cache_kwarg: past})
            past = getattr(out, cache_kwarg, None)
            fed = end
    step_input = sequence[:, fed:]
    produced = 0
    try:
        while produced < max_new_tokens:
            draft = _draft_from_context(ids, min(lookahead, max_new_tokens - produced - 1)) if drafting else []
            with torch.inference_mode():
                if draft:
                    step_input = torch.cat([step_input, torch.tensor([draft], dtype=torch.long, device=device)],
                                           dim=1)
                keep = len(draft) + 1
                out = model(input_ids=step_input, use_cache=True, logits_to_keep=keep, **{cache_kwarg: past})
                past = getattr(out, cache_kwarg, None)
                logits = out.logits[0, -keep:].float()
                if draft:
                    chosen = [int(t) for t in torch.argmax(logits, dim=-1)]
                    accepted = 0
                    while accepted < len(draft) and chosen[accepted] == draft[accepted]:
                        accepted += 1
                    new_tokens = [*draft[:accepted], chosen[accepted]]
                    rejected = len(draft) - accepted
                    if rejected and past is not None:
                        past.crop(-rejected)  # transformers 5: negative = drop that many from the end
                else:
                    new_tokens = [_pick_token(logits[-1], sequence, temperature, prefix_allowed_tokens_fn)]
                step_input = torch.tensor([new_tokens[-1:]], dtype=torch.long, device=device)
                sequence = torch.cat([sequence, torch.tensor([new_tokens], dtype=torch.long, device=device)], dim=1)
            for token in new_tokens:
                ids.append(token)
                produced += 1
                yield token
                if token in stop_ids or produced >= max_new_tokens:
                    return
    finally:
        # Also when the caller stops early (a stop string, a failed check): the cache
        # covers every token fed so far, which is what the next prompt may share.
        if caching:
            _PROMPT_CACHES.put(model, ids, past, len(prompt_ids))


def _pick_token(logits: Any, sequence: Any, temperature: float,
                prefix_allowed_tokens_fn: PrefixAllowedTokensFn | None) -> int:
    import torch

    if prefix_allowed_tokens_fn is not None:
        allowed = list(prefix_allowed_tokens_fn(0, sequence[0]))
        if not allowed:
            raise CartsmithError("prefix_allowed_tokens_fn allowed no token at all")
        mask = torch.full_like(logits, float("-inf"))
        mask[allowed] = 0.0
        logits = logits + mask
    if temperature > 0:
        probs = torch.softmax(logits / temperature, dim=-1)
        return int(torch.multinomial(probs, 1).item())
    return int(torch.argmax(logits).item())


def _cache_kwarg(model: Any) -> str:
    """"cache" (transformers >= 5.2x) or "past_key_values" (older models), per forward signature."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    params = inspect.signature(base.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


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
    """

    def __init__(self, loaded: LoadedModel, messages: Sequence[Message], max_new_tokens: int | None,
                 stop: Sequence[str] | None, prefix_allowed_tokens_fn: PrefixAllowedTokensFn | None,
                 temperature: float | None, prefill: str = "",
                 until: Callable[[str], bool] | None = None) -> None:
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
        for token in _decode_tokens(self.loaded, self.prompt_ids, self.max_new_tokens,
                                    self.temperature, self.prefix_fn):
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
        if len(self.text) > emitted:
            yield self.text[emitted:]

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
) -> Generation:
    """Reply to a chat. Greedy unless temperature (default: the config's) is > 0.

    stop: strings that end the reply (not included in text). prefix_allowed_tokens_fn:
    as in transformers, (batch_id, token ids so far incl. the prompt) -> allowed next ids.
    prefill: text the reply is forced to begin with (included in text; e.g. "{").
    until: called with the reply so far after each token; True ends it (finish "stop"),
    e.g. as soon as a check fails, so no time goes into text that will be thrown away.
    """
    decoder = _Decoder(loaded, messages, max_new_tokens, stop, prefix_allowed_tokens_fn, temperature,
                       prefill, until)
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


# --------------------------------------------------------------------------- constrained


def generate_choice(
    loaded: LoadedModel,
    messages: Sequence[Message],
    options: Sequence[str],
    *,
    length_normalize: bool = True,
    include_end: bool = True,
) -> Choice:
    """Pick the option the model finds likeliest as the whole assistant reply.

    All options are scored in one batched forward pass over prompt+option. include_end
    also scores the end-of-turn token after each option, so "add" does not win merely by
    being a prefix of "add_to_cart". length_normalize compares mean log-prob per token.
    """
    import torch

    if not options:
        raise CartsmithError("generate_choice: options must not be empty")
    if len(set(options)) != len(options):
        raise CartsmithError("generate_choice: options must be distinct")
    started = time.perf_counter()
    tokenizer = loaded.tokenizer
    prompt_text = build_prompt(tokenizer, messages)
    prompt_ids = _encode(tokenizer, prompt_text)
    end_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if not isinstance(end_id, int) or end_id == tokenizer.unk_token_id:
        end_id = tokenizer.eos_token_id
    rows: list[list[int]] = []
    option_lengths: list[int] = []
    for option in options:
        if not option:
            raise CartsmithError("generate_choice: options must be non-empty strings")
        joint = _encode(tokenizer, prompt_text + option)
        if joint[: len(prompt_ids)] == prompt_ids and len(joint) > len(prompt_ids):
            option_ids = joint[len(prompt_ids):]
        else:  # the option merged with the prompt's last token: score it on its own
            option_ids = _encode(tokenizer, option)
        if include_end and end_id is not None:
            option_ids = [*option_ids, int(end_id)]
        rows.append(prompt_ids + option_ids)
        option_lengths.append(len(option_ids))
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = loaded.device
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long, device=device)
    attention = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention[i, : len(row)] = 1
    with torch.inference_mode():
        logits = loaded.model(input_ids=input_ids, attention_mask=attention, use_cache=False).logits
        logprobs_all = torch.log_softmax(logits.float(), dim=-1)
    sums: list[float] = []
    for i, row in enumerate(rows):
        start = len(prompt_ids)
        positions = torch.arange(start - 1, len(row) - 1, device=device)
        targets = torch.tensor(row[start:], dtype=torch.long, device=device)
        sums.append(float(logprobs_all[i, positions, targets].sum()))
    scores = [s / n for s, n in zip(sums, option_lengths, strict=True)] if length_normalize else sums
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    best = max(range(len(options)), key=lambda i: scores[i])
    return Choice(
        option=options[best],
        index=best,
        scores=tuple(scores),
        logprobs=tuple(sums),
        probabilities=tuple(e / total for e in exps),
        seconds=time.perf_counter() - started,
    )


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
