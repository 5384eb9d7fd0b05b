"""The training-period shop the fine-tuning data comes from: the Online Retail catalog, its
invoices before the cutoff (basket -> item ids, first timestamp) and candidate sources
fitted on those invoices only. Nothing from the cutoff on is read.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

CUTOFF = "2011-10-01"


@dataclasses.dataclass
class Shop:
    """The training-period shop: catalog, invoices (basket -> item ids) and fitted sources."""

    catalog: Any
    baskets: dict[str, list[str]]
    basket_time: dict[str, pd.Timestamp]
    sources: dict[str, Any]


def load_training_shop(cutoff: str = CUTOFF) -> Shop:
    from retrieval.catalog import BasketData
    from retrieval.cf import make_source
    from retrieval.datasets import load_online_retail
    from retrieval.evaluate import SplitConfig, split_interactions

    catalog, interactions, _ = load_online_retail()
    split = split_interactions(catalog, interactions, SplitConfig(kind="time", date=cutoff))
    frame = split.train.frame
    assert frame["timestamp"].max() < pd.Timestamp(cutoff)
    data = BasketData.build(catalog, split.train)
    sources = {
        "rules": make_source("rules").fit(data),
        "item_knn": make_source("item_knn", {"use_history": False}).fit(data),
        "popularity": make_source("popularity").fit(data),
    }
    grouped = frame.groupby("basket_id", sort=True)
    baskets = {str(b): list(dict.fromkeys(g["item_id"].astype(str))) for b, g in grouped}
    times = grouped["timestamp"].min()
    return Shop(catalog, baskets, {str(b): t for b, t in times.items()}, sources)
