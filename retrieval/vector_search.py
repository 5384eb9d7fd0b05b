"""Nearest catalog rows to a vector: one small interface, two backends.

`VectorSearch` is what the composer's text-to-items retrieval asks ("which items mean what
these words mean?"):

  * `nearest(vector, n, rows=None)`: up to n `(row, cosine)` pairs, best first, ties by row;
    `rows` restricts the search to those catalog rows; n <= 0 or no rows gives [];
  * `similarities(vector, n)`: a cosine per catalog row for at least the n nearest rows,
    `-inf` for rows the search did not score (see the trade-off below).

`ExactSearch` (the embedded default) is a matrix-vector product over the normalised item
embeddings held in memory: every row is scored, exactly (3,798 x 384 in well under a
millisecond; 50k items in a few ms). `ChromaSearch` asks the shop's Chroma collection
(`ChromaIndex`: `chromadb.HttpClient` when a server is configured, else the index's
`PersistentClient`); HNSW is approximate and answers top-n only.

Trade-off of the approximate backend: `similarities` scores the `n` nearest rows and fills
the rest with `-inf`, so a caller that reads a whole score vector (the best match, a window
of the best matches, the top alternatives) behaves as before only while what it reads lies
within the top n; a row outside it reads as "not similar". Callers that need the cosine of a
few given rows whatever their rank score those rows directly (`nearest(..., rows=...)`, or
numpy over the rows they hold).

`make_vector_search` picks the backend: "exact", "chroma", or "auto" (Chroma when the
index's vector store is a Chroma server, exact otherwise). No language model here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from .embeddings import normalize_rows
from .errors import ConfigError, IndexStateError
from .vector_store import ChromaIndex

SearchMode = Literal["auto", "exact", "chroma"]
SEARCH_MODES: tuple[str, ...] = ("auto", "exact", "chroma")
_UNIT_TOLERANCE = 1e-5  # rows (and queries) this close to unit length are used as they are


@runtime_checkable
class VectorSearch(Protocol):
    """Nearest catalog rows to a vector (see the module docstring for the contract)."""

    name: str
    exact: bool

    @property
    def size(self) -> int:
        """How many catalog rows the search covers (row ids are 0 .. size-1)."""
        ...

    def nearest(self, vector: np.ndarray, n: int, rows: Iterable[int] | None = None
                ) -> list[tuple[int, float]]:
        ...

    def similarities(self, vector: np.ndarray, n: int) -> np.ndarray:
        ...


def _unit_vector(vector: np.ndarray) -> np.ndarray:
    vec = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vec))
    if norm == 0.0 or abs(norm - 1.0) <= _UNIT_TOLERANCE:
        return vec
    return vec / np.float32(norm)


def _checked_rows(rows: Iterable[int], size: int) -> np.ndarray:
    """Distinct row ids, ascending; a row outside 0..size-1 is an IndexError."""
    idx = np.unique(np.fromiter((int(r) for r in rows), dtype=np.int64))
    if idx.size and (idx[0] < 0 or idx[-1] >= size):
        bad = int(idx[0]) if idx[0] < 0 else int(idx[-1])
        raise IndexError(f"row {bad} is outside the {size} catalog rows")
    return idx


def top_rows(sims: np.ndarray, n: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The n highest of `sims` (over `rows`, or over 0..len-1) as (row, score), best first,
    ties by row; NaN never ranks."""
    ids = np.arange(len(sims)) if rows is None else rows
    keep = ~np.isnan(sims)
    sims, ids = sims[keep], ids[keep]
    n = min(n, len(sims))
    if n <= 0:
        return []
    if n < len(sims):
        # every row tied with the n-th best stays in, so the tie-break by row is exact
        kth = np.partition(-sims, n - 1)[n - 1]
        cut = np.flatnonzero(-sims <= kth)
        sims, ids = sims[cut], ids[cut]
    order = np.lexsort((ids, -sims))[:n]
    return [(int(ids[i]), float(sims[i])) for i in order]


def dense_similarities(hits: Iterable[tuple[int, float]], size: int) -> np.ndarray:
    """A score per row from (row, cosine) hits; rows not hit are -inf."""
    out = np.full(size, -np.inf, dtype=np.float32)
    for row, sim in hits:
        out[row] = sim
    return out


