"""Continuous batching: concurrent generations share the model's decoding steps.

Without it every turn holds the model alone, so 32 shoppers wait in line for one decoding
loop. `DecodeScheduler` runs one loop per model in a thread of its own; each generation
(a parse or a written answer, from any conversation) is a row of the running batch:

* a new row's prompt is fed alone, in the same position-aligned chunks as unbatched
  decoding, reusing a shared prompt prefix from `decoding._PROMPT_CACHES`; its KV cache
  then joins the batch between two steps (left-padded to the batch's length, the padding
  masked out, each row with its own positions);
* every step feeds one token per row in one forward pass; each row keeps its own token
  guide, temperature, stop tokens and token budget;
* a row that ends (end of turn, budget, or its caller stopped reading: a stop string, a
  failed line check) leaves the batch before the next step, and padding no row needs is
  cut away;
* a row alone in the batch decodes as it would unbatched, prompt-lookup drafts included,
  so one conversation on its own is as fast as before.

The queue of rows waiting for a place is bounded: past `max_queue` a new generation is
refused at once with `Overloaded` (the HTTP API answers 503 with Retry-After), never left
to hang. Greedy replies are the same text as unbatched decoding up to float rounding: a
batched matrix product sums in another order than a single row's, so a near-tie between
two tokens may go the other way (measured in docs/BENCHMARKS.md).
"""

from __future__ import annotations

import atexit
import copy
import dataclasses
import logging
import queue
import threading
import time
import weakref
from collections.abc import Generator, Sequence
from typing import Any

from assistant.llm.batch_rows import layers_of, left_pad, use_rowwise_attention
from assistant.llm.config import BatchingConfig
from assistant.llm.decoding import (
    _PROMPT_CACHES,
    TokenGuide,
    _cache_kwarg,
    _draft_from_context,
    _guided_token,
    _pick_token,
    _stop_token_ids,
    _verify_draft,
    prefill_prompt,
    token_texts,
)
from assistant.llm.loading import LoadedModel
from assistant.llm.thread_team import decode_on
from retrieval.errors import CartsmithError

log = logging.getLogger(__name__)


