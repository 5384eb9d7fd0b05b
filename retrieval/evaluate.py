"""Basket-completion evaluation: split, hide half of each test basket, rank, score.

Protocol (the issue's benchmark): train on the training period (or a random share of
baskets), keep test baskets with at least `min_items` distinct items, reveal a random
`seed_fraction` of each (fixed seed) as the query's seed items, and ask each source to
rank the whole catalog for the rest. Revealed items are never counted as hits.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .catalog import Catalog, Interactions
from .config import Config, check
from .errors import ConfigError
from .records import Query
from .sources import CandidateSource, ScoringSource, query_mask, top_k

METRIC_KS = (10, 20)


@dataclasses.dataclass(frozen=True)
class SplitConfig(Config):
    kind: str = "time"  # "time" or "random"
    date: str = "2011-10-01"
    test_share: float = 0.2
    min_items: int = 4
    seed_fraction: float = 0.5
    seed: int = 13
    max_test_baskets: int | None = None

    def validate(self) -> None:
        check(self.kind in ("time", "random"), "split.kind", "must be 'time' or 'random'")
        check(0 < self.test_share < 1, "split.test_share", "must be between 0 and 1")
        check(0 < self.seed_fraction < 1, "split.seed_fraction", "must be between 0 and 1")
        check(self.min_items >= 2, "split.min_items", "must be at least 2")
        if self.kind == "time":
            try:
                pd.Timestamp(self.date)
            except ValueError as exc:
                raise ConfigError(f"split.date: {self.date!r} is not a date (YYYY-MM-DD)") from exc

    @classmethod
    def parse(cls, spec: str, **overrides: object) -> SplitConfig:
        """From the CLI: 'time:2011-10-01' or 'random'."""
        kind, _, arg = spec.partition(":")
        if kind == "time":
            return cls.from_dict({"kind": "time", **({"date": arg} if arg else {}), **overrides})
        if kind == "random" and not arg:
            return cls.from_dict({"kind": "random", **overrides})
        raise ConfigError(f"--split {spec!r}: expected time:YYYY-MM-DD or random")


@dataclasses.dataclass(frozen=True)
class EvalCase:
    basket_id: str
    query: Query
    hidden: frozenset[str]


@dataclasses.dataclass
class Split:
    train: Interactions
    cases: list[EvalCase]
    description: str


def split_interactions(catalog: Catalog, interactions: Interactions, config: SplitConfig) -> Split:
    frame = interactions.frame
    if config.kind == "time":
        if frame["timestamp"].isna().all():
            raise ConfigError("split time: the interactions have no timestamps; use --split random")
        cutoff = pd.Timestamp(config.date)
        basket_time = frame.groupby("basket_id")["timestamp"].min()
        test_ids = set(basket_time.index[basket_time >= cutoff])
        description = f"time split at {config.date}"
    else:
        ids = np.array(sorted(frame["basket_id"].unique()))
        rng = np.random.default_rng(config.seed)
        n_test = round(len(ids) * config.test_share)
        test_ids = set(rng.choice(ids, size=n_test, replace=False).tolist())
        description = f"random split ({config.test_share:.0%} of baskets, seed {config.seed})"
    in_test = frame["basket_id"].isin(test_ids).to_numpy()
    train = Interactions(frame[~in_test].copy())
    if len(train) == 0:
        raise ConfigError(f"{description}: no training interactions")
    test = frame[in_test]
    train_users = set(train.frame["user_id"].dropna().astype(str))
    cases = _make_cases(test, train_users, config)
    if not cases:
        raise ConfigError(f"{description}: no test basket has {config.min_items}+ distinct items")
    return Split(train, cases, description)


def _make_cases(test: pd.DataFrame, train_users: set[str], config: SplitConfig) -> list[EvalCase]:
    rng = np.random.default_rng(config.seed)
    cases = []
    grouped = test.groupby("basket_id", sort=True)
    for basket_id, lines in grouped:
        items = sorted(dict.fromkeys(lines["item_id"].astype(str)))
        if len(items) < config.min_items:
            continue
        order = rng.permutation(len(items))
        n_seed = min(len(items) - 1, max(1, round(len(items) * config.seed_fraction)))
        seeds = tuple(items[i] for i in order[:n_seed])
        hidden = frozenset(items[i] for i in order[n_seed:])
        user = lines["user_id"].dropna()
        user_id = str(user.iloc[0]) if len(user) and str(user.iloc[0]) in train_users else None
        cases.append(EvalCase(str(basket_id), Query(seed_items=seeds, user_id=user_id), hidden))
    if config.max_test_baskets is not None and len(cases) > config.max_test_baskets:
        keep = np.sort(rng.choice(len(cases), size=config.max_test_baskets, replace=False))
        cases = [cases[i] for i in keep]
    return cases


def ranking_metrics(ranked: Sequence[str], hidden: frozenset[str], ks: Iterable[int] = METRIC_KS) -> dict[str, float]:
    """Recall@k, HitRate@k, Precision@k, F1@k, NDCG@k for one basket (binary relevance)."""
    out: dict[str, float] = {}
    for k in ks:
        top = ranked[:k]
        hits = [1.0 if item in hidden else 0.0 for item in top]
        n_hit = sum(hits)
        recall = n_hit / len(hidden)
        precision = n_hit / k
        dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(hidden))))
        out[f"recall@{k}"] = recall
        out[f"precision@{k}"] = precision
        out[f"hit_rate@{k}"] = 1.0 if n_hit else 0.0
        out[f"f1@{k}"] = 0.0 if n_hit == 0 else 2 * precision * recall / (precision + recall)
        out[f"ndcg@{k}"] = dcg / ideal
    return out


@dataclasses.dataclass
class MethodResult:
    name: str
    metrics: dict[str, float]
    seconds_per_query: float


def ranked_ids(source: CandidateSource, query: Query, depth: int) -> list[str]:
    """The ids `source` ranks first for `query`: for a scoring source, the same ranking as
    recommend() without building evidence nobody reads here."""
    if isinstance(source, ScoringSource):
        chosen = top_k(source.score(query), query_mask(source.catalog, query), depth)
        return [source.catalog.items[i].item_id for i in chosen]
    return [c.item_id for c in source.recommend(query, depth)]


def evaluate_source(
    source: CandidateSource,
    cases: Sequence[EvalCase],
    catalog_size: int,
    *,
    ks: Sequence[int] = METRIC_KS,
    progress: Callable[[int], None] | None = None,
) -> MethodResult:
    depth = max(ks)
    sums: dict[str, float] = {}
    shown: set[str] = set()
    start = time.perf_counter()
    for n, case in enumerate(cases, start=1):
        ranked = ranked_ids(source, case.query, depth)
        shown.update(ranked[: min(ks)])
        for key, value in ranking_metrics(ranked, case.hidden, ks).items():
            sums[key] = sums.get(key, 0.0) + value
        if progress and n % 500 == 0:
            progress(n)
    elapsed = time.perf_counter() - start
    metrics = {key: value / len(cases) for key, value in sums.items()}
    metrics[f"coverage@{min(ks)}"] = len(shown) / catalog_size
    return MethodResult(getattr(source, "name", type(source).__name__), metrics, elapsed / len(cases))
