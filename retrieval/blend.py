"""The blended candidate generator: several sources, one ranking, weights learned honestly.

Each component's scores are normalised per query (divided by its best score, so every
source speaks on a 0..1 scale) and summed with weights. The weights are fitted by
coordinate ascent on NDCG@10 over a validation split carved from the *training* period
only (the last `validation_days`, or a random share of training baskets), with the
components fitted on what precedes it, each with the settings that scored best there
(`tuning.tune_sources`); then every component is refitted on the whole training period with
its chosen settings.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .catalog import BasketData, Catalog, Interactions
from .cf.basket_transformer import BasketTransformerSource
from .config import Config, check
from .evaluate import EvalCase, SplitConfig, split_interactions
from .records import Evidence, Query
from .sources import ScoringSource, query_mask
from .tuning import Settings, TuningConfig, tune_sources

log = logging.getLogger(__name__)
# Called with no argument for a source with its defaults, or with a mapping of settings.
SourceFactory = Callable[..., ScoringSource]


@dataclasses.dataclass(frozen=True)
class BlendConfig(Config):
    validation_days: int = 30
    validation_share: float = 0.15
    max_validation_baskets: int = 1500
    pool_depth: int = 100
    grid: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
    rounds: int = 3
    seed: int = 7

    def validate(self) -> None:
        check(self.validation_days >= 1, "blend.validation_days", "must be at least 1")
        check(0 < self.validation_share < 1, "blend.validation_share", "must be between 0 and 1")
        check(self.pool_depth >= 20, "blend.pool_depth", "must be at least 20")
        check(len(self.grid) >= 2 and min(self.grid) >= 0, "blend.grid", "needs 2+ non-negative weights")
        check(self.rounds >= 1, "blend.rounds", "must be at least 1")


class BlendSource(ScoringSource):
    name = "blend"

    def __init__(self, components: Sequence[ScoringSource],
                 weights: Sequence[float] | np.ndarray | None = None) -> None:
        super().__init__()
        self.components = list(components)
        self.weights = np.asarray(weights if weights is not None else [1.0] * len(components), dtype=np.float64)
        self.validation_ndcg: float | None = None
        self.tuning: dict[str, dict[str, Any]] = {}  # per source: the settings tried and chosen
        self.fit_seconds: dict[str, float] = {}
        self._cache: dict[Query, list[np.ndarray]] = {}

    def clear_cache(self) -> None:
        """Forget cached component scores (after a component learned from new orders)."""
        self._cache = {}

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    def _fit(self, data: BasketData) -> None:
        for component in self.components:
            began = time.perf_counter()
            component.fit(data)
            self.fit_seconds[component.name] = time.perf_counter() - began

    def component_scores(self, query: Query, weights: np.ndarray | None = None) -> list[np.ndarray]:
        cached = self._cache.get(query)
        if cached is not None:
            return cached
        normalised = []
        for component, weight in zip(self.components, self.weights if weights is None else weights, strict=True):
            if weight <= 0:
                normalised.append(np.zeros(len(self.catalog)))
                continue
            normalised.append(_normalise(component.score(query)))
        if len(self._cache) >= 4:  # explain() after score() reuses; a few queries may interleave
            self._cache.pop(next(iter(self._cache)))
        self._cache[query] = normalised
        return normalised

    def next_purchase_component(self, query: Query) -> ScoringSource | None:
        """The component that answers a known customer with an empty cart (no seed items, no
        words): the sequence model, which reads their earlier baskets in order and what they
        buy again, where it has anything to say for them. The blend's weights were learnt on
        carts, not on this question (`bench/bench_next_purchase.py` measures it)."""
        if query.seed_items or query.text or query.user_id is None:
            return None
        # asked on every blend query: the customer's history is looked up, not scored
        return next((c for c in self.components if isinstance(c, BasketTransformerSource) and c.knows_history(query)),
                    None)

    def _weights_for(self, query: Query) -> np.ndarray:
        chosen = self.next_purchase_component(query)
        if chosen is None:
            return self.weights
        return np.array([1.0 if c is chosen else 0.0 for c in self.components])

    def score(self, query: Query) -> np.ndarray:
        weights = self._weights_for(query)
        parts = self.component_scores(query, weights)
        total = np.zeros(len(self.catalog))
        for part, weight in zip(parts, weights, strict=True):
            if weight > 0:
                total += weight * part
        return total

    def explain(self, query: Query, item_index: int) -> tuple[Evidence, ...]:
        weights = self._weights_for(query)
        parts = self.component_scores(query, weights)
        contributions = sorted(
            ((w * p[item_index], c) for p, w, c in zip(parts, weights, self.components, strict=True)
             if w > 0 and p[item_index] > 0),
            key=lambda pair: -pair[0],
        )
        evidence: list[Evidence] = []
        for _, component in contributions[:3]:
            evidence.extend(component.explain(query, item_index)[:1])
        return tuple(evidence)

    def describe(self) -> dict[str, float]:
        return {c.name: float(w) for c, w in zip(self.components, self.weights, strict=True)}

    def settings(self) -> dict[str, Any]:
        """Each component's chosen settings ({} : its defaults)."""
        return {name: report.get("chosen", {}) for name, report in self.tuning.items()}


