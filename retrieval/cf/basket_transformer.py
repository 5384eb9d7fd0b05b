"""A Transformer over baskets and the customer's earlier purchases (BERT4Rec-style masked
items, SASRec-style next basket).

The input is a set of tokens with no positions (a basket has no order): a few [MASK]s, the
items of the basket the model may see (the cart), and, for a known customer, the items of
their earlier baskets, each tagged with how often and how recently it was bought. Each
[MASK]'s output is a distribution over the catalog (full softmax, output weights tied to the
item embeddings, plus two learnt gates on the repeat-purchase signals of the history items:
"you bought it in 5 of your orders, the last one included"), and the answer is their
mixture: one [MASK] can speak for the cart's tableware, another for its candles, where a
single softmax would have to blur them (a mixture of softmaxes).

Training hides part of each training basket (a share drawn per basket) and asks for the
hidden items; for a share of the baskets with a history it hides the whole basket, which
is the next-purchase question a returning customer with an empty cart asks. Training stops
early on the held-out tail of the training baskets (the last `validation_share` in time):
the epoch with the best validation loss is kept (its NDCG@10 is reported too).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Literal

import numpy as np

from ..catalog import BasketData
from ..config import Config, check
from ..records import Evidence, Query
from ._common import TorchModelSource, without_tail
from .purchase_history import N_BUCKETS, PurchaseHistory, histories

PAD, MASK, FIRST_ITEM = 0, 1, 2  # item i is token i + FIRST_ITEM
MIN_STEPS_PER_EPOCH = 20


@dataclasses.dataclass(frozen=True)
class BasketTransformerConfig(Config):
    """dim/layers/heads: the model's size; max_items: a longer basket is sampled down to it
    (a 200-line wholesale order teaches little more than 24 of its lines); history_items:
    the customer's most recent earlier items shown next to the basket (0: no history);
    mask_share: the share of a basket's items hidden per step (at least one), drawn for each
    basket between it and mask_share_max; next_basket_share: the share of baskets with a
    history hidden whole; validation_share: the last baskets in time held out for early
    stopping; batch_size: the most baskets a step takes (fewer where an epoch would have
    under 20 steps); max_epochs, patience, max_train_seconds: when training stops, never
    before min_epochs (a small shop's held-out loss often rises for a few epochs, then falls:
    on Steam's 490 bundles, stopping at the first rise kept epoch 1, Recall@10 0.009);
    threads: torch threads while training; init: item embeddings start from co-occurrence or at random;
    tied: output weights are the item embeddings (else learnt apart); mixture: the [MASK]s
    whose softmaxes are mixed."""

    dim: int = 64
    layers: int = 2
    heads: int = 2
    max_items: int = 24
    history_items: int = 16
    mask_share: float = 0.2
    mask_share_max: float = 0.6
    next_basket_share: float = 0.3
    dropout: float = 0.1
    batch_size: int = 256
    learning_rate: float = 3e-3
    max_epochs: int = 40
    patience: int = 3
    min_epochs: int = 10
    validation_share: float = 0.1
    max_train_seconds: float = 50.0
    seed: int = 0
    threads: int = 2
    init: Literal["cooccurrence", "random"] = "cooccurrence"
    tied: bool = True
    mixture: int = 4

    def validate(self) -> None:
        check(self.init in ("cooccurrence", "random"), "transformer.init", "must be 'cooccurrence' or 'random'")
        check(self.dim >= 8 and self.dim % self.heads == 0, "transformer.dim",
              "must be >= 8 and divisible by heads")
        check(self.layers >= 1, "transformer.layers", "must be at least 1")
        check(self.max_items >= 2, "transformer.max_items", "must be at least 2")
        check(self.history_items >= 0, "transformer.history_items", "must be >= 0")
        check(0 < self.mask_share < 1, "transformer.mask_share", "must be within (0, 1)")
        check(self.mask_share <= self.mask_share_max < 1, "transformer.mask_share_max",
              f"must be within [mask_share, 1), got {self.mask_share_max}")
        check(0 <= self.next_basket_share <= 1, "transformer.next_basket_share", "must be within [0, 1]")
        check(0 <= self.dropout < 1, "transformer.dropout", "must be within [0, 1)")
        check(self.batch_size >= 1, "transformer.batch_size", "must be at least 1")
        check(self.max_epochs >= 1, "transformer.max_epochs", "must be at least 1")
        check(self.patience >= 1, "transformer.patience", "must be at least 1")
        check(self.min_epochs >= 1, "transformer.min_epochs", "must be at least 1")
        check(0 <= self.validation_share < 0.5, "transformer.validation_share", "must be within [0, 0.5)")
        check(self.max_train_seconds > 0, "transformer.max_train_seconds", "must be positive")
        check(self.threads >= 1, "transformer.threads", "must be at least 1")
        check(1 <= self.mixture <= 16, "transformer.mixture", "must be within [1, 16]")


@dataclasses.dataclass(frozen=True)
class Example:
    """One question: the basket's items and the customer's history before it (or None)."""

    items: np.ndarray
    history: PurchaseHistory | None


@dataclasses.dataclass
class Batch:
    """Model inputs for a batch of questions, the [MASK]s first in each row.

    tokens, since, counts: (rows, width); since/counts are the history tokens' buckets (0 on
    the basket's tokens); targets: (row, item, weight) of the hidden items, weights 1/len per
    row; repeats: (row, item, log-count, recency) of the history items."""

    tokens: np.ndarray
    since: np.ndarray
    counts: np.ndarray
    target_rows: np.ndarray
    target_items: np.ndarray
    target_weights: np.ndarray
    repeat_rows: np.ndarray
    repeat_items: np.ndarray
    repeat_values: np.ndarray


def _build_model(n_items: int, config: BasketTransformerConfig) -> Any:
    import torch
    from torch import nn

    class BasketTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Embedding(n_items + FIRST_ITEM, config.dim, padding_idx=PAD)
            self.since = nn.Embedding(N_BUCKETS + 1, config.dim)
            self.counts = nn.Embedding(N_BUCKETS + 1, config.dim)
            layer = nn.TransformerEncoderLayer(config.dim, config.heads, 2 * config.dim, config.dropout,
                                               batch_first=True, norm_first=True)
            # every block but the last reads the whole set; the last is asked by the [MASK]s only
            # (a Set Transformer's pooling by attention): the other tokens' outputs are never read
            self.encoder = (nn.TransformerEncoder(layer, config.layers - 1, enable_nested_tensor=False)
                            if config.layers > 1 else None)
            self.readout = _ReadoutBlock(config.dim, config.heads, config.dropout)
            self.norm = nn.LayerNorm(config.dim)
            self.bias = nn.Parameter(torch.zeros(n_items))
            self.repeat_gates = nn.Linear(config.dim, 2)
            self.outputs = None if config.tied else nn.Parameter(torch.empty(n_items, config.dim))
            if self.outputs is not None:
                nn.init.normal_(self.outputs, std=config.dim**-0.5)
            # small logits at the start (see next_item.py): unit-scale embeddings give a loss
            # far above log(n_items)
            nn.init.normal_(self.items.weight, std=config.dim**-0.5)
            nn.init.normal_(self.since.weight, std=0.02)
            nn.init.normal_(self.counts.weight, std=0.02)
            nn.init.zeros_(self.repeat_gates.weight)
            nn.init.ones_(self.repeat_gates.bias)
            # each [MASK] of a mixture learns to speak for one part of the basket
            self.slots = nn.Parameter(torch.randn(config.mixture, config.dim) * 0.02)
            self.shares = nn.Linear(config.dim, config.mixture)

        def forward(self, tokens: torch.Tensor, since: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
            """The [MASK]s' hidden states (rows, mixture, dim): the first tokens of every row."""
            embedded = self.items(tokens) + self.since(since) + self.counts(counts)
            embedded[:, :config.mixture] += self.slots
            padding = tokens == PAD
            encoded = embedded if self.encoder is None else self.encoder(embedded, src_key_padding_mask=padding)
            return self.norm(self.readout(encoded[:, :config.mixture], encoded, padding))

        def log_probs(self, hidden: torch.Tensor, rows: torch.Tensor, items: torch.Tensor,
                      values: torch.Tensor) -> torch.Tensor:
            """Log-probabilities over the real items: each [MASK]'s softmax (the output weights
            tied to the inputs, plus each history item's repeat signals times gates read from
            the [MASK]), mixed by shares read from the first [MASK]."""
            weights = self.items.weight[FIRST_ITEM:] if self.outputs is None else self.outputs
            parts = []
            for k in range(config.mixture):
                out = hidden[:, k] @ weights.T + self.bias
                if len(rows):
                    gates = self.repeat_gates(hidden[:, k])
                    out = out.index_put((rows, items), (gates[rows] * values).sum(-1), accumulate=True)
                parts.append(torch.log_softmax(out, dim=-1))
            if config.mixture == 1:
                return parts[0]
            shares = torch.log_softmax(self.shares(hidden[:, 0]), dim=-1)
            return torch.logsumexp(torch.stack(parts, dim=-1) + shares[:, None, :], dim=-1)

    class _ReadoutBlock(nn.Module):
        """A pre-norm Transformer block whose queries are the [MASK]s alone."""

        def __init__(self, dim: int, heads: int, dropout: float) -> None:
            super().__init__()
            self.norm_queries, self.norm_keys, self.norm_out = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
            self.feed_forward = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Dropout(dropout),
                                              nn.Linear(2 * dim, dim))
            self.dropout = nn.Dropout(dropout)

        def forward(self, queries: torch.Tensor, keys: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
            keys = self.norm_keys(keys)
            attended, _ = self.attention(self.norm_queries(queries), keys, keys, key_padding_mask=padding,
                                         need_weights=False)
            queries = queries + self.dropout(attended)
            return queries + self.dropout(self.feed_forward(self.norm_out(queries)))

    return BasketTransformer()


class BasketTransformerSource(TorchModelSource):
    """Masked items over the basket and the customer's history; scores what completes the
    cart, or (with no cart) what a returning customer buys next."""

    name = "transformer"
    config_class = BasketTransformerConfig
    config: BasketTransformerConfig

    def _fit(self, data: BasketData) -> None:
        import torch

        config = self.config
        torch.manual_seed(config.seed)
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(config.threads)
        try:
            self.model = self._new_model(data.n_items)
            before, after = histories(data) if config.history_items else ([None] * data.baskets.shape[0], {})
            self.customer_histories = after
            examples = _examples(data, before)
            cut = len(examples) - round(len(examples) * config.validation_share)
            train, held = examples[:cut], examples[cut:]
            if config.init == "cooccurrence":
                _start_from_cooccurrence(self.model, [e.items for e in train if len(e.items) >= 2],
                                         data.n_items, config.dim)
            self.fit_report = self._train(train, held)
            self.model.eval()
            self._state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        finally:
            torch.set_num_threads(previous_threads)

    def _train(self, train: list[Example], held: list[Example]) -> dict[str, float]:
        import torch

        config = self.config
        rng = np.random.default_rng(config.seed)
        optimiser = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate, weight_decay=0.01)
        # the validation batches are drawn once: the same hidden items every epoch
        # a small shop takes smaller batches: an epoch of one or two steps learns nothing
        size = max(8, min(config.batch_size, math.ceil(len(train) / MIN_STEPS_PER_EPOCH)))
        held_batches = [_batch(held[i:i + size], config, np.random.default_rng(1)) for i in range(0, len(held), size)]
        start = time.perf_counter()
        best, best_state, best_epoch, epochs, ndcg, best_ndcg = math.inf, None, 0, 0, math.nan, math.nan
        for epoch in range(1, config.max_epochs + 1):
            self.model.train()
            order = rng.permutation(len(train))
            for first in range(0, len(order), size):
                batch = _batch([train[i] for i in order[first:first + size]], config, rng)
                loss = self._loss(batch)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            epochs = epoch
            if held_batches:
                self.model.eval()
                with torch.inference_mode():
                    logits = [self._log_probs(b) for b in held_batches]
                    score = float(np.mean([float(self._loss(b, x)) for b, x in zip(held_batches, logits, strict=True)]))
                    ndcg = float(np.mean(np.concatenate([_ndcg_at_10(x, b) for b, x in zip(held_batches, logits,
                                                                                          strict=True)])))
            else:  # too few baskets to hold any out: the last epoch is kept
                score = -epoch
            if score < best:
                best, best_epoch, best_ndcg = score, epoch, ndcg
                best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            stalled = epoch >= config.min_epochs and epoch - best_epoch >= config.patience
            if stalled or time.perf_counter() - start > config.max_train_seconds:
                break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        return {"epochs": float(epochs), "best_epoch": float(best_epoch), "seconds": time.perf_counter() - start,
                "validation_loss": best if held_batches else math.nan, "validation_ndcg@10": best_ndcg}

    def _log_probs(self, batch: Batch) -> Any:
        import torch

        hidden = self.model(torch.from_numpy(batch.tokens), torch.from_numpy(batch.since),
                            torch.from_numpy(batch.counts))
        return self.model.log_probs(hidden, torch.from_numpy(batch.repeat_rows), torch.from_numpy(batch.repeat_items),
                                 torch.from_numpy(batch.repeat_values))

    def _loss(self, batch: Batch, log_probs: Any = None) -> Any:
        """Cross-entropy of the hidden items, each row's items sharing one unit of weight."""
        import torch

        log_probs = self._log_probs(batch) if log_probs is None else log_probs
        picked = log_probs[torch.from_numpy(batch.target_rows), torch.from_numpy(batch.target_items)]
        return -(picked * torch.from_numpy(batch.target_weights)).sum() / batch.tokens.shape[0]

    def knows_history(self, query: Query) -> bool:
        """Whether the query's customer has earlier orders this model reads (no scoring)."""
        row = self.user_row(query)
        return row is not None and row in getattr(self, "customer_histories", {})

    def _query_example(self, query: Query) -> tuple[list[int], Example | None]:
        seeds = list(dict.fromkeys(self.seed_indices(query)))[-(self.config.max_items - 1):]
        row = self.user_row(query)
        history = getattr(self, "customer_histories", {}).get(row) if row is not None else None
        if not seeds and history is None:
            return seeds, None
        return seeds, Example(np.asarray(seeds, dtype=np.int64), history)

    def score(self, query: Query) -> np.ndarray:
        import torch

        data = self.require_fit()
        seeds, example = self._query_example(query)
        if example is None:
            return np.zeros(data.n_items)
        batch = _batch([example], self.config, None)
        with torch.inference_mode():
            probs = torch.exp(self._log_probs(batch)[0]).double().numpy()
        probs[seeds] = 0.0
        return without_tail(probs, data.n_items)

    def explain(self, query: Query, item_index: int) -> tuple[Evidence, ...]:
        probs = self.score(query)
        if probs[item_index] <= 0:
            return ()
        seeds, example = self._query_example(query)
        rank = int((probs > probs[item_index]).sum()) + 1
        numbers = {"probability": float(probs[item_index]), "rank": float(rank)}
        history = example.history if example is not None else None
        bought = np.flatnonzero(history.items == item_index) if history is not None else np.empty(0)
        if history is not None and len(bought):
            times = int(history.counts[bought[0]])
            numbers["earlier_orders"] = float(times)
            text = (f"you bought it in {times} earlier order{'s' if times > 1 else ''}, and shoppers "
                    f"with baskets like yours buy it again (rank {rank} of {len(probs):,})")
        elif seeds:
            named = ", ".join(self.title(i) for i in seeds[:2]) + (" …" if len(seeds) > 2 else "")
            text = f"shoppers whose baskets held {named} went on to add it (rank {rank} of {len(probs):,})"
        else:
            text = f"shoppers who bought what you bought before went on to buy it (rank {rank} of {len(probs):,})"
        return (Evidence("basket_model", text, numbers),)

    def _new_model(self, n_items: int) -> Any:
        return _build_model(n_items, self.config)