class Overloaded(CartsmithError):
    """Every place in the batch and the queue is taken: try again in `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


_DONE = object()


@dataclasses.dataclass(eq=False)
class _Row:
    """One generation in the batch: what it was asked and where it stands."""

    prompt_ids: list[int]
    max_new_tokens: int
    temperature: float
    guide: TokenGuide | None
    reply_text: str
    out: queue.Queue[Any] = dataclasses.field(default_factory=queue.Queue)
    ids: list[int] = dataclasses.field(default_factory=list)   # prompt + new tokens
    produced: int = 0
    next_input: list[int] = dataclasses.field(default_factory=list)  # fed at the next step
    pad: int = 0                  # masked positions in front of this row in the batch cache
    cancelled: bool = False
    finished: bool = False


class DecodeScheduler:
    """One decoding loop per loaded model, shared by every thread that generates with it."""

    def __init__(self, loaded: LoadedModel, config: BatchingConfig | None = None) -> None:
        self.loaded = loaded
        self.config = config or BatchingConfig()
        self._waiting: list[_Row] = []
        self._rows: list[_Row] = []
        self._cache: Any = None
        self._mask: Any = None         # [rows, cached positions], 1 = a real position
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop_ids = _stop_token_ids(loaded)
        self._texts: list[str] | None = None
        self._cache_kwarg = _cache_kwarg(loaded.model)
        self._closing = False
        self.steps = 0
        self.batched_rows = 0          # sum over steps of the rows in it (mean batch = / steps)
        self.prefill_s = 0.0           # seconds spent feeding new rows' prompts
        self.step_s = 0.0              # seconds spent in decoding steps
        self.prompt_tokens = 0         # prompt positions of the rows that joined
        self.reused_tokens = 0         # ... of which came from a cached shared prefix

    # -- callers' side ------------------------------------------------------------------------
    def tokens(self, prompt_ids: Sequence[int], max_new_tokens: int, temperature: float,
               guide: TokenGuide | None = None, guide_text: str = "") -> Generator[int, None, None]:
        """New token ids one by one, like `decoding._decode_tokens`; closing the iterator
        early takes the row out of the batch."""
        row = _Row(list(prompt_ids), max_new_tokens, temperature, guide, guide_text, ids=list(prompt_ids))
        with self._wake:
            if len(self._waiting) >= self.config.max_queue:
                raise Overloaded(f"the assistant is busy ({len(self._rows)} replies being written, "
                                 f"{len(self._waiting)} waiting, limit batching.max_queue = "
                                 f"{self.config.max_queue}); try again in {self.config.retry_after_s} s",
                                 self.config.retry_after_s)
            self._waiting.append(row)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="cartsmith-decode", daemon=True)
                self._thread.start()
            self._wake.notify()
        try:
            while True:
                item = row.out.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            row.cancelled = True

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the loop after its current step (rows still running get an error); at
        interpreter exit this runs before torch's modules are torn down under it."""
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def load(self) -> dict[str, int]:
        """Rows decoding now and rows waiting (for /health and the logs)."""
        with self._wake:
            return {"decoding": sum(not row.finished for row in self._rows), "waiting": len(self._waiting)}

    # -- the loop -----------------------------------------------------------------------------
    def _loop(self) -> None:
        import torch

        decode_on(self.loaded.config.threads)  # this thread owns the team (thread_team)
        while True:
            with self._wake:
                while not self._waiting and not self._rows and not self._closing:
                    self._wake.wait()
                if self._closing:
                    for row in [*self._rows, *self._waiting]:
                        row.finished = True
                        row.out.put(CartsmithError("the assistant is shutting down"))
                    self._rows, self._waiting, self._cache, self._mask = [], [], None, None
                    return
                room = self.config.max_batch - len(self._rows)
                joining, self._waiting = self._waiting[:room], self._waiting[room:]
            try:
                with torch.inference_mode():
                    if joining:
                        began = time.perf_counter()
                        self._join(joining)
                        self.prefill_s += time.perf_counter() - began
                    self._drop_finished()
                    if self._rows:
                        began = time.perf_counter()
                        self._step()
                        self.step_s += time.perf_counter() - began
                        self._drop_finished()
            except Exception as exc:  # a failed forward fails every row in it, not the loop
                log.exception("batched decoding step failed")
                for row in [*self._rows, *joining]:
                    if not row.finished:
                        row.finished = True
                        row.out.put(CartsmithError(f"decoding failed: {exc}"))
                self._rows, self._cache, self._mask = [], None, None

    def _join(self, rows: list[_Row]) -> None:
        """Prefill each new row alone, then widen the batch cache to take it."""
        import torch

        model = self.loaded.model
        caching = bool(getattr(self.loaded.config, "prompt_cache", False))
        for row in rows:
            if row.cancelled:
                row.finished = True
                continue
            past, reused = _PROMPT_CACHES.take(model, row.prompt_ids) if caching else (None, 0)
            sequence = torch.tensor([row.prompt_ids], dtype=torch.long, device=self.loaded.device)
            past, fed = prefill_prompt(model, self._cache_kwarg, sequence, past, reused)
            self.prompt_tokens += len(row.prompt_ids)
            self.reused_tokens += reused
            if caching and past is not None:
                _PROMPT_CACHES.put(model, row.prompt_ids, copy.deepcopy(past), len(row.prompt_ids))
            row.next_input = row.prompt_ids[fed:]
            self._append(row, past, fed)

    def _append(self, row: _Row, past: Any, length: int) -> None:
        import torch
        from transformers.cache_utils import DynamicCache

        if self._cache is None or not self._rows:
            self._cache, self._rows = past, [row]
            self._mask = torch.ones(1, length, dtype=torch.long)
            row.pad = 0
            return
        width = int(self._mask.shape[1])
        grow, row.pad = max(0, length - width), max(0, width - length)
        layers = []
        for layer, own in zip(self._cache.layers, layers_of(past, len(self._cache.layers)), strict=True):
            keys, values = left_pad(layer.keys, grow), left_pad(layer.values, grow)
            own_keys, own_values = own if own is not None else (keys[:1, :, :0], values[:1, :, :0])
            layers.append((torch.cat([keys, left_pad(own_keys, row.pad)]),
                           torch.cat([values, left_pad(own_values, row.pad)])))
        self._cache = DynamicCache(ddp_cache_data=layers)
        for other in self._rows:
            other.pad += grow
        new_mask = torch.ones(1, width + grow, dtype=torch.long)
        new_mask[0, :row.pad] = 0
        self._mask = torch.cat([left_pad(self._mask, grow, dim=1), new_mask])
        self._rows.append(row)

    def _drop_finished(self) -> None:
        import torch

        keep = [i for i, row in enumerate(self._rows) if not (row.finished or row.cancelled)]
        for row in self._rows:
            if row.cancelled and not row.finished:
                row.finished = True
        if len(keep) == len(self._rows):
            return
        self._rows = [self._rows[i] for i in keep]
        if not self._rows:
            self._cache, self._mask = None, None
            return
        index = torch.tensor(keep, dtype=torch.long)
        self._cache.batch_select_indices(index)
        self._mask = self._mask[index]
        cut = min(row.pad for row in self._rows)  # padding every remaining row has
        if cut:
            for layer in self._cache.layers:
                layer.keys, layer.values = layer.keys[:, :, cut:], layer.values[:, :, cut:]
            self._mask = self._mask[:, cut:]
            for row in self._rows:
                row.pad -= cut

    def _step(self) -> None:
        import torch

        rows = self._rows
        alone = len(rows) == 1 and rows[0].pad == 0 and not self._waiting
        if alone:
            self._step_alone(rows[0])
            return
        device = self.loaded.device
        width = int(self._mask.shape[1])
        # a row that just joined still has its last prompt token to feed; others one token
        inputs = [row.next_input[-1:] for row in rows]
        positions = [[width - row.pad] for row in rows]
        mask = torch.cat([self._mask, torch.ones(len(rows), 1, dtype=torch.long)], dim=1)
        out = self.loaded.model(input_ids=torch.tensor(inputs, dtype=torch.long, device=device),
                                attention_mask=mask.to(device),
                                position_ids=torch.tensor(positions, dtype=torch.long, device=device),
                                use_cache=True, logits_to_keep=1, **{self._cache_kwarg: self._cache})
        self._cache = getattr(out, self._cache_kwarg, None)
        self._mask = mask
        self.steps += 1
        self.batched_rows += len(rows)
        logits = out.logits[:, -1].float()
        for i, row in enumerate(rows):
            self._emit(row, [self._choose(row, logits[i])])

    def _step_alone(self, row: _Row) -> None:
        """The unbatched step: the row's pending input plus a prompt-lookup draft."""
        import torch

        config = self.loaded.config
        lookahead = getattr(config, "prompt_lookup", 0)
        room = row.max_new_tokens - row.produced - 1
        draft = _draft_from_context(row.ids, min(lookahead, room)) if lookahead > 0 and row.temperature <= 0 else []
        feed = row.next_input[-1:] + draft
        keep = len(draft) + 1
        out = self.loaded.model(input_ids=torch.tensor([feed], dtype=torch.long, device=self.loaded.device),
                                use_cache=True, logits_to_keep=keep, **{self._cache_kwarg: self._cache})
        self._cache = getattr(out, self._cache_kwarg, None)
        self.steps += 1
        self.batched_rows += 1
        logits = out.logits[0, -keep:].float()
        if draft:
            new_tokens = _verify_draft(logits, draft, row.guide, self._token_texts(row), row.reply_text,
                                       self._stop_ids)
            rejected = len(draft) - (len(new_tokens) - 1)
            if rejected and self._cache is not None:
                self._cache.crop(-rejected)
        else:
            new_tokens = [self._choose(row, logits[-1])]
        self._mask = torch.ones(1, self._cache.get_seq_length(), dtype=torch.long)
        self._emit(row, new_tokens)

    def _choose(self, row: _Row, logits: Any) -> int:
        if row.guide is not None:
            return _guided_token(logits, row.guide, self._token_texts(row), row.reply_text, self._stop_ids,
                                 row.temperature)
        return _pick_token(logits, None, row.temperature, None)

    def _token_texts(self, row: _Row) -> list[str]:
        if row.guide is None:
            return []
        if self._texts is None:
            self._texts = token_texts(self.loaded.tokenizer)
        return self._texts

    def _emit(self, row: _Row, new_tokens: list[int]) -> None:
        texts = self._token_texts(row)
        for token in new_tokens:
            row.ids.append(token)
            row.produced += 1
            if row.guide is not None:
                row.reply_text += texts[token]
            row.out.put(token)
            if token in self._stop_ids or row.produced >= row.max_new_tokens:
                row.finished = True
                row.out.put(_DONE)
                return
        row.next_input = new_tokens[-1:]


_SCHEDULERS: weakref.WeakKeyDictionary[Any, DecodeScheduler] = weakref.WeakKeyDictionary()
_SCHEDULERS_LOCK = threading.Lock()


@atexit.register
def _close_all() -> None:
    for scheduler in list(_SCHEDULERS.values()):
        scheduler.close()


def enable_batching(loaded: LoadedModel, config: BatchingConfig | None = None) -> DecodeScheduler:
    """Route every later generation with this model through one shared decoding loop."""
    with _SCHEDULERS_LOCK:
        scheduler = _SCHEDULERS.get(loaded.model)
        if scheduler is None:
            use_rowwise_attention(loaded.model)
            scheduler = _SCHEDULERS[loaded.model] = DecodeScheduler(loaded, config)
        return scheduler


def scheduler_for(loaded: LoadedModel) -> DecodeScheduler | None:
    """The model's scheduler when batching is on, else None (decode in the caller's thread)."""
    return _SCHEDULERS.get(loaded.model)


def disable_batching(loaded: LoadedModel) -> None:
    with _SCHEDULERS_LOCK:
        scheduler = _SCHEDULERS.pop(loaded.model, None)
    if scheduler is not None:
        scheduler.close()
