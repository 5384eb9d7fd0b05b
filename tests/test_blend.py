"""The blend learns weights on a validation split and beats its parts on a known structure."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from retrieval.blend import BlendConfig, BlendSource, fit_blend
from retrieval.catalog import BasketData, Catalog, Interactions
from retrieval.cf import make_source
from retrieval.evaluate import SplitConfig, evaluate_source, split_interactions
from retrieval.records import Item, Query


def _shop(seed: int = 0) -> tuple[Catalog, Interactions]:
    """Items 0-19 in four complementary groups of five; some random noise items."""
    rng = np.random.default_rng(seed)
    catalog = Catalog([Item(f"i{k}", f"Item {k}", float(k + 1)) for k in range(30)])
    rows = []
    start = pd.Timestamp("2011-01-01")
    for b in range(600):
        group = rng.integers(4)
        members = rng.choice(5, size=4, replace=False) + 5 * group
        noise = rng.choice(np.arange(20, 30), size=1)
        for k in [*members, *noise]:
            rows.append({"basket_id": f"b{b}", "item_id": f"i{k}", "user_id": f"u{b % 40}",
                         "timestamp": start + pd.Timedelta(hours=b), "quantity": 1.0})
    return catalog, Interactions(pd.DataFrame(rows))


def test_blend_fits_weights_on_training_period_and_ranks_groups() -> None:
    catalog, inter = _shop()
    split = split_interactions(catalog, inter, SplitConfig(kind="time", date="2011-01-21", seed=1))
    factories = {"popularity": functools.partial(make_source, "popularity"),
                 "item_knn": functools.partial(make_source, "item_knn")}
    blend = fit_blend(catalog, split.train, factories, BlendConfig(validation_days=3))
    assert blend.validation_ndcg is not None and blend.validation_ndcg > 0
    assert blend.weights[1] > 0  # co-purchase structure is what predicts baskets here
    result = evaluate_source(blend, split.cases, len(catalog))
    pop = evaluate_source(make_source("popularity").fit(BasketData.build(catalog, split.train)),
                          split.cases, len(catalog))
    assert result.metrics["ndcg@10"] > pop.metrics["ndcg@10"]
    cands = blend.recommend(Query(seed_items=("i0", "i1")), k=3)
    assert {c.item_id for c in cands} <= {"i2", "i3", "i4"}
    assert all(c.source == "blend" and c.evidence for c in cands)


def test_blend_pickles(tmp_path) -> None:
    catalog, inter = _shop()
    data = BasketData.build(catalog, inter)
    blend = BlendSource([make_source("rules"), make_source("popularity")], [1.0, 0.1]).fit(data)
    blend.save(tmp_path / "b.pkl")
    again = BlendSource.load(tmp_path / "b.pkl")
    query = Query(seed_items=("i5",))
    assert [c.item_id for c in again.recommend(query, 5)] == [c.item_id for c in blend.recommend(query, 5)]
