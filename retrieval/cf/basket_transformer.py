"""A Transformer over baskets as sets (BERT4Rec-style masked-item prediction).

Each training basket is a set of items: some of them are hidden behind a [MASK] token and a
small bidirectional Transformer (no positions: a basket has no order) learns to name them
from the rest (full softmax over the catalog, output weights tied to the item embeddings).
At query time the seed items (the cart) plus one [MASK] are the input, and the [MASK]'s
distribution over the catalog is the score: "shoppers whose baskets looked like this one
went on to add ...".

Training stops early on the held-out tail of the training baskets (the last
`validation_share` in time): the epoch with the best validation loss is kept, and training
ends after `patience` epochs without a better one or at `max_train_seconds`.
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

PAD, MASK, FIRST_ITEM = 0, 1, 2  # item i is token i + FIRST_ITEM


@dataclasses.dataclass(frozen=True)
class BasketTransformerConfig(Config):
    """dim/layers/heads: the model's size; max_items: a longer basket is sampled down to it
    (a 200-line wholesale order teaches little more than 32 of its lines); mask_share: the
    share of a basket's items hidden per step (at least one), drawn for each basket between it
    and mask_share_max (a shopper's cart may hold a fifth of the basket or most of it);
    validation_share: the last
    baskets in time held out for early stopping; max_epochs, patience, max_train_seconds:
    when training stops; threads: torch threads while training."""

    dim: int = 64
    layers: int = 2
    heads: int = 2
    max_items: int = 32
    mask_share: float = 0.2
    mask_share_max: float = 0.6
    dropout: float = 0.1
    batch_size: int = 256
    learning_rate: float = 3e-3
    max_epochs: int = 40
    patience: int = 2
    validation_share: float = 0.1
    max_train_seconds: float = 300.0
    seed: int = 0
    threads: int = 2
    init: Literal["cooccurrence", "random"] = "cooccurrence"

    def validate(self) -> None:
        check(self.init in ("cooccurrence", "random"), "transformer.init", "must be 'cooccurrence' or 'random'")
        check(self.dim >= 8 and self.dim % self.heads == 0, "transformer.dim",
              "must be >= 8 and divisible by heads")
        check(self.layers >= 1, "transformer.layers", "must be at least 1")
        check(self.max_items >= 2, "transformer.max_items", "must be at least 2")
        check(0 < self.mask_share < 1, "transformer.mask_share", "must be within (0, 1)")
        check(self.mask_share <= self.mask_share_max < 1, "transformer.mask_share_max",
              f"must be within [mask_share, 1), got {self.mask_share_max}")
        check(0 <= self.dropout < 1, "transformer.dropout", "must be within [0, 1)")
        check(self.batch_size >= 1, "transformer.batch_size", "must be at least 1")
        check(self.max_epochs >= 1, "transformer.max_epochs", "must be at least 1")
        check(self.patience >= 1, "transformer.patience", "must be at least 1")
        check(0 <= self.validation_share < 0.5, "transformer.validation_share", "must be within [0, 0.5)")
        check(self.max_train_seconds > 0, "transformer.max_train_seconds", "must be positive")
        check(self.threads >= 1, "transformer.threads", "must be at least 1")


def _build_model(n_items: int, config: BasketTransformerConfig) -> Any:
    import torch
    from torch import nn

    class BasketTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Embedding(n_items + FIRST_ITEM, config.dim, padding_idx=PAD)
            layer = nn.TransformerEncoderLayer(config.dim, config.heads, 2 * config.dim, config.dropout,
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(config.dim)
            self.bias = nn.Parameter(torch.zeros(n_items))
            # small logits at the start (see next_item.py): unit-scale embeddings give a loss
            # far above log(n_items)
            nn.init.normal_(self.items.weight, std=config.dim**-0.5)

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            """The hidden state of every position."""
            return self.norm(self.encoder(self.items(tokens), src_key_padding_mask=tokens == PAD))

        def logits(self, hidden: torch.Tensor) -> torch.Tensor:
            """Scores over the real items for hidden states (output weights tied to the inputs)."""
            return hidden @ self.items.weight[FIRST_ITEM:].T + self.bias

    return BasketTransformer()


class BasketTransformerSource(TorchModelSource):
    """Masked-item prediction over baskets; scores what completes the seed basket."""

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
            baskets = _basket_lists(data)
            cut = len(baskets) - round(len(baskets) * config.validation_share)
            train, held = baskets[:cut], baskets[cut:]
            if config.init == "cooccurrence":
                _start_from_cooccurrence(self.model, train, data.n_items, config.dim)
            self.fit_report = self._train(train, held)
            self.model.eval()
            self._state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        finally:
            torch.set_num_threads(previous_threads)

    def _train(self, train: list[np.ndarray], held: list[np.ndarray]) -> dict[str, float]:
        import torch

        config = self.config
        rng = np.random.default_rng(config.seed)
        optimiser = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate, weight_decay=0.01)
        # the validation batches are drawn once: the same hidden items every epoch
        held_batches = [_masked_batch(held[i:i + config.batch_size], config, np.random.default_rng(1))
                        for i in range(0, len(held), config.batch_size)]
        start = time.perf_counter()
        best, best_state, best_epoch, epochs = math.inf, None, 0, 0
        for epoch in range(1, config.max_epochs + 1):
            self.model.train()
            order = rng.permutation(len(train))
            for first in range(0, len(order), config.batch_size):
                tokens, targets = _masked_batch([train[i] for i in order[first:first + config.batch_size]],
                                                config, rng)
                loss = self._loss(tokens, targets)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            epochs = epoch
            if held_batches:
                self.model.eval()
                with torch.inference_mode():
                    losses = [float(self._loss(t, y)) for t, y in held_batches]
                score = float(np.mean(losses))
            else:  # too few baskets to hold any out: the last epoch is kept
                score = -epoch
            if score < best:
                best, best_epoch = score, epoch
                best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            if epoch - best_epoch >= config.patience or time.perf_counter() - start > config.max_train_seconds:
                break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        return {"epochs": float(epochs), "best_epoch": float(best_epoch), "seconds": time.perf_counter() - start,
                "validation_loss": best if held_batches else math.nan}

    def _loss(self, tokens: np.ndarray, targets: np.ndarray) -> Any:
        import torch
        from torch.nn import functional

        # scores only where an item is hidden: a fifth of the positions, not all of them
        hidden = self.model(torch.from_numpy(tokens))
        wanted = torch.from_numpy(targets)
        masked = wanted >= 0
        return functional.cross_entropy(self.model.logits(hidden[masked]), wanted[masked])

    def score(self, query: Query) -> np.ndarray:
        import torch

        data = self.require_fit()
        seeds = list(dict.fromkeys(self.seed_indices(query)))[-(self.config.max_items - 1):]
        if not seeds:
            return np.zeros(data.n_items)
        tokens = torch.tensor([[*(i + FIRST_ITEM for i in seeds), MASK]], dtype=torch.long)
        with torch.inference_mode():
            probs = torch.softmax(self.model.logits(self.model(tokens)[0, -1]), dim=-1).double().numpy()
        probs[seeds] = 0.0
        return without_tail(probs, data.n_items)

    def explain(self, query: Query, item_index: int) -> tuple[Evidence, ...]:
        probs = self.score(query)
        if probs[item_index] <= 0:
            return ()
        seeds = list(dict.fromkeys(self.seed_indices(query)))
        named = ", ".join(self.title(i) for i in seeds[:2]) + (" …" if len(seeds) > 2 else "")
        rank = int((probs > probs[item_index]).sum()) + 1
        return (Evidence("basket_model", f"shoppers whose baskets held {named} went on to add it "
                                         f"(rank {rank} of {len(probs):,})",
                         {"probability": float(probs[item_index]), "rank": float(rank)}),)

    def _new_model(self, n_items: int) -> Any:
        return _build_model(n_items, self.config)


def _start_from_cooccurrence(model: Any, baskets: list[np.ndarray], n_items: int, dim: int) -> None:
    """Item embeddings that start where counting leaves off: the top `dim` singular vectors
    of the items' positive pointwise mutual information over the training baskets, scaled
    to the random start's size. With output weights tied to them, the first epoch already
    ranks what is bought together; training then learns what counting cannot (which part of
    a basket predicts which). Items seen with nothing keep their random start."""
    import torch
    from scipy import sparse
    from scipy.sparse.linalg import svds

    if not baskets or dim >= n_items - 1:
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
    if keep.sum() < dim:
        return
    ppmi = sparse.csr_matrix((pmi[keep], (co.row[off][keep], co.col[off][keep])), shape=(n_items, n_items))
    vectors, values, _ = svds(ppmi, k=dim, random_state=0)
    start = vectors * np.sqrt(values)
    seen = np.abs(start).sum(axis=1) > 0
    start *= (dim ** -0.5) / max(float(start[seen].std()), 1e-12)
    with torch.no_grad():
        weight = model.items.weight
        weight[FIRST_ITEM:][torch.from_numpy(seen)] = torch.from_numpy(start[seen]).to(weight.dtype)


def _basket_lists(data: BasketData) -> list[np.ndarray]:
    """The training baskets (rows of `data.baskets`, in time order) with two or more items."""
    m = data.baskets
    out = []
    for row in range(m.shape[0]):
        items = m.indices[m.indptr[row]:m.indptr[row + 1]]
        if len(items) >= 2:
            out.append(items.astype(np.int64))
    return out


def _masked_batch(baskets: list[np.ndarray], config: BasketTransformerConfig,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, targets): each basket sampled down to `max_items`, `mask_share` of its items
    (at least one, never all) replaced by [MASK]; targets hold the hidden item's index at a
    masked position and -1 elsewhere."""
    width = min(config.max_items, max(len(b) for b in baskets))
    tokens = np.full((len(baskets), width), PAD, dtype=np.int64)
    targets = np.full((len(baskets), width), -1, dtype=np.int64)
    for row, basket in enumerate(baskets):
        items = rng.permutation(basket)[:width]
        share = rng.uniform(config.mask_share, config.mask_share_max) if config.mask_share_max > config.mask_share \
            else config.mask_share
        n_masked = min(len(items) - 1, max(1, round(len(items) * share)))
        tokens[row, :len(items)] = items + FIRST_ITEM
        tokens[row, :n_masked] = MASK
        targets[row, :n_masked] = items[:n_masked]
    return tokens, targets
