"""The decoding loop under `assistant.llm.generation`: token by token with the KV cache, prompt-lookup
drafts verified in one pass, the prompt fed in position-aligned chunks, and the KV cache of
a prompt prefix shared with a recent generation reused bit for bit."""

from __future__ import annotations

import copy
import inspect
import threading
import weakref
from collections.abc import Callable, Generator, Sequence
from typing import Any, Protocol

from assistant.llm.loading import LoadedModel
from assistant.llm.thread_team import decode_on
from retrieval.errors import CartsmithError

PrefixAllowedTokensFn = Callable[[int, Any], list[int]]
# The guided decoder looks this far down the model's ranking for a token the guide allows;
# past it the reply ends there and the caller's own checks decide what to do.
GUIDE_TOP_K = 64


class TokenGuide(Protocol):
    """A grammar over the reply's text: which token may come next, and where it may end.
    `text` is the reply so far (the prefill included); `piece` a candidate token's text."""

    def allows(self, text: str, piece: str) -> bool: ...

    def allows_end(self, text: str) -> bool: ...


_TEXTS_CACHE: dict[int, list[str]] = {}


def token_texts(tokenizer: Any) -> list[str]:
    """Each token id's text (cached per tokenizer)."""
    key = id(tokenizer)
    if key not in _TEXTS_CACHE:
        _TEXTS_CACHE[key] = tokenizer.batch_decode([[i] for i in range(len(tokenizer))],
                                                   skip_special_tokens=False)
    return _TEXTS_CACHE[key]


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
        best_len = chunk_floor(best_len)
        if best is None or best_len < max(self.min_shared, FIRST_CHUNK):
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
        if length < max(self.min_shared, FIRST_CHUNK):
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
# The prompt is fed in chunks that start at fixed positions (0, FIRST_CHUNK, then every
# PREFILL_CHUNK after it), so the keys and values of a position never depend on how long the
# prompt is or what was cached before: a reused prefix is bit-for-bit what recomputing it
# would give, and greedy replies do not change with the conversation's history.
# The first chunk is short: it holds a chat template's system header and the first words of
# the instructions, which every parse prompt shares (43 tokens with SmolLM2's template, 35
# with a bundle on screen), so a parse reuses it and feeds the rest of its prompt in one
# pass (a 4-bit forward pass of several tokens costs ~0.13 s, plus ~2 ms a token, on 2 cores).
FIRST_CHUNK = 32
PREFILL_CHUNK = 64


