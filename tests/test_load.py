"""Concurrent sessions over loopback HTTP: no errors, no session sees another's data.

`bench/bench_load.py` runs 32 sessions x 20 turns (about ten minutes on two cores, the
model taking one turn at a time) and records throughput and latency; this runs the same
code against a real uvicorn server and the real Assistant: 6 x 8 with the scripted model
(`scripted_model.py`), and 4 x 4 with the tuned parser (slow). The leak checks are first
shown to fire on forged replies.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from bench_load import Outcome, Plan, make_plans, reply_problems, run_load
from scripted_model import ScriptedParser

from assistant.dialogue.service import Assistant
from assistant.records import Request
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


def plan_parses(plan: Plan) -> dict[str, str]:
    """What the tuned parser replies to the messages of one session's plan that name its
    anchor or budget (the fixed follow-ups are in the scripted model's own table)."""
    title, budget = plan.anchor_title, plan.budget
    around = Request(intent="bundle", items=(title,), budget=budget).to_json()
    return {f"a bundle with {title} under £{budget:.2f}": around,
            f"something to go with {title}, max £{budget:.2f}": around,
            f"I need {title} and a few things that go with it, £{budget:.2f} max": around,
            f"one more bundle with {title}, budget £{budget:.2f}": around,
            f"a gift set around {title} for under £{budget:.2f}":
                Request(intent="bundle", need="gift set", items=(title,), budget=budget).to_json(),
            f"set the budget to £{budget:.2f}": Request(intent="set_budget", budget=budget).to_json()}


def test_concurrent_sessions_over_http_stay_apart(scripted_assistant: Assistant,
                                                  scripted_parser: ScriptedParser) -> None:
    sessions, turns = 6, 8
    for plan in make_plans(list(scripted_assistant.index.catalog.items), sessions, turns):
        scripted_parser.add(plan_parses(plan))
    report = run_load(scripted_assistant, sessions=sessions, turns=turns)
    assert report["errors"] == 0, report["error_examples"]
    assert report["leaks"] == 0, report["leak_examples"]
    assert report["turns_answered"] == sessions * turns
    assert report["kinds"].get("bundle", 0) >= 4 * sessions and "clarify" not in report["kinds"], report["kinds"]
    assert sum(report["read_by"].values()) == report["turns_answered"]
    assert set(report["read_by"]) <= {"model", "words", "guard"}, report["read_by"]


@pytest.mark.slow
def test_concurrent_sessions_with_the_tuned_parser(real_parser_assistant: Assistant) -> None:
    report = run_load(real_parser_assistant, sessions=4, turns=4)
    print(f"\n4 sessions x 4 turns: {report['wall_s']} s, latency {report['latency_s']}, kinds {report['kinds']}")
    assert report["errors"] == 0, report["error_examples"]
    assert report["leaks"] == 0, report["leak_examples"]
    assert report["turns_answered"] == 16


class _AlwaysBusy:
    def load(self) -> dict[str, int]:
        return {"decoding": 64, "waiting": 64}


@pytest.mark.slow
def test_a_busy_model_reads_sure_turns_from_the_words_and_keeps_sessions_apart(
        real_parser_assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """The load-shedding path end to end (real reader, rules, composer, server): while the
    model counts as busy, turns whose one shortlisted intent is a busy one skip it."""
    monkeypatch.setattr(real_parser_assistant, "scheduler", _AlwaysBusy())
    assert real_parser_assistant.model_busy()
    report = run_load(real_parser_assistant, sessions=4, turns=4)
    assert report["errors"] == 0, report["error_examples"]
    assert report["leaks"] == 0, report["leak_examples"]
    assert report["turns_answered"] == 16
    # the openers ("a bundle with ... under £...") and "swap the second one" are read from the words
    assert report["read_by"].get("words", 0) >= 8, report["read_by"]
    assert report["kinds"].get("bundle", 0) >= 8, report["kinds"]