def _ndcg_at_10(logits: Any, batch: Batch) -> np.ndarray:
    """Each row's NDCG@10 of its hidden items, the basket items it saw ranked out (the
    history's stay: buying again is a right answer)."""
    import torch

    scores = logits.clone()
    shown = torch.from_numpy(batch.tokens) - FIRST_ITEM
    rows = torch.arange(len(scores))[:, None].expand_as(shown)
    seen = (shown >= 0) & (torch.from_numpy(batch.since) == 0)
    scores[rows[seen], shown[seen]] = -math.inf
    top = torch.topk(scores, min(10, scores.shape[-1]), dim=-1).indices.numpy()
    hits = np.zeros(top.shape)
    wanted = {(int(r), int(i)) for r, i in zip(batch.target_rows, batch.target_items, strict=True)}
    for r in range(len(top)):
        hits[r] = [(r, int(i)) in wanted for i in top[r]]
    discounts = 1.0 / np.log2(np.arange(2, 2 + top.shape[1]))
    sizes = np.bincount(batch.target_rows, minlength=len(top))
    ideal = np.array([discounts[:min(10, n)].sum() for n in sizes])
    keep = sizes > 0
    return (hits @ discounts)[keep] / ideal[keep]


def _examples(data: BasketData, before: list[PurchaseHistory | None]) -> list[Example]:
    """The training questions in time order: every basket with two or more items, or with
    one item and a history (a next purchase to predict)."""
    m = data.baskets
    out = []
    for row in range(m.shape[0]):
        items = m.indices[m.indptr[row]:m.indptr[row + 1]].astype(np.int64)
        if len(items) >= 2 or (len(items) and before[row] is not None):
            out.append(Example(items, before[row]))
    return out


