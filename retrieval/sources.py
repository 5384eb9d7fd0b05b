"""One protocol for every candidate source, and the shared top-k machinery.

Like `implicit`, every backend has the same two verbs: `fit(data)` and
`recommend(query, k)`. Sources that can score the whole catalog derive from
`ScoringSource` and implement `_fit`, `score` and `explain`; `recommend` (masking seeds,
exclusions and filters, top-k, evidence) is written once here.
"""

from __future__ import annotations

import abc
import pickle
from pathlib import Path
from typing import Protocol, Self, runtime_checkable

import numpy as np

from .catalog import BasketData, Catalog
from .errors import IndexStateError
from .records import Candidate, Evidence, Query

PICKLE_FORMAT = 1


@runtime_checkable
class CandidateSource(Protocol):
    name: str

    def fit(self, data: BasketData) -> Self: ...

    def recommend(self, query: Query, k: int = 10) -> list[Candidate]: ...


def query_mask(catalog: Catalog, query: Query) -> np.ndarray:
    """True where an item may be returned for this query (filters, exclusions, not a seed)."""
    allowed = np.ones(len(catalog), dtype=bool)
    banned = [catalog.index_of[i] for i in (*query.seed_items, *query.exclude) if i in catalog.index_of]
    allowed[banned] = False
    if query.categories:
        cats = np.array(catalog.categories, dtype=object)
        allowed &= np.isin(cats, list(query.categories))
    if query.price.low is not None or query.price.high is not None:
        prices = catalog.prices
        ok = ~np.isnan(prices)
        if query.price.low is not None:
            ok &= prices >= query.price.low
        if query.price.high is not None:
            ok &= prices <= query.price.high
        allowed &= ok
    return allowed


def top_k(scores: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best allowed, positive-scoring items, best first (ties by index)."""
    masked = np.where(allowed & np.isfinite(scores) & (scores > 0), scores, -np.inf)
    n_valid = int(np.isfinite(masked).sum())
    k = min(k, n_valid)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-masked, k - 1)[:k]
    return part[np.lexsort((part, -masked[part]))]


class ScoringSource(abc.ABC):
    """A source that scores every catalog item for a query (higher = better, 0 = no opinion)."""

    name: str = "source"

    def __init__(self) -> None:
        self.data: BasketData | None = None

    @property
    def catalog(self) -> Catalog:
        if self.data is None:
            raise IndexStateError(f"{self.name}: call fit(data) before recommending")
        return self.data.catalog

    def fit(self, data: BasketData) -> Self:
        self.data = data
        self._fit(data)
        return self

    @abc.abstractmethod
    def _fit(self, data: BasketData) -> None: ...

    @abc.abstractmethod
    def score(self, query: Query) -> np.ndarray:
        """Scores for every catalog item (float array of len(catalog)); 0 means no opinion."""

    @abc.abstractmethod
    def explain(self, query: Query, item_index: int) -> tuple[Evidence, ...]:
        """Evidence for recommending one item for this query, in words and numbers."""

    def recommend(self, query: Query, k: int = 10) -> list[Candidate]:
        scores = self.score(query)
        chosen = top_k(scores, query_mask(self.catalog, query), k)
        items = self.catalog.items
        return [
            Candidate(items[i].item_id, float(scores[i]), self.name, self.explain(query, int(i)))
            for i in chosen
        ]

    def seed_indices(self, query: Query) -> list[int]:
        return self.catalog.indices(query.seed_items, strict=False)

    # Persistence: the index folder's manifest pins the data hash; pickles carry a format tag.
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            pickle.dump({"format": PICKLE_FORMAT, "source": self}, fh, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, path: Path) -> Self:
        with path.open("rb") as fh:
            payload = pickle.load(fh)
        if payload.get("format") != PICKLE_FORMAT or not isinstance(payload.get("source"), cls):
            raise IndexStateError(f"{path}: saved by another cartsmith version; rebuild the index")
        return payload["source"]
