"""Matrix-factorisation sources on `implicit`: ALS (implicit feedback) and BPR (pairwise ranking).

Both train on the user×item matrix when the data has user ids, else on basket×item. A query is
turned into a taste vector in factor space: ALS folds the seeds in by the closed-form weighted
least squares that ALS itself uses for a user row; BPR averages the seed items' factors. A known
user's own vector is added (times `history_weight`). Scores are the dot products with the item
factors, clipped at 0 (a negative match is "no opinion", never a recommendation).
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Literal

import numpy as np
import threadpoolctl
from scipy import sparse

from ..catalog import BasketData
from ..config import Config, check
from ..records import Evidence, Query
from ._common import CFSource, binary, join_titles

_UNITS = ("auto", "users", "baskets")


def _check_common(cfg: ALSConfig | BPRConfig, prefix: str) -> None:
    check(cfg.factors >= 1, f"{prefix}.factors", "must be at least 1")
    check(cfg.iterations >= 1, f"{prefix}.iterations", "must be at least 1")
    check(cfg.regularization >= 0, f"{prefix}.regularization", "must be >= 0")
    check(cfg.unit in _UNITS, f"{prefix}.unit", "must be 'auto', 'users' or 'baskets'")
    check(cfg.history_weight >= 0, f"{prefix}.history_weight", "must be >= 0")
    check(cfg.num_threads >= 1, f"{prefix}.num_threads", "must be at least 1 (0 = all cores is refused)")


@dataclasses.dataclass(frozen=True)
class ALSConfig(Config):
    """factors / regularization / iterations: the ALS model; alpha: confidence of a purchase
    (the weight of a bought item vs 1 for the rest); confidence: 'binary' or 'log_count'
    (1 + ln(times bought)); unit: train on users ('auto' when ids exist) or baskets;
    history_weight: weight of the known user's own vector next to the seeds'."""

    factors: int = 128
    regularization: float = 0.05
    iterations: int = 15
    alpha: float = 10.0
    confidence: Literal["binary", "log_count"] = "binary"
    unit: Literal["auto", "users", "baskets"] = "auto"
    use_history: bool = True
    history_weight: float = 0.5
    num_threads: int = 1
    random_state: int = 42

    def validate(self) -> None:
        _check_common(self, "als")
        check(self.alpha > 0, "als.alpha", "must be > 0")
        check(self.confidence in ("binary", "log_count"), "als.confidence", "must be 'binary' or 'log_count'")


@dataclasses.dataclass(frozen=True)
class BPRConfig(Config):
    """factors / learning_rate / regularization / iterations: the BPR model (SGD epochs);
    bias_weight: how much the learnt item bias (mostly popularity) adds to a seed-only query;
    unit and history_weight as for ALS."""

    factors: int = 64
    learning_rate: float = 0.05
    regularization: float = 0.01
    iterations: int = 50
    bias_weight: float = 1.0
    unit: Literal["auto", "users", "baskets"] = "auto"
    use_history: bool = True
    history_weight: float = 0.5
    num_threads: int = 1
    random_state: int = 42

    def validate(self) -> None:
        _check_common(self, "bpr")
        check(self.learning_rate > 0, "bpr.learning_rate", "must be > 0")
        check(self.bias_weight >= 0, "bpr.bias_weight", "must be >= 0")


class _FactorSource(CFSource):
    """Shared query logic: a taste vector from seeds and the known user, dot item factors."""

    config: ALSConfig | BPRConfig
    _cache: tuple[Any, ...] | None = None  # (query key, taste vector, bias weight)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_cache", None)
        return state

    def _training_matrix(self, data: BasketData) -> sparse.csr_matrix:
        unit = self.config.unit
        if unit == "auto":
            unit = "users" if data.user_items.shape[0] > 0 and data.user_items.nnz > 0 else "baskets"
        self.unit = unit
        self._cache = None
        return sparse.csr_matrix(data.user_items if unit == "users" else data.baskets, dtype=np.float32)

    # Implemented by ALS / BPR.
    item_vectors: np.ndarray  # items × factors (without BPR's bias column)
    item_bias: np.ndarray  # per item, 0 for ALS

    @abc.abstractmethod
    def seed_vector(self, seeds: np.ndarray) -> np.ndarray:
        """The taste vector implied by these seed items."""

    @abc.abstractmethod
    def user_vector(self, query: Query) -> np.ndarray | None:
        """The known user's factors, or None."""

    def taste(self, query: Query) -> tuple[np.ndarray | None, float]:
        """(taste vector, weight of the item bias) for the query, or (None, 0) with no opinion."""
        key = (query.seed_items, query.user_id)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        vector, bias = self._taste(query)
        self._cache = (key, vector, bias)
        return vector, bias

    def _taste(self, query: Query) -> tuple[np.ndarray | None, float]:
        seeds = np.unique(np.asarray(self.seed_indices(query), dtype=np.int64))
        vector = self.seed_vector(seeds) if len(seeds) else None
        bias = getattr(self.config, "bias_weight", 0.0) if vector is not None else 0.0
        if self.config.use_history and self.config.history_weight > 0:
            user = self.user_vector(query)
            if user is not None:
                w = self.config.history_weight
                vector = w * user if vector is None else vector + w * user
                bias += w
        return vector, bias

    def score(self, query: Query) -> np.ndarray:
        self.require_fit()
        vector, bias = self.taste(query)
        if vector is None:
            return np.zeros(len(self.item_vectors), dtype=np.float64)
        raw = (self.item_vectors @ vector.astype(np.float32)).astype(np.float64)
        if bias:
            raw += bias * self.item_bias
        return np.maximum(raw, 0.0)

    def _closest(self, anchors: np.ndarray, item_index: int, k: int = 2) -> list[tuple[int, float]]:
        """The anchors whose factors point most like the item's (cosine), best first."""
        if len(anchors) == 0:
            return []
        vecs = self.item_vectors[anchors].astype(np.float64)
        target = self.item_vectors[item_index].astype(np.float64)
        denom = np.linalg.norm(vecs, axis=1) * np.linalg.norm(target)
        cos = (vecs @ target) / np.maximum(denom, 1e-12)
        order = np.lexsort((anchors, -cos))[:k]
        return [(int(anchors[i]), float(cos[i])) for i in order if cos[i] > 0]

    def explain(self, query: Query, item_index: int) -> tuple[Evidence, ...]:
        vector, bias = self.taste(query)
        if vector is None:
            return ()
        raw = float(self.item_vectors[item_index] @ vector.astype(np.float32))
        score = max(raw + bias * float(self.item_bias[item_index]), 0.0)
        numbers = {"score": score, "factors": float(self.item_vectors.shape[1])}
        seeds = np.unique(np.asarray(self.seed_indices(query), dtype=np.int64))
        closest = self._closest(seeds, item_index)
        if closest:
            titles = join_titles([self.title(i) for i, _ in closest])
            text = f"matches the taste of shoppers who buy {titles} (match {score:.2f})"
        else:
            closest = self._closest(self.history_indices(query), item_index)
            titles = join_titles([self.title(i) for i, _ in closest])
            text = (
                f"matches your taste, going by past purchases such as {titles} (match {score:.2f})"
                if closest
                else f"matches the taste profile of your basket (match {score:.2f})"
            )
        if closest:
            numbers["similarity"] = closest[0][1]
            numbers["anchor_index"] = float(closest[0][0])
        return (Evidence("taste_profile", text, numbers),)


