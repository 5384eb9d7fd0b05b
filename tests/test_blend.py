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


def test_a_known_customer_with_an_empty_cart_is_answered_by_the_sequence_model() -> None:
    """No seed items and a known customer: the blend's weights were learnt on carts, so the
    Transformer, which reads the customer's earlier orders, answers alone (its evidence
    names what they bought before); with a cart, or for a stranger, the weights apply."""
    catalog, inter = _shop()
    data = BasketData.build(catalog, inter)
    transformer = make_source("transformer", {"dim": 16, "max_epochs": 3})
    blend = BlendSource([make_source("item_knn"), transformer], [1.0, 0.5]).fit(data)
    known = Query(user_id="u3")
    assert blend.next_purchase_component(known) is transformer
    np.testing.assert_allclose(blend.score(known), transformer.score(known) / transformer.score(known).max())
    cands = blend.recommend(known, k=5)
    assert cands and all(c.evidence[0].kind == "basket_model" for c in cands)
    assert any(c.evidence[0].text.startswith("you bought it in") for c in cands)
    for other in (Query(user_id="u3", seed_items=("i0",)), Query(user_id="stranger"), Query(text="tea")):
        assert blend.next_purchase_component(other) is None
    with_cart = Query(user_id="u3", seed_items=("i0",))
    expected = 1.0 * _top_scaled(blend.components[0].score(with_cart)) + 0.5 * _top_scaled(transformer.score(with_cart))
    np.testing.assert_allclose(blend.score(with_cart), expected)
    without = BlendSource([make_source("item_knn")], [1.0]).fit(data)  # no sequence model: the weights
    assert without.next_purchase_component(known) is None


def _top_scaled(scores: np.ndarray) -> np.ndarray:
    return scores / scores.max()

