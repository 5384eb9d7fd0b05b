"""The bundle at three prices: "show me a cheaper and a nicer version" gives budget, standard
(the bundle itself) and premium tiers, totals in that order, never over a stated budget and
never with what the shopper ruled out; "the premium one" takes a tier."""

from __future__ import annotations

from fastapi.testclient import TestClient

from assistant.dialogue.router import ROUTES
from assistant.dialogue.service import Assistant
from assistant.serve.api import create_app


def _titles(bundle: object) -> set[str]:
    return {bi.item.title for bi in bundle.items}  # type: ignore[attr-defined]


def test_three_prices_then_one_taken(scripted_assistant: Assistant) -> None:
    session = scripted_assistant.open_session()
    first = scripted_assistant.turn(session, "a tea party under £20")
    assert first.bundle is not None
    shown = scripted_assistant.turn(session, "can you show me a cheaper and a nicer version?")
    assert shown.kind == "answer" and set(shown.tiers) >= {"budget", "standard"}
    tiers = shown.tiers
    assert tiers["standard"].item_ids == first.bundle.item_ids  # the bundle itself
    totals = [tiers[name].total for name in ("budget", "standard", "premium") if name in tiers]
    assert totals == sorted(totals) and len(set(totals)) == len(totals)
    assert all(tier.total <= 20.0 for tier in tiers.values())  # the stated budget holds for every tier
    for name, tier in tiers.items():
        assert f"{name.capitalize()}: £{tier.total:,.2f}" in shown.text
        assert all(bi.item.title in shown.text for bi in tier.items)
    assert shown.bundle is not None and shown.bundle.item_ids == first.bundle.item_ids  # nothing changed yet

    name = "premium" if "premium" in tiers else "budget"
    taken = scripted_assistant.turn(session, f"I'll take the {name} one")
    assert taken.kind == "bundle" and taken.bundle is not None
    assert taken.bundle.item_ids == tiers[name].item_ids and taken.bundle.total == tiers[name].total
    assert "tiers" not in scripted_assistant.state(session).constraints  # taken: the tiers are gone


def test_tiers_keep_what_the_shopper_ruled_out(scripted_assistant: Assistant) -> None:
    session = scripted_assistant.open_session()
    scripted_assistant.turn(session, "a tea party under £20")
    scripted_assistant.turn(session, "actually, no candles please")
    shown = scripted_assistant.turn(session, "budget and premium options please")
    for tier in shown.tiers.values():
        assert not any("candle" in title.lower() for title in _titles(tier))


def test_without_a_bundle_tiers_ask_what_it_is_for(scripted_assistant: Assistant) -> None:
    reply = scripted_assistant.turn(scripted_assistant.open_session(), "show me a cheaper and a nicer version")
    assert reply.kind == "clarify" and not reply.tiers and "what the bundle is for" in reply.text


def test_the_api_returns_the_tiers(scripted_assistant: Assistant) -> None:
    with TestClient(create_app(scripted_assistant, rate_limit_per_minute=None)) as client:
        sid = client.post("/v1/sessions").json()["session_id"]
        client.post(f"/v1/sessions/{sid}/messages", json={"text": "a tea party under £20"})
        body = client.post(f"/v1/sessions/{sid}/messages", json={"text": "good, better, best please"}).json()
        assert body["kind"] == "answer" and "standard" in body["tiers"]
        assert body["tiers"]["standard"]["total"] == body["bundle"]["total"]


def test_the_routes_name_tiers_before_comparisons() -> None:
    names = [route.name for route in ROUTES]
    assert names.index("price tiers") < names.index("comparison") < names.index("edit")