class ALSSource(_FactorSource):
    """implicit's AlternatingLeastSquares; queries folded in by the exact ALS user solve."""

    name = "als"
    config_class = ALSConfig
    config: ALSConfig

    def _fit(self, data: BasketData) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        cfg = self.config
        matrix = self._training_matrix(data)
        matrix.sum_duplicates()
        if cfg.confidence == "binary":
            matrix = binary(matrix)
        else:
            matrix = matrix.copy()
            matrix.data = (1.0 + np.log(np.maximum(matrix.data, 1.0))).astype(np.float32)
        n_units, n_items = matrix.shape
        if matrix.nnz == 0:
            self.item_vectors = np.zeros((n_items, cfg.factors), dtype=np.float32)
            self.user_factors = np.zeros((n_units, cfg.factors), dtype=np.float32)
        else:
            with threadpoolctl.threadpool_limits(1, "blas"):
                model = AlternatingLeastSquares(
                    factors=cfg.factors,
                    regularization=cfg.regularization,
                    alpha=cfg.alpha,
                    iterations=cfg.iterations,
                    num_threads=cfg.num_threads,
                    random_state=cfg.random_state,
                )
                model.fit(matrix, show_progress=False)
            self.item_vectors = np.asarray(model.item_factors, dtype=np.float32)
            self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_bias = np.zeros(n_items, dtype=np.float64)
        y = self.item_vectors.astype(np.float64)
        self.gram = y.T @ y + cfg.regularization * np.eye(cfg.factors)  # YtY + λI

    def fold_in(self, items: np.ndarray, values: np.ndarray) -> np.ndarray:
        """ALS's user solve: x = (YᵀY + λI + Σ (c_i − 1) y_i y_iᵀ)⁻¹ Σ c_i y_i, c_i = alpha · value."""
        y = self.item_vectors[items].astype(np.float64)
        conf = self.config.alpha * np.asarray(values, dtype=np.float64)
        a = self.gram + (y * (conf - 1.0)[:, None]).T @ y
        b = y.T @ conf
        try:
            return np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            return np.linalg.lstsq(a, b, rcond=None)[0]

    def seed_vector(self, seeds: np.ndarray) -> np.ndarray:
        return self.fold_in(seeds, np.ones(len(seeds)))

    def user_vector(self, query: Query) -> np.ndarray | None:
        row = self.user_row(query)
        if row is None:
            return None
        if self.unit == "users":
            return self.user_factors[row].astype(np.float64)
        history = self.history_indices(query)  # trained on baskets: fold the history in
        return self.fold_in(history, np.ones(len(history))) if len(history) else None