def _batch(examples: list[Example], config: BasketTransformerConfig, rng: np.random.Generator | None) -> Batch:
    """Inputs and targets for `examples`. With a generator, each basket is sampled down to
    `max_items` and part of it hidden (the whole of it for `next_basket_share` of those with
    a history); without one (a query), the example's items are all seen."""
    rows = []
    for n, example in enumerate(examples):
        items, history = example.items, example.history
        if rng is None:
            seen, hidden = items, items[:0]
        else:
            items = rng.permutation(items)[:config.max_items]
            if history is not None and (len(items) < 2 or rng.random() < config.next_basket_share):
                n_hidden = len(items)
            else:
                share = rng.uniform(config.mask_share, config.mask_share_max)
                n_hidden = min(len(items) - 1, max(1, round(len(items) * share)))
            hidden, seen = items[:n_hidden], items[n_hidden:]
        shown = history.items[:config.history_items] if history is not None else np.empty(0, np.int64)
        rows.append((n, seen, hidden, history, shown))
    first = config.mixture  # the [MASK]s come first
    width = first + max(len(seen) + len(shown) for _, seen, _, _, shown in rows)
    tokens = np.full((len(rows), width), PAD, dtype=np.int64)
    since = np.zeros((len(rows), width), dtype=np.int64)
    counts = np.zeros((len(rows), width), dtype=np.int64)
    t_rows, t_items, t_weights, r_rows, r_items, r_values = [], [], [], [], [], []
    for n, seen, hidden, history, shown in rows:
        tokens[n, :first] = MASK
        tokens[n, first:first + len(seen)] = seen + FIRST_ITEM
        if history is not None:
            at = slice(first + len(seen), first + len(seen) + len(shown))
            tokens[n, at] = shown + FIRST_ITEM
            since[n, at] = history.since_buckets()[:len(shown)]
            counts[n, at] = history.count_buckets()[:len(shown)]
            r_rows.append(np.full(len(history), n))
            r_items.append(history.items)
            r_values.append(history.repeat_features())
        if len(hidden):
            t_rows.append(np.full(len(hidden), n))
            t_items.append(hidden)
            t_weights.append(np.full(len(hidden), 1.0 / len(hidden), dtype=np.float32))

    def joined(parts: list[np.ndarray], dtype: Any, shape: tuple[int, ...] = (0,)) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(shape, dtype=dtype)

    return Batch(tokens, since, counts, joined(t_rows, np.int64), joined(t_items, np.int64),
                 joined(t_weights, np.float32), joined(r_rows, np.int64), joined(r_items, np.int64),
                 joined(r_values, np.float32, (0, 2)))


