"""Helpers shared by the collaborative-filtering sources: sparse gathers, pruning, wording."""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar

import numpy as np
from scipy import sparse

from ..catalog import BasketData
from ..config import Config
from ..errors import IndexStateError
from ..records import Query
from ..sources import ScoringSource


class CFSource(ScoringSource):
    """A scoring source with a typed config (`config_class`) and query-profile helpers."""

    config_class: ClassVar[type[Config]] = Config
    config: Any  # an instance of config_class; subclasses narrow the annotation

    def __init__(self, config: Any = None) -> None:
        super().__init__()
        self.config = config if config is not None else self.config_class()
        if not isinstance(self.config, self.config_class):
            raise TypeError(f"{self.name}: config must be a {self.config_class.__name__}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def require_fit(self) -> BasketData:
        if self.data is None:
            raise IndexStateError(f"{self.name}: call fit(data) before recommending")
        return self.data

    def user_row(self, query: Query) -> int | None:
        """The query user's row in `data.user_items`, or None for an unknown/absent user."""
        if query.user_id is None or self.data is None:
            return None
        return self.data.user_index.get(str(query.user_id))

    def history_indices(self, query: Query) -> np.ndarray:
        """Items the query's known user bought before (empty for unknown users)."""
        row = self.user_row(query)
        if row is None or self.data is None:
            return np.empty(0, dtype=np.int64)
        ui = self.data.user_items
        return ui.indices[ui.indptr[row] : ui.indptr[row + 1]].astype(np.int64)

    def profile(
        self, query: Query, *, use_history: bool, history_weight: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """(item indices, weights): each seed weighs 1; the known user's history weighs
        `history_weight` in all, split evenly over the history items."""
        seeds = np.unique(np.asarray(self.seed_indices(query), dtype=np.int64))
        weights = np.ones(len(seeds), dtype=np.float64)
        if use_history and history_weight > 0:
            hist = self.history_indices(query)
            if len(hist):
                seeds = np.concatenate([seeds, hist])
                weights = np.concatenate([weights, np.full(len(hist), history_weight / len(hist))])
        return seeds, weights

    def title(self, index: int) -> str:
        return self.catalog.items[index].title


class TorchModelSource(CFSource):
    """A CF source whose model is a torch module (`_new_model` builds it): pickled as a plain
    state dict, rebuilt on load."""

    model: Any
    _state: dict[str, Any]

    @abc.abstractmethod
    def _new_model(self, n_items: int) -> Any:
        """An untrained module for `n_items` items, shaped by the source's config."""

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("model", None)  # the weights travel as a plain state dict
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.data is not None and "_state" in state:
            self.model = self._new_model(self.data.n_items)
            self.model.load_state_dict(self._state)
            self.model.eval()


def without_tail(probs: np.ndarray, n_items: int) -> np.ndarray:
    """A model's probabilities with the tail below a few times the uniform share set to 0:
    there the model has no opinion, and ranking that near-zero tail would be noise."""
    floor = min(0.01, 5.0 / n_items)
    return np.where(probs >= floor, probs, 0.0)


def binary(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    """A float32 CSR copy with every stored non-zero set to 1."""
    out = sparse.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.sum_duplicates()
    out.eliminate_zeros()
    out.data[:] = 1.0
    return out


def gather_rows(
    matrix: sparse.csr_matrix, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column indices, values and per-row lengths of the given CSR rows, concatenated."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = matrix.indptr[rows].astype(np.int64)
    lengths = matrix.indptr[rows + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), lengths
    shift = starts - np.concatenate(([0], np.cumsum(lengths)[:-1]))
    positions = np.repeat(shift, lengths) + np.arange(total)
    return matrix.indices[positions], matrix.data[positions], lengths


def combine_rows(
    matrix: sparse.csr_matrix, rows: np.ndarray, weights: np.ndarray, how: str = "sum"
) -> np.ndarray:
    """Dense weighted sum (or max) of CSR rows: the query-time kernel of the kNN/rules sources."""
    n_cols = matrix.shape[1]
    if len(rows) == 0:
        return np.zeros(n_cols, dtype=np.float64)
    cols, vals, lengths = gather_rows(matrix, rows)
    contrib = vals.astype(np.float64) * np.repeat(np.asarray(weights, dtype=np.float64), lengths)
    if how == "max":
        out = np.zeros(n_cols, dtype=np.float64)
        np.maximum.at(out, cols, contrib)
        return out
    return np.bincount(cols, weights=contrib, minlength=n_cols)


def lookup(matrix: sparse.csr_matrix, row: int, col: int) -> float:
    """matrix[row, col] for a CSR matrix with sorted indices (0.0 when not stored)."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    cols = matrix.indices[start:end]
    pos = int(np.searchsorted(cols, col))
    if pos < len(cols) and cols[pos] == col:
        return float(matrix.data[start + pos])
    return 0.0


def top_n_mask(indptr: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Boolean mask over a CSR's stored entries keeping the n largest values of each row.

    Ties at the cut-off keep the lowest column positions, so the result is deterministic.
    """
    keep = np.ones(len(values), dtype=bool)
    lengths = np.diff(indptr)
    for row in np.flatnonzero(lengths > n):
        start, end = int(indptr[row]), int(indptr[row + 1])
        segment = values[start:end]
        cut = np.partition(segment, len(segment) - n)[len(segment) - n]
        above = segment > cut
        ties = np.flatnonzero(segment == cut)[: n - int(above.sum())]
        above[ties] = True
        keep[start:end] = above
    return keep


def masked_csr(
    shape: tuple[int, int], indptr: np.ndarray, indices: np.ndarray, keep: np.ndarray, *data: np.ndarray
) -> list[sparse.csr_matrix]:
    """CSR matrices sharing one sparsity structure: the entries of (indptr, indices) kept by `keep`."""
    n_rows = shape[0]
    row_of = np.repeat(np.arange(n_rows), np.diff(indptr))
    new_indptr = np.concatenate(([0], np.cumsum(np.bincount(row_of[keep], minlength=n_rows))))
    kept_indices = indices[keep].astype(np.int32)
    out = []
    for values in data:
        m = sparse.csr_matrix((values[keep].astype(np.float32), kept_indices, new_indptr), shape=shape)
        m.has_sorted_indices = True
        out.append(m)
    return out


def _symmetric_product(left: sparse.csr_matrix, right: sparse.csr_matrix) -> sparse.csr_matrix:
    """left @ right for a product known to be symmetric, with sorted indices.

    scipy's sparse product leaves each row's indices unsorted; converting the (equal)
    transpose back to CSR sorts them in linear time, far cheaper than sort_indices().
    """
    product = left @ right
    out = sparse.csr_matrix(product.T)  # CSC view of the transpose -> sorted CSR
    out.has_sorted_indices = True
    return out


def cooccurrence(
    baskets: sparse.csr_matrix, weights: np.ndarray | None = None, *, min_count: float = 1
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Item×item co-occurrence: (counts, values), diagonal removed, indices sorted.

    `counts[i, j]` is the number of baskets holding both items, kept where >= min_count;
    `values` (aligned with counts.data) is the same sum with each basket weighted by
    `weights` (the counts themselves when weights is None).
    """
    b = binary(baskets)
    bt = b.T.tocsr()
    counts = _symmetric_product(bt, b)
    row_of = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    counts.data[(counts.data < min_count) | (row_of == counts.indices)] = 0
    counts.eliminate_zeros()
    counts.has_sorted_indices = True
    if weights is None:
        return counts, counts.data.astype(np.float64)
    weighted = _symmetric_product((bt @ sparse.diags(weights.astype(np.float32))).tocsr(), b)
    # Positive weights: the weighted product has every entry of counts (and maybe more).
    pattern = counts.copy()
    pattern.data[:] = 1.0
    aligned = sparse.csr_matrix(pattern.multiply(weighted))
    aligned.sort_indices()
    if not np.array_equal(aligned.indices, counts.indices):  # pragma: no cover
        raise RuntimeError("co-occurrence: weighted pattern differs from the counts")
    return counts, aligned.data.astype(np.float64)


def item_counts(data: BasketData) -> np.ndarray:
    """Number of training baskets containing each item."""
    return np.asarray(binary(data.baskets).sum(axis=0)).ravel().astype(np.float64)


def n_(value: float) -> str:
    """A count as a shopper reads it: 18532 -> '18,532'."""
    return f"{round(value):,}"


def pct(value: float) -> str:
    """A share as a percentage: 0.2614 -> '26%', 0.004 -> '0.4%'."""
    p = 100.0 * value
    if p >= 10 or p == 0:
        return f"{p:.0f}%"
    return f"{p:.1f}%".replace(".0%", "%")


def top_percent(rank: int, n_items: int) -> int:
    """'top X%' for a 1-based rank among n items (at least 1)."""
    return max(1, math.ceil(100.0 * rank / max(n_items, 1)))


def join_titles(titles: list[str]) -> str:
    if len(titles) <= 1:
        return "".join(titles)
    return ", ".join(titles[:-1]) + " and " + titles[-1]