class BPRSource(_FactorSource):
    """implicit's BayesianPersonalizedRanking; a query's taste is the mean of its seeds' factors."""

    name = "bpr"
    config_class = BPRConfig
    config: BPRConfig

    def _fit(self, data: BasketData) -> None:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        cfg = self.config
        matrix = binary(self._training_matrix(data))
        n_units, n_items = matrix.shape
        if matrix.nnz == 0:
            item_factors = np.zeros((n_items, cfg.factors + 1), dtype=np.float32)
            user_factors = np.zeros((n_units, cfg.factors + 1), dtype=np.float32)
        else:
            with threadpoolctl.threadpool_limits(1, "blas"):
                model = BayesianPersonalizedRanking(
                    factors=cfg.factors,
                    learning_rate=cfg.learning_rate,
                    regularization=cfg.regularization,
                    iterations=cfg.iterations,
                    num_threads=cfg.num_threads,
                    random_state=cfg.random_state,
                )
                model.fit(matrix, show_progress=False)
            item_factors = np.asarray(model.item_factors, dtype=np.float32)
            user_factors = np.asarray(model.user_factors, dtype=np.float32)
        # implicit appends a bias column: items carry the bias, users a constant 1.
        self.item_vectors = np.ascontiguousarray(item_factors[:, :-1])
        self.item_bias = item_factors[:, -1].astype(np.float64)
        self.user_factors = np.ascontiguousarray(user_factors[:, :-1])

    def seed_vector(self, seeds: np.ndarray) -> np.ndarray:
        return self.item_vectors[seeds].astype(np.float64).mean(axis=0)

    def user_vector(self, query: Query) -> np.ndarray | None:
        row = self.user_row(query)
        if row is None:
            return None
        if self.unit == "users":
            return self.user_factors[row].astype(np.float64)
        history = self.history_indices(query)
        return self.seed_vector(history) if len(history) else None