def _normalise(scores: np.ndarray) -> np.ndarray:
    scores = np.where(np.isfinite(scores) & (scores > 0), scores, 0.0)
    top = scores.max(initial=0.0)
    return scores / top if top > 0 else scores


def fit_blend(
    catalog: Catalog,
    train: Interactions,
    factories: dict[str, SourceFactory],
    config: BlendConfig | None = None,
    *,
    split_kind: str = "time",
    min_items: int = 4,
    tuning: TuningConfig | None = None,
) -> BlendSource:
    """Choose each source's settings and the blend weights on a validation split of `train`,
    then fit on all of `train`."""
    config = config or BlendConfig()
    names = list(factories)
    val_split = _validation_split(catalog, train, config, split_kind, min_items)
    inner = BasketData.build(catalog, val_split.train)
    makers = {n: functools.partial(_made, factories[n]) for n in names}
    tuned = tune_sources(makers, inner, val_split.cases, tuning)
    components = [tuned[n].fitted for n in names]
    weights, ndcg = _search_weights(catalog, [c for c in components if c is not None], val_split.cases, config)
    log.info("blend weights %s (validation NDCG@10 %.4f on %d baskets)",
             dict(zip(names, weights, strict=True)), ndcg, len(val_split.cases))
    blend = BlendSource([_made(factories[n], tuned[n].chosen) for n in names], weights)
    blend.fit(BasketData.build(catalog, train))
    blend.validation_ndcg = ndcg
    blend.tuning = {n: tuned[n].to_json() for n in names}
    return blend


def _made(factory: SourceFactory, settings: Settings | None = None) -> ScoringSource:
    return factory(settings) if settings else factory()


def _validation_split(catalog: Catalog, train: Interactions, config: BlendConfig, split_kind: str,
                      min_items: int):
    stamps = train.frame["timestamp"]
    if split_kind == "time" and stamps.notna().any():
        # The last `validation_days`, but never more than `validation_share` of the baskets,
        # so a short history still leaves most of itself for fitting.
        basket_start = train.frame.groupby("basket_id")["timestamp"].min()
        cutoff_time = max(stamps.max() - pd.Timedelta(days=config.validation_days),
                          basket_start.quantile(1 - config.validation_share))
        cutoff = cutoff_time.strftime("%Y-%m-%d %H:%M:%S")
        split_config = SplitConfig(kind="time", date=cutoff, min_items=min_items, seed=config.seed,
                                   max_test_baskets=config.max_validation_baskets)
    else:
        split_config = SplitConfig(kind="random", test_share=config.validation_share, min_items=min_items,
                                   seed=config.seed, max_test_baskets=config.max_validation_baskets)
    return split_interactions(catalog, train, split_config)


def _search_weights(catalog: Catalog, components: list[ScoringSource], cases: list[EvalCase],
                    config: BlendConfig) -> tuple[np.ndarray, float]:
    """Coordinate ascent over a weight grid, on per-case candidate pools (fast, exact NDCG@10)."""
    pools = [_case_pool(catalog, components, case, config.pool_depth) for case in cases]

    def mean_ndcg(weights: np.ndarray) -> float:
        total = 0.0
        for scores, relevant, ideal in pools:
            combined = scores @ weights
            if not combined.any():
                continue
            order = np.argsort(-combined, kind="stable")[:10]
            gains = relevant[order] & (combined[order] > 0)
            total += float((gains / np.log2(np.arange(2, len(order) + 2))).sum()) / ideal
        return total / max(1, len(pools))

    weights = np.ones(len(components))
    best = mean_ndcg(weights)
    for _ in range(config.rounds):
        improved = False
        for j in range(len(components)):
            for value in config.grid:
                trial = weights.copy()
                trial[j] = value
                if not trial.any():
                    continue
                score = mean_ndcg(trial)
                if score > best + 1e-9:
                    best, weights, improved = score, trial, True
        if not improved:
            break
    return weights, best


def _case_pool(catalog: Catalog, components: list[ScoringSource], case: EvalCase, depth: int):
    allowed = query_mask(catalog, case.query)
    normalised = [np.where(allowed, _normalise(c.score(case.query)), 0.0) for c in components]
    pool: set[int] = set()
    for scores in normalised:
        positive = np.flatnonzero(scores > 0)
        if len(positive) > depth:
            positive = positive[np.argpartition(-scores[positive], depth - 1)[:depth]]
        pool.update(positive.tolist())
    index = np.array(sorted(pool), dtype=np.int64)
    matrix = np.stack([s[index] for s in normalised], axis=1) if len(index) else np.zeros((0, len(components)))
    hidden = set(catalog.indices(case.hidden, strict=False))
    relevant = np.array([i in hidden for i in index], dtype=bool)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(10, len(case.hidden))))
    return matrix, relevant, ideal
