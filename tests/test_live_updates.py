"""New orders reach the association rules of a running service without a refit."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_cf_sources import checkerboard

from retrieval.cf import make_source
from retrieval.records import Query


def test_orders_create_and_strengthen_rules_live() -> None:
    data = checkerboard()
    rules = make_source("rules", {"min_support": 2}).fit(data)
    a0, b0 = data.catalog.index_of["A0"], data.catalog.index_of["B0"]
    assert "B0" not in [c.item_id for c in rules.recommend(Query(seed_items=("A0",)), k=12)]
    before = rules.score(Query(seed_items=("A0",)))
    for _ in range(30):  # enough that A0 -> B0 beats chance (lift > 1)
        rules.observe_basket([a0, b0])
    after = rules.score(Query(seed_items=("A0",)))
    assert after[b0] > 0 and before[b0] == 0
    got = rules.recommend(Query(seed_items=("A0",)), k=12)
    pair = next(c for c in got if c.item_id == "B0")
    assert pair.evidence[0].numbers["support"] == 30.0
    assert "in 30 of" in pair.evidence[0].text
    # Other rules still hold, recomputed with the new basket count.
    assert {c.item_id for c in got} & {"A1", "A2", "A3"}
