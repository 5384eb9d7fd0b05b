"""Category and price filters over indexed items: the Chroma `where` clause, the metadata
each record carries for it, and an in-memory table that applies the same filters to hits
(cheaper than Chroma's `where` when the filter admits much of the catalog).

A price filter never admits an item whose price is unknown, like `PriceRange.admits`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np

from .catalog import Catalog
from .records import PriceRange


def where_filter(categories: Iterable[str] | None = None, price: PriceRange | None = None) -> dict[str, Any] | None:
    """A Chroma `where` dict for category membership and a price range (None: no filter)."""
    clauses: list[dict[str, Any]] = []
    cats = sorted(set(categories or ()))
    if len(cats) == 1:
        clauses.append({"category": {"$eq": cats[0]}})
    elif cats:
        clauses.append({"category": {"$in": cats}})
    if price is not None:
        if price.low is not None:
            clauses.append({"price": {"$gte": float(price.low)}})
        if price.high is not None:
            clauses.append({"price": {"$lte": float(price.high)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def item_metadata(item: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"title": item.title, "category": item.category or ""}
    if item.price is not None and np.isfinite(item.price):
        meta["price"] = float(item.price)
    return meta


@dataclasses.dataclass
class FilterTable:
    """Category and price of every indexed item, in memory, for post-filtering hits."""

    row_of: dict[str, int]
    categories: np.ndarray  # object array of str
    prices: np.ndarray  # float64, NaN when unknown
    category_counts: dict[str, int]
    sorted_prices: np.ndarray

    @classmethod
    def build(cls, ids: Sequence[str], categories: Sequence[str], prices: Sequence[float | None]) -> FilterTable:
        cats = np.array([c or "" for c in categories], dtype=object)
        price_arr = np.array([np.nan if p is None else float(p) for p in prices], dtype=np.float64)
        counts: dict[str, int] = {}
        for c in cats:
            counts[c] = counts.get(c, 0) + 1
        finite = np.sort(price_arr[np.isfinite(price_arr)])
        return cls({i: r for r, i in enumerate(ids)}, cats, price_arr, counts, finite)

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> FilterTable:
        items = catalog.items
        return cls.build([it.item_id for it in items], [it.category for it in items],
                         [it.price for it in items])

    def __len__(self) -> int:
        return len(self.row_of)

    def share(self, categories: Collection[str] | None, price: PriceRange | None) -> float:
        """Estimated share of items passing the filter (categories x price, as if independent)."""
        n = max(len(self), 1)
        share = 1.0
        if categories:
            share *= sum(self.category_counts.get(c, 0) for c in set(categories)) / n
        if price is not None and (price.low is not None or price.high is not None):
            lo = 0 if price.low is None else int(np.searchsorted(self.sorted_prices, price.low, "left"))
            hi = (len(self.sorted_prices) if price.high is None
                  else int(np.searchsorted(self.sorted_prices, price.high, "right")))
            share *= max(hi - lo, 0) / n
        return share

    def admits(self, item_id: str, categories: Collection[str] | None, price: PriceRange | None) -> bool:
        row = self.row_of.get(item_id)
        if row is None:
            return False
        if categories and self.categories[row] not in categories:
            return False
        if price is None or (price.low is None and price.high is None):
            return True
        value = self.prices[row]
        return bool(np.isfinite(value)) and price.admits(float(value))