class ExactSearch:
    """Exact cosine over an in-memory embeddings matrix (row i = catalog item i).

    Rows that are already unit vectors (as `ContentSource` keeps them) are used as they
    are, without a copy; other matrices are normalised once.
    """

    name = "exact"
    exact = True

    def __init__(self, embeddings: np.ndarray) -> None:
        matrix = embeddings if isinstance(embeddings, np.ndarray) and embeddings.dtype == np.float32 \
            else np.asarray(embeddings, dtype=np.float32)
        if matrix.ndim != 2:
            raise IndexStateError(f"embeddings must be a matrix, got shape {matrix.shape}")
        norms = np.linalg.norm(matrix, axis=1)
        if not np.all((np.abs(norms - 1.0) <= _UNIT_TOLERANCE) | (norms == 0.0)):
            matrix = normalize_rows(matrix)
        self.matrix = matrix

    @property
    def size(self) -> int:
        return int(self.matrix.shape[0])

    def nearest(self, vector: np.ndarray, n: int, rows: Iterable[int] | None = None
                ) -> list[tuple[int, float]]:
        if n <= 0:
            return []
        vec = _unit_vector(vector)
        if rows is None:
            return top_rows(self.matrix @ vec, n)
        idx = _checked_rows(rows, self.size)
        if not idx.size:
            return []
        return top_rows(self.matrix[idx] @ vec, n, idx)

    def similarities(self, vector: np.ndarray, n: int) -> np.ndarray:
        """Every row's cosine (exact search is as cheap for all rows as for n)."""
        return self.matrix @ _unit_vector(vector)


class ChromaSearch:
    """Approximate nearest rows from a Chroma collection (`ChromaIndex`), mapped back to
    catalog rows by item id; ids the catalog lacks are dropped. A `rows` filter becomes
    Chroma's `ids` filter."""

    name = "chroma"
    exact = False

    def __init__(self, index: ChromaIndex, item_ids: Sequence[str]) -> None:
        self.index = index
        self.item_ids = list(item_ids)
        self._row_of = {item_id: row for row, item_id in enumerate(self.item_ids)}

    @property
    def size(self) -> int:
        return len(self.item_ids)

    def check(self) -> None:
        """IndexStateError unless the collection exists and holds one vector per row."""
        count = self.index.count()
        if count != self.size:
            raise IndexStateError(
                f"Chroma collection {self.index.config.collection!r} holds {count} vectors for "
                f"{self.size} catalog items; rebuild the index (`cartsmith index`)")

    def nearest(self, vector: np.ndarray, n: int, rows: Iterable[int] | None = None
                ) -> list[tuple[int, float]]:
        if n <= 0:
            return []
        within: list[str] | None = None
        if rows is not None:
            idx = _checked_rows(rows, self.size)
            if not idx.size:
                return []
            within = [self.item_ids[int(r)] for r in idx]
            n = min(n, len(within))
        hits = self.index.search_vector(np.asarray(vector, dtype=np.float32), n, within=within)
        found = [(self._row_of[item_id], sim) for item_id, sim, _ in hits if item_id in self._row_of]
        found.sort(key=lambda hit: (-hit[1], hit[0]))
        return found

    def similarities(self, vector: np.ndarray, n: int) -> np.ndarray:
        """The n nearest rows' cosines; every other row -inf (approximate: top-n only)."""
        return dense_similarities(self.nearest(vector, n), self.size)


def make_vector_search(mode: str, embeddings: np.ndarray, store: ChromaIndex | None,
                       item_ids: Sequence[str]) -> ExactSearch | ChromaSearch:
    """The search a composer uses: "exact" (in-process numpy over `embeddings`), "chroma"
    (the `store` collection, checked now), or "auto": Chroma when `store` is configured with
    a Chroma server (`VectorStoreConfig.server_url`, set by `cartsmith index --chroma-server`),
    exact otherwise."""
    if mode not in SEARCH_MODES:
        raise ConfigError(f"vector search {mode!r} is not one of {', '.join(SEARCH_MODES)}")
    if mode == "auto":
        mode = "chroma" if store is not None and store.config.server_url else "exact"
    if mode == "exact":
        return ExactSearch(embeddings)
    if store is None:
        raise ConfigError("vector search 'chroma' needs the index's Chroma collection")
    search = ChromaSearch(store, item_ids)
    search.check()
    return search


__all__ = [
    "SEARCH_MODES",
    "ChromaSearch",
    "ExactSearch",
    "SearchMode",
    "VectorSearch",
    "dense_similarities",
    "make_vector_search",
    "top_rows",
]
