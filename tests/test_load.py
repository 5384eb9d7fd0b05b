"""Concurrent sessions over loopback HTTP: no errors, no session sees another's data.

`bench/bench_load.py` runs 32 sessions x 20 turns (about ten minutes on two cores, the
model taking one turn at a time) and records throughput and latency; this runs the same
code at 8 x 5 against a real uvicorn server and the real Assistant. The leak checks are
first shown to fire on forged replies.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from bench_load import Outcome, Plan, make_plans, reply_problems, run_load

from retrieval.records import Item


def _plans() -> list[Plan]:
    items = [Item(f"I{n}", f"Enamel Mug Number {n}", 1.0 + n / 10) for n in range(3)]
    return make_plans(items, sessions=3, turns=4)


def _body(outcome: Outcome, **changes: Any) -> dict[str, Any]:
    plan = outcome.plan
    body: dict[str, Any] = {"session_id": outcome.session_id, "reply": "Here you go.", "kind": "bundle",
                            "request": {"intent": "bundle", "budget": plan.budget},
                            "bundle": {"items": [], "budget": plan.budget, "diff": {}}, "alternatives": [],
                            "cart": [{"item_id": plan.anchor_id, "quantity": plan.quantity}]}
    body.update(changes)
    return body


def test_plans_are_distinct() -> None:
    plans = _plans()
    assert len({p.anchor_id for p in plans}) == len({p.budget for p in plans}) == 3
    assert all(len(p.texts) == 4 and p.anchor_title in p.texts[0] for p in plans)
    with pytest.raises(ValueError, match="only 3 usable anchor items for 4 sessions"):
        make_plans([Item(f"I{n}", f"Enamel Mug Number {n}", 1.0) for n in range(3)], sessions=4, turns=1)


def test_the_leak_checks_fire() -> None:
    plans = _plans()
    mine = Outcome(plans[0], session_id="s-0", own_items={plans[0].anchor_id})
    other = plans[1]
    assert reply_problems(mine, _body(mine), plans) == []
    forged = [
        _body(mine, session_id="s-1"),
        _body(mine, cart=[{"item_id": plans[0].anchor_id, "quantity": 1}, {"item_id": other.anchor_id, "quantity": 2}]),
        _body(mine, request={"intent": "bundle", "budget": other.budget}),
        _body(mine, reply=f"You might also like {other.anchor_title}."),
        _body(mine, cart=[]),
    ]
    for body in forged:
        assert reply_problems(mine, body, plans), body


@pytest.mark.slow
def test_concurrent_sessions_over_http_stay_apart(tmp_path: Path) -> None:
    import torch

    from assistant.dialogue.service import Assistant, AssistantConfig
    from retrieval.shop_index import ShopIndex, ensure_default_index

    torch.set_num_threads(1)
    assistant = Assistant(AssistantConfig(sessions=str(tmp_path / "sessions.sqlite3"), writer="template"),
                          index=ShopIndex.load(ensure_default_index()))
    report = run_load(assistant, sessions=8, turns=5)
    print(f"\n8 sessions x 5 turns: {report['wall_s']} s, latency {report['latency_s']}, kinds {report['kinds']}")
    assert report["errors"] == 0, report["error_examples"]
    assert report["leaks"] == 0, report["leak_examples"]
    assert report["turns_answered"] == 40
