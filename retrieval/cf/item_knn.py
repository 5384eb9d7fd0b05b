"""Item-to-item kNN over basket co-occurrence ("often in the same basket as ...").

sim(i, j) = co(i, j) / (n_i^alpha · n_j^(1-alpha) + shrinkage), where co counts (optionally
size-weighted) baskets holding both and n_i the baskets holding i; alpha = 0.5 is the cosine.
Each item keeps its `neighbours` most similar items in a sparse matrix; a query's score is the
sum of similarities to its seeds (and, optionally, to the known user's past purchases).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from ..catalog import BasketData
from ..config import Config, check
from ..records import Evidence, Query
from ._common import (
    CFSource,
    binary,
    combine_rows,
    cooccurrence,
    masked_csr,
    n_,
    top_n_mask,
)


@dataclasses.dataclass(frozen=True)
class ItemKNNConfig(Config):
    """neighbours: most similar items kept per item; shrinkage: damps similarities resting on
    few baskets; alpha: 0.5 = cosine, higher favours popular neighbours; min_co_baskets: pairs
    seen together less often are dropped; basket_weighting: 'inverse_log_size' lets big baskets
    count less (IDF-like); use_history / history_weight: add the known user's past purchases
    (weighing `history_weight` in all, compared with 1 per seed)."""

    neighbours: int = 100
    shrinkage: float = 5.0
    alpha: float = 0.5
    min_co_baskets: int = 2
    basket_weighting: Literal["none", "inverse_log_size"] = "inverse_log_size"
    use_history: bool = True
    history_weight: float = 0.2

    def validate(self) -> None:
        check(self.neighbours >= 1, "item_knn.neighbours", "must be at least 1")
        check(self.shrinkage >= 0, "item_knn.shrinkage", "must be >= 0")
        check(0.0 <= self.alpha <= 1.0, "item_knn.alpha", "must be within [0, 1]")
        check(self.min_co_baskets >= 1, "item_knn.min_co_baskets", "must be at least 1")
        check(
            self.basket_weighting in ("none", "inverse_log_size"),
            "item_knn.basket_weighting",
            "must be 'none' or 'inverse_log_size'",
        )
        check(self.history_weight >= 0, "item_knn.history_weight", "must be >= 0")


class ItemKNNSource(CFSource):
    """Items that share baskets with the seeds, by (shrunk, asymmetric) cosine similarity."""

    name = "item_knn"
    config_class = ItemKNNConfig
    config: ItemKNNConfig

    def _fit(self, data: BasketData) -> None:
        cfg = self.config
        n_items = data.n_items
        b = binary(data.baskets)
        weights = None
        if cfg.basket_weighting == "inverse_log_size":
            sizes = np.diff(b.indptr).astype(np.float64)
            weights = 1.0 / np.log2(1.0 + np.maximum(sizes, 1.0))
            norms = np.asarray(b.T @ weights).ravel()
        else:
            norms = np.asarray(b.sum(axis=0)).ravel().astype(np.float64)
        # raw = baskets holding both (rare pairs dropped), co = the (weighted) co-occurrence
        raw, co = cooccurrence(b, weights, min_count=cfg.min_co_baskets)
        row_of = np.repeat(np.arange(n_items), np.diff(raw.indptr))
        denom = norms[row_of] ** cfg.alpha * norms[raw.indices] ** (1.0 - cfg.alpha) + cfg.shrinkage
        sim = co / np.maximum(denom, 1e-12)
        keep = top_n_mask(raw.indptr, sim, cfg.neighbours)
        # Row = the seed, column = the neighbour it vouches for.
        self.similarity, co_baskets = masked_csr(
            (n_items, n_items), raw.indptr, raw.indices, keep, sim, raw.data.astype(np.float64)
        )
        # Column view (item -> the anchors vouching for it, sorted) so explain needs no loop;
        # both transposes share one structure.
        self.vouchers = self.similarity.T.tocsr()
        self.voucher_baskets = co_baskets.T.tocsr()

    def _profile(self, query: Query) -> tuple[np.ndarray, np.ndarray]:
        return self.profile(
            query, use_history=self.config.use_history, history_weight=self.config.history_weight
        )

    def score(self, query: Query) -> np.ndarray:
        self.require_fit()
        items, weights = self._profile(query)
        return combine_rows(self.similarity, items, weights)

    def explain(self, query: Query, item_index: int) -> tuple[Evidence, ...]:
        items, weights = self._profile(query)
        if len(items) == 0:
            return ()
        anchors, inverse = np.unique(items, return_inverse=True)
        anchor_weight = np.bincount(inverse, weights)
        start, end = self.vouchers.indptr[item_index], self.vouchers.indptr[item_index + 1]
        cols = self.vouchers.indices[start:end]
        pos = np.minimum(np.searchsorted(anchors, cols), len(anchors) - 1)
        hit = anchors[pos] == cols
        if not hit.any():
            return ()
        sims = self.vouchers.data[start:end][hit].astype(np.float64)
        together = self.voucher_baskets.data[start:end][hit].astype(np.float64)
        hit_anchors = cols[hit]
        contribution = anchor_weight[pos[hit]] * sims
        seeds = set(self.seed_indices(query))
        evidence = []
        for k in np.lexsort((hit_anchors, -contribution))[:3]:
            anchor = int(hit_anchors[k])
            bought_before = "" if anchor in seeds else ", which you bought before"
            text = (
                f"often in the same basket as {self.title(anchor)}{bought_before} "
                f"({n_(together[k])} baskets, similarity {sims[k]:.2f})"
            )
            numbers = {
                "similarity": float(sims[k]),
                "co_baskets": float(together[k]),
                "contribution": float(contribution[k]),
                "seed_index": float(anchor),
                "from_history": 0.0 if anchor in seeds else 1.0,
            }
            evidence.append(Evidence("co_purchase", text, numbers))
        return tuple(evidence)