def _start_from_cooccurrence(model: Any, baskets: list[np.ndarray], n_items: int, dim: int) -> None:
    """Item embeddings that start where counting leaves off: the top `dim` singular vectors
    of the items' positive pointwise mutual information over the training baskets, scaled
    to the random start's size. With output weights tied to them, the first epoch already
    ranks what is bought together; training then learns what counting cannot (which part of
    a basket predicts which). Items seen with nothing keep their random start."""
    import torch
    from scipy import sparse
    from scipy.sparse.linalg import svds

    rank = min(dim, n_items - 2)  # a small catalog has fewer directions than the model
    if not baskets or rank < 1:
        return
    rows = np.repeat(np.arange(len(baskets)), [len(b) for b in baskets])
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, np.concatenate(baskets))), shape=(len(baskets), n_items))
    matrix.data[:] = 1.0
    co = (matrix.T @ matrix).tocoo()
    off = co.row != co.col
    counts = np.asarray(matrix.sum(axis=0)).ravel()
    total = float(counts.sum())
    pmi = np.log(co.data[off] * total / (counts[co.row[off]] * counts[co.col[off]]))
    keep = pmi > 0
    if keep.sum() < rank:
        return
    ppmi = sparse.csr_matrix((pmi[keep], (co.row[off][keep], co.col[off][keep])), shape=(n_items, n_items))
    vectors, values, _ = svds(ppmi, k=rank, random_state=0)
    start = np.zeros((n_items, dim))
    start[:, :rank] = vectors * np.sqrt(values)
    seen = np.abs(start).sum(axis=1) > 0
    start *= (dim ** -0.5) / max(float(start[seen].std()), 1e-12)
    with torch.no_grad():
        weight = model.items.weight
        weight[FIRST_ITEM:][torch.from_numpy(seen)] = torch.from_numpy(start[seen]).to(weight.dtype)
        if model.outputs is not None:
            model.outputs[torch.from_numpy(seen)] = torch.from_numpy(start[seen]).to(weight.dtype)
