"""User-to-user kNN ("bought by 14 of 50 shoppers with a similar basket").

The query profile (seeds, plus the known user's history) is compared by cosine with every
shopper's (binary or tf-idf weighted) purchase vector; the `neighbours` most similar shoppers
vote for what they bought, weighted by similarity. Without user ids, baskets play the shoppers.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

from ..catalog import BasketData
from ..config import Config, check
from ..records import Evidence, Query
from ._common import CFSource, binary, combine_rows, n_


@dataclasses.dataclass(frozen=True)
class UserKNNConfig(Config):
    """neighbours: shoppers consulted per query; weighting: 'tfidf' lets rare shared items count
    more than everyday ones; unit: who the neighbours are ('auto' = users when the data has
    user ids, else baskets); use_history / history_weight: add the known user's past purchases
    to the profile (weighing `history_weight` in all, compared with 1 per seed)."""

    neighbours: int = 100
    weighting: Literal["binary", "tfidf"] = "tfidf"
    unit: Literal["auto", "users", "baskets"] = "auto"
    use_history: bool = True
    history_weight: float = 1.0

    def validate(self) -> None:
        check(self.neighbours >= 1, "user_knn.neighbours", "must be at least 1")
        check(self.weighting in ("binary", "tfidf"), "user_knn.weighting", "must be 'binary' or 'tfidf'")
        check(
            self.unit in ("auto", "users", "baskets"),
            "user_knn.unit",
            "must be 'auto', 'users' or 'baskets'",
        )
        check(self.history_weight >= 0, "user_knn.history_weight", "must be >= 0")


class UserKNNSource(CFSource):
    """Recommends what the shoppers (or baskets) most like the query bought."""

    name = "user_knn"
    config_class = UserKNNConfig
    config: UserKNNConfig

    def __init__(self, config: UserKNNConfig | None = None) -> None:
        super().__init__(config)
        self._cache: tuple[Any, ...] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

    def _fit(self, data: BasketData) -> None:
        unit = self.config.unit
        if unit == "auto":
            unit = "users" if data.user_items.shape[0] > 0 and data.user_items.nnz > 0 else "baskets"
        self.unit = unit
        matrix = binary(data.user_items if unit == "users" else data.baskets)
        self.bought = matrix  # units × items, 1 where the unit bought the item
        n_units = matrix.shape[0]
        df = np.bincount(matrix.indices, minlength=data.n_items).astype(np.float64)
        if self.config.weighting == "tfidf":
            self.item_weight = np.where(df > 0, np.log((1.0 + n_units) / (1.0 + df)) + 1.0, 0.0)
        else:
            self.item_weight = np.ones(data.n_items, dtype=np.float64)
        weighted = matrix.multiply(self.item_weight[None, :]).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        weighted = weighted.multiply((1.0 / np.maximum(norms, 1e-12))[:, None]).tocsr()
        self.item_units = weighted.T.tocsr().astype(np.float32)  # items × units, unit-normalised
        self.item_units.sort_indices()
        self._cache = None

    def _own_units(self, query: Query) -> np.ndarray:
        """Rows that are the query user themself (their own row or baskets): never neighbours."""
        row = self.user_row(query)
        if row is None:
            return np.empty(0, dtype=np.int64)
        if self.unit == "users":
            return np.array([row], dtype=np.int64)
        return np.flatnonzero(self.require_fit().basket_users == row)

    def find_neighbours(self, query: Query) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(neighbour rows, their cosine similarities, per-item count of neighbours who bought it)."""
        key = (query.seed_items, query.user_id)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2], self._cache[3]
        data = self.require_fit()
        items, weights = self.profile(
            query, use_history=self.config.use_history, history_weight=self.config.history_weight
        )
        weights = weights * self.item_weight[items]
        if len(items) == 0 or not np.any(weights > 0):
            rows = np.empty(0, dtype=np.int64)
            sims = np.empty(0, dtype=np.float64)
        else:
            query_norm = float(np.sqrt(np.sum(np.bincount(items, weights, data.n_items) ** 2)))
            all_sims = combine_rows(self.item_units, items, weights / query_norm)
            all_sims[self._own_units(query)] = 0.0
            positive = int(np.count_nonzero(all_sims > 0))
            k = min(self.config.neighbours, positive)
            if k == 0:
                rows = np.empty(0, dtype=np.int64)
            else:
                rows = np.argpartition(-all_sims, k - 1)[:k]
                rows = rows[np.lexsort((rows, -all_sims[rows]))]
            sims = all_sims[rows]
        counts = combine_rows(self.bought, rows, np.ones(len(rows)))
        self._cache = (key, rows, sims, counts)
        return rows, sims, counts

    def score(self, query: Query) -> np.ndarray:
        rows, sims, _ = self.find_neighbours(query)
        return combine_rows(self.bought, rows, sims)

    def explain(self, query: Query, item_index: int) -> tuple[Evidence, ...]:
        rows, sims, counts = self.find_neighbours(query)
        voters = float(counts[item_index])
        if voters <= 0:
            return ()
        who = "shoppers with a similar basket" if self.unit == "users" else "similar baskets"
        text = (
            f"bought by {n_(voters)} of {n_(len(rows))} {who}"
            if self.unit == "users"
            else f"in {n_(voters)} of {n_(len(rows))} {who}"
        )
        buyers = self.item_units.indices[
            self.item_units.indptr[item_index] : self.item_units.indptr[item_index + 1]
        ]  # sorted units that bought the item
        pos = np.minimum(np.searchsorted(buyers, rows), max(len(buyers) - 1, 0))
        bought = buyers[pos] == rows if len(buyers) else np.zeros(len(rows), dtype=bool)
        numbers = {
            "neighbours_bought": voters,
            "neighbours": float(len(rows)),
            "share": voters / max(len(rows), 1),
            "weighted_votes": float(sims[bought].sum()),
            "mean_similarity": float(sims[bought].mean()) if bought.any() else 0.0,
        }
        return (Evidence("similar_shoppers", text, numbers),)