def chunk_floor(position: int) -> int:
    """The last chunk boundary at or before `position`."""
    if position < FIRST_CHUNK:
        return 0
    return FIRST_CHUNK + ((position - FIRST_CHUNK) // PREFILL_CHUNK) * PREFILL_CHUNK


def _next_boundary(position: int) -> int:
    """The first chunk boundary after `position`."""
    if position < FIRST_CHUNK:
        return FIRST_CHUNK
    return chunk_floor(position) + PREFILL_CHUNK


def _prefilled(prompt_length: int) -> int:
    """Positions of a prompt fed in whole chunks (the last prompt token is always fed with
    the first decoding step, so the step that picks the first token has one shape)."""
    return chunk_floor(prompt_length - 1)


def prefill_prompt(model: Any, cache_kwarg: str, sequence: Any, past: Any, fed: int) -> tuple[Any, int]:
    """Feed the prompt (a [1, n] tensor) from position `fed` on, in position-aligned chunks,
    all but its last token: the first decoding step feeds that one (with any draft) to pick
    the first new token. Returns the cache and how many positions it holds. Call it under
    `torch.inference_mode()`."""
    n = int(sequence.shape[1])
    while fed < n - 1:
        end = min(_next_boundary(fed), n - 1)
        out = model(input_ids=sequence[:, fed:end], use_cache=True, logits_to_keep=1, **{cache_kwarg: past})
        past = getattr(out, cache_kwarg, None)
        fed = end
    return past, fed


def _decode_tokens(
    loaded: LoadedModel,
    prompt_ids: list[int],
    max_new_tokens: int,
    temperature: float,
    prefix_allowed_tokens_fn: PrefixAllowedTokensFn | None,
    guide: TokenGuide | None = None,
    guide_text: str = "",
) -> Generator[int, None, None]:
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

    guide: every token is the likeliest one the guide allows (`_guided_token`), drafts
    included; guide_text is the reply's text before the first new token (a prefill).

    inference_mode is entered around each forward pass, not around the `yield`: a
    generator suspended inside the context would leak inference mode into the caller.
    """
    import torch

    if guide is not None and prefix_allowed_tokens_fn is not None:
        raise CartsmithError("decoding takes a guide or a prefix_allowed_tokens_fn, not both")

    model = loaded.model
    device = loaded.device
    config = loaded.config
    decode_on(config.threads)  # batching off: the caller's thread decodes (thread_team)
    stop_ids = _stop_token_ids(loaded)
    cache_kwarg = _cache_kwarg(model)
    lookahead = getattr(config, "prompt_lookup", 0)
    drafting = lookahead > 0 and temperature <= 0 and prefix_allowed_tokens_fn is None
    caching = bool(getattr(config, "prompt_cache", False))
    ids = list(prompt_ids)
    texts = token_texts(loaded.tokenizer) if guide is not None else []
    reply_text = guide_text
    past, reused = _PROMPT_CACHES.take(model, ids) if caching else (None, 0)
    sequence = torch.tensor([prompt_ids], dtype=torch.long, device=device)
    with torch.inference_mode():
        past, fed = prefill_prompt(model, cache_kwarg, sequence, past, reused)
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
                    new_tokens = _verify_draft(logits, draft, guide, texts, reply_text, stop_ids)
                    rejected = len(draft) - (len(new_tokens) - 1)
                    if rejected and past is not None:
                        past.crop(-rejected)  # transformers 5: negative = drop that many from the end
                elif guide is not None:
                    new_tokens = [_guided_token(logits[-1], guide, texts, reply_text, stop_ids, temperature)]
                else:
                    new_tokens = [_pick_token(logits[-1], sequence, temperature, prefix_allowed_tokens_fn)]
                step_input = torch.tensor([new_tokens[-1:]], dtype=torch.long, device=device)
                sequence = torch.cat([sequence, torch.tensor([new_tokens], dtype=torch.long, device=device)], dim=1)
            for token in new_tokens:
                ids.append(token)
                if guide is not None:
                    reply_text += texts[token]
                produced += 1
                yield token
                if token in stop_ids or produced >= max_new_tokens:
                    return
    finally:
        # Also when the caller stops early (a stop string, a failed check): the cache
        # covers every token fed so far, which is what the next prompt may share.
        if caching:
            _PROMPT_CACHES.put(model, ids, past, len(prompt_ids))


def _verify_draft(logits: Any, draft: Sequence[int], guide: TokenGuide | None, texts: Sequence[str],
                  text: str, stop_ids: set[int]) -> list[int]:
    """The longest prefix of the draft that greedy (guided) decoding would itself produce,
    then the model's own next token: logits has one row per draft token plus one."""
    import torch

    if guide is None:
        chosen = [int(t) for t in torch.argmax(logits, dim=-1)]
        accepted = 0
        while accepted < len(draft) and chosen[accepted] == draft[accepted]:
            accepted += 1
        return [*draft[:accepted], chosen[accepted]]
    out: list[int] = []
    for row in range(len(draft) + 1):
        token = _guided_token(logits[row], guide, texts, text, stop_ids, 0.0)
        out.append(token)
        if row == len(draft) or token != draft[row] or token in stop_ids:
            break
        text += texts[token]
    return out


def _guided_token(logits: Any, guide: TokenGuide, texts: Sequence[str], text: str, stop_ids: set[int],
                  temperature: float) -> int:
    """The likeliest token the guide allows after `text` (sampled among the allowed ones of
    the top GUIDE_TOP_K when temperature > 0); an end-of-turn token when none is allowed."""
    import torch

    values, order = torch.topk(logits, min(GUIDE_TOP_K, logits.shape[-1]))
    candidates = [int(t) for t in order]

    def allowed(token: int) -> bool:
        return guide.allows_end(text) if token in stop_ids else guide.allows(text, texts[token])

    if temperature <= 0:
        for token in candidates:
            if allowed(token):
                return token
    else:
        keep = [i for i, token in enumerate(candidates) if allowed(token)]
        if keep:
            probs = torch.softmax(values[keep] / temperature, dim=-1)
            return candidates[keep[int(torch.multinomial(probs, 1).item())]]
    return min(stop_ids)


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
