"""Metrics and splits of the basket-completion benchmark, on known answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from retrieval.catalog import Catalog, Interactions
from retrieval.errors import ConfigError
from retrieval.evaluate import SplitConfig, ranking_metrics, split_interactions
from retrieval.records import Item


def test_ranking_metrics_known_answer() -> None:
    ranked = ["a", "x", "b", "y"] + [f"z{i}" for i in range(16)]
    m = ranking_metrics(ranked, frozenset({"a", "b", "c"}), ks=(10,))
    assert m["recall@10"] == pytest.approx(2 / 3)
    assert m["precision@10"] == pytest.approx(0.2)
    assert m["hit_rate@10"] == 1.0
    dcg = 1 + 1 / math.log2(4)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@10"] == pytest.approx(dcg / ideal)
    assert m["f1@10"] == pytest.approx(2 * 0.2 * (2 / 3) / (0.2 + 2 / 3))
    assert ranking_metrics([], frozenset({"a"}), ks=(10,))["ndcg@10"] == 0.0


def _shop() -> tuple[Catalog, Interactions]:
    catalog = Catalog([Item(f"i{k}", f"Item {k}", 1.0) for k in range(8)])
    rows = []
    for b in range(20):
        day = pd.Timestamp("2011-01-01") + pd.Timedelta(days=b)
        for k in range(4 + b % 3):
            rows.append({"basket_id": f"b{b}", "item_id": f"i{(b + k) % 8}", "user_id": f"u{b % 3}",
                         "timestamp": day, "quantity": 1.0})
    return catalog, Interactions(pd.DataFrame(rows))


def test_time_split_reveals_half_and_never_leaks() -> None:
    catalog, inter = _shop()
    split = split_interactions(catalog, inter, SplitConfig(kind="time", date="2011-01-15", seed=1))
    assert split.train.frame["timestamp"].max() < pd.Timestamp("2011-01-15")
    assert len(split.cases) == 6
    for case in split.cases:
        assert not set(case.query.seed_items) & case.hidden
        total = len(case.query.seed_items) + len(case.hidden)
        assert len(case.query.seed_items) == round(total * 0.5)
        assert case.query.user_id in {"u0", "u1", "u2"}
    again = split_interactions(catalog, inter, SplitConfig(kind="time", date="2011-01-15", seed=1))
    assert [c.query for c in again.cases] == [c.query for c in split.cases]


def test_random_split_is_seeded() -> None:
    catalog, inter = _shop()
    a = split_interactions(catalog, inter, SplitConfig(kind="random", seed=3))
    b = split_interactions(catalog, inter, SplitConfig(kind="random", seed=3))
    assert [c.basket_id for c in a.cases] == [c.basket_id for c in b.cases]
    assert len(a.train) + sum(len(c.query.seed_items) + len(c.hidden) for c in a.cases) == len(inter)


def test_split_spec_parsing() -> None:
    assert SplitConfig.parse("time:2011-10-01").date == "2011-10-01"
    assert SplitConfig.parse("random").kind == "random"
    with pytest.raises(ConfigError, match="not a date"):
        SplitConfig.parse("time:someday")
    with pytest.raises(ConfigError, match="expected time:YYYY-MM-DD or random"):
        SplitConfig.parse("weekly")
