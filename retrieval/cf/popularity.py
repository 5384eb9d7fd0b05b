"""Popularity: how many training baskets contain each item. The cold-start fallback."""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from ..catalog import BasketData
from ..config import Config, check
from ..records import Evidence, Query
from ._common import CFSource, item_counts, n_, top_percent


@dataclasses.dataclass(frozen=True)
class PopularityConfig(Config):
    """scale: 'log' scores log(1 + baskets), 'linear' the raw basket count (same order).
    min_baskets: items in fewer training baskets get no score at all."""

    scale: Literal["log", "linear"] = "log"
    min_baskets: int = 1

    def validate(self) -> None:
        check(self.scale in ("log", "linear"), "popularity.scale", "must be 'log' or 'linear'")
        check(self.min_baskets >= 1, "popularity.min_baskets", "must be at least 1")


def _ranks(counts: np.ndarray) -> np.ndarray:
    """1-based competition rank of each count, largest first (ties share a rank)."""
    ordered = np.sort(counts)[::-1]
    return np.searchsorted(-ordered, -counts, side="left") + 1


class PopularitySource(CFSource):
    """Scores every item by the number of baskets it appears in; needs no seeds or user."""

    name = "popularity"
    config_class = PopularityConfig
    config: PopularityConfig

    def _fit(self, data: BasketData) -> None:
        counts = item_counts(data)
        self.counts = counts
        self.n_baskets = int(data.baskets.shape[0])
        self.shop_rank = _ranks(counts)
        # Rank within the item's own category, for "popular in <category>" evidence.
        cats = np.array(data.catalog.categories, dtype=object)
        self.category_rank = np.zeros(len(counts), dtype=np.int64)
        self.category_size: dict[str, int] = {}
        for cat in np.unique(cats) if len(cats) else []:
            members = np.flatnonzero(cats == cat)
            self.category_rank[members] = _ranks(counts[members])
            self.category_size[str(cat)] = len(members)
        kept = np.where(counts >= self.config.min_baskets, counts, 0.0)
        self.scores = np.log1p(kept) if self.config.scale == "log" else kept

    def score(self, query: Query) -> np.ndarray:
        self.require_fit()
        return self.scores.copy()

    def explain(self, query: Query, item_index: int) -> tuple[Evidence, ...]:
        count = float(self.counts[item_index])
        if count <= 0:
            return ()
        n_items = len(self.counts)
        rank = int(self.shop_rank[item_index])
        top = top_percent(rank, n_items)
        numbers = {
            "baskets": count,
            "total_baskets": float(self.n_baskets),
            "share": count / max(self.n_baskets, 1),
            "rank": float(rank),
            "top_percent": float(top),
        }
        text = f"in {n_(count)} of {n_(self.n_baskets)} baskets (top {top}% of the shop)"
        category = self.catalog.items[item_index].category
        if query.categories and category in query.categories:
            cat_rank = int(self.category_rank[item_index])
            size = self.category_size.get(category, 1)
            numbers["category_rank"] = float(cat_rank)
            numbers["category_items"] = float(size)
            text = (
                f"popular in {category}: #{cat_rank} of {n_(size)} items there, "
                f"in {n_(count)} of {n_(self.n_baskets)} baskets"
            )
        return (Evidence("popular", text, numbers),)
