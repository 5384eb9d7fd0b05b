"""A Transformer next-item model (SASRec-style) as one more candidate source.

Each user's purchase history (or, without users, each basket in cart order) is a sequence
of items. A small causal Transformer learns to predict the next item from the previous
ones (full softmax over the catalog, sequences cut to `max_length`). At query time the
seed items (the cart, in order) are the sequence, optionally preceded by the known user's
history, and the output distribution over the catalog is the score.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np

from ..catalog import BasketData
from ..config import Config, check
from ..records import Evidence, Query
from ._common import TorchModelSource, without_tail


@dataclasses.dataclass(frozen=True)
class NextItemConfig(Config):
    dim: int = 64
    layers: int = 2
    heads: int = 2
    max_length: int = 30
    dropout: float = 0.2
    epochs: int = 12
    batch_size: int = 128
    learning_rate: float = 2e-3
    max_train_seconds: float = 120.0
    use_history: bool = True
    seed: int = 0
    threads: int = 2

    def validate(self) -> None:
        check(self.dim >= 8 and self.dim % self.heads == 0, "next_item.dim", "must be >= 8 and divisible by heads")
        check(self.layers >= 1, "next_item.layers", "must be at least 1")
        check(self.max_length >= 2, "next_item.max_length", "must be at least 2")
        check(0 <= self.dropout < 1, "next_item.dropout", "must be in [0, 1)")
        check(self.epochs >= 1, "next_item.epochs", "must be at least 1")
        check(self.max_train_seconds > 0, "next_item.max_train_seconds", "must be positive")


def _build_model(n_items: int, config: NextItemConfig) -> Any:
    import torch
    from torch import nn

    class NextItemTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # index 0 is padding; item i is token i + 1
            self.items = nn.Embedding(n_items + 1, config.dim, padding_idx=0)
            self.positions = nn.Embedding(config.max_length, config.dim)
            layer = nn.TransformerEncoderLayer(config.dim, config.heads, 2 * config.dim, config.dropout,
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(config.dim)
            mask = torch.triu(torch.ones(config.max_length, config.max_length, dtype=torch.bool), 1)
            self.causal: torch.Tensor
            self.register_buffer("causal", mask, persistent=False)
            # Small output logits at the start: unit-scale embeddings would give a loss far
            # above log(n_items) that a few hundred steps cannot undo.
            nn.init.normal_(self.items.weight, std=config.dim**-0.5)
            nn.init.normal_(self.positions.weight, std=0.02)

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            length = tokens.shape[1]
            pos = torch.arange(length, device=tokens.device)
            hidden = self.items(tokens) + self.positions(pos)[None]
            # Left padding + a causal mask: no padding mask needed (a fully masked row is NaN).
            hidden = self.encoder(hidden, mask=self.causal[:length, :length])
            hidden = self.norm(hidden)
            return hidden @ self.items.weight[1:].T  # logits over real items

    return NextItemTransformer()


class NextItemSource(TorchModelSource):
    name = "next_item"
    config_class = NextItemConfig

    def _fit(self, data: BasketData) -> None:
        import torch

        config: NextItemConfig = self.config
        torch.manual_seed(config.seed)
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(config.threads)
        try:
            self.model = self._new_model(data.n_items)
            windows = self._windows(data.sequences, config.max_length)
            self.train_seconds, self.train_loss = self._train(windows, config) if len(windows) else (0.0, float("nan"))
            self.model.eval()
            self._state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        finally:
            torch.set_num_threads(previous_threads)

    @staticmethod
    def _windows(sequences: list[np.ndarray], length: int) -> np.ndarray:
        """Left-padded token windows (item index + 1) of up to `length + 1` tokens."""
        rows = []
        for seq in sequences:
            tokens = seq.astype(np.int64) + 1
            if len(tokens) < 2:
                continue
            for end in range(len(tokens), 1, -length):
                window = tokens[max(0, end - length - 1): end]
                rows.append(np.pad(window, (length + 1 - len(window), 0)))
        return np.array(rows, dtype=np.int64).reshape(-1, length + 1)

    def _train(self, windows: np.ndarray, config: NextItemConfig) -> tuple[float, float]:
        import torch
        from torch.nn import functional

        optimiser = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate, weight_decay=0.01)
        rng = np.random.default_rng(config.seed)
        data = torch.from_numpy(windows)
        start = time.perf_counter()
        loss_value = float("nan")
        self.model.train()
        for _ in range(config.epochs):
            for batch_ids in np.array_split(rng.permutation(len(data)), max(1, math.ceil(len(data) / config.batch_size))):
                batch = data[batch_ids]
                inputs, targets = batch[:, :-1], batch[:, 1:] - 1  # -1 = padding target, ignored
                logits = self.model(inputs)
                loss = functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                                ignore_index=-1)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                loss_value = float(loss.detach())
            if time.perf_counter() - start > config.max_train_seconds:
                break
        return time.perf_counter() - start, loss_value

    def _sequence(self, query: Query) -> list[int]:
        config: NextItemConfig = self.config
        sequence = list(self.history_indices(query)) if config.use_history else []
        sequence += self.seed_indices(query)
        return sequence[-config.max_length:]

    def score(self, query: Query) -> np.ndarray:
        import torch

        data = self.require_fit()
        sequence = self._sequence(query)
        if not sequence:
            return np.zeros(data.n_items)
        # Left-padded to the training window length: positions must mean what they meant in training.
        config: NextItemConfig = self.config
        padded = [0] * (config.max_length - len(sequence)) + [i + 1 for i in sequence]
        tokens = torch.tensor([padded], dtype=torch.long)
        with torch.inference_mode():
            logits = self.model(tokens)[0, -1]
            probs = torch.softmax(logits, dim=-1).double().numpy()
        return without_tail(probs, data.n_items)

    def explain(self, query: Query, item_index: int) -> tuple[Evidence, ...]:
        probs = self.score(query)
        sequence = self._sequence(query)
        last = self.catalog.items[sequence[-1]].title if sequence else "your basket"
        rank = int((probs > probs[item_index]).sum()) + 1
        return (Evidence("next_item", f"often the next purchase after {last} (rank {rank} of {len(probs):,})",
                         {"probability": float(probs[item_index]), "rank": float(rank)}),)

    def _new_model(self, n_items: int) -> Any:
        return _build_model(n_items, self.config)
