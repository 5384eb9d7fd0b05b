"""A customer can be forgotten (`DELETE /v1/customers/{id}`): their history personalises
nothing from the next session on, their sessions go, the answer says what was removed, only a
private key may ask, and the next index build leaves their lines out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from assistant.dialogue.service import Assistant
from assistant.dialogue.session import SessionStore
from assistant.dialogue.session_pg import forgotten_customers_in
from assistant.serve.api import create_app
from assistant.serve.web_access import WebAccess
from retrieval.catalog import Catalog, Interactions
from retrieval.errors import ConfigError
from retrieval.records import Item
from retrieval.shop_index import ensure_index, read_manifest

PRIVATE, PUBLIC = "server-secret-key", "pk_page_key"


def _customer_with_history(assistant: Assistant, skip: set[str]) -> tuple[str, int, int]:
    """A customer of the default shop with a few baskets that no other test names."""
    frame = assistant.index.interactions.frame
    counts = frame.dropna(subset=["user_id"]).groupby(frame["user_id"].astype(str))["basket_id"].nunique()
    user = next(u for u, n in counts.sort_values(ascending=False).items() if 3 <= n <= 20 and u not in skip)
    lines = int((frame["user_id"].astype(str) == user).sum())
    return user, int(counts[user]), lines


def test_interactions_without_a_customer() -> None:
    log = Interactions(pd.DataFrame({"basket_id": ["b1", "b1", "b2", "b3"], "item_id": ["a", "b", "a", "c"],
                                     "user_id": ["u1", "u1", "u2", None]}))
    kept, gone = log.without_users(["u1", "nobody"])
    assert gone == 1 and len(kept) == 2 and "u1" not in set(kept.frame["user_id"].dropna())
    same, none = log.without_users([])
    assert same is log and none == 0


def test_the_store_forgets_a_customer_and_their_sessions(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite3")
    theirs, theirs_too, other = store.create("u1"), store.create("u1"), store.create("u2")
    assert store.forget_customer("u1") == 2
    assert store.forget_customer("u1") == 0  # asking twice removes nothing more and is no error
    assert store.is_forgotten("u1") and not store.is_forgotten("u2")
    assert store.load(other.session_id).user_id == "u2" and store.count() == 1
    assert theirs.session_id.encode() not in (tmp_path / "s.sqlite3").read_bytes()
    assert theirs_too.session_id != theirs.session_id
    store.close()
    assert forgotten_customers_in(tmp_path / "s.sqlite3") == frozenset({"u1"})
    with pytest.raises(ConfigError, match="no session store"):
        forgotten_customers_in(tmp_path / "missing.sqlite3", must_exist=True)
    assert forgotten_customers_in(tmp_path / "missing.sqlite3") == frozenset()  # a new store forgot no one


def test_forgetting_a_customer_over_http(scripted_assistant: Assistant) -> None:
    user, baskets, lines = _customer_with_history(scripted_assistant, {"12345", "12347"})
    assert scripted_assistant.actions.shop.profiles.build(user).purchase_count == baskets
    access = WebAccess.of(public_keys=[PUBLIC])
    server, page = {"X-API-Key": PRIVATE}, {"X-API-Key": PUBLIC}
    with TestClient(create_app(scripted_assistant, api_keys=[PRIVATE], rate_limit_per_minute=None,
                               web=access)) as c:
        session = c.post("/v1/sessions", json={"user_id": user}, headers=server).json()["session_id"]
        assert c.post(f"/v1/sessions/{session}/messages", json={"text": "a present for a gardener"},
                      headers=server).status_code == 200
        assert scripted_assistant.state(session).profile["user_id"] == user
        refused = c.delete(f"/v1/customers/{user}", headers=page)
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "forbidden"
        answer = c.delete(f"/v1/customers/{user}", headers=server)
        assert answer.status_code == 200
        assert answer.json() == {"customer_id": user, "purchases_in_profile": baskets, "purchase_lines": lines,
                                 "sessions_deleted": 1, "left_out_of_next_index_build": True}
        assert c.get(f"/v1/sessions/{session}/cart", headers=server).status_code == 404
        # the customer still shops, with no history behind them
        again = c.post("/v1/sessions", json={"user_id": user}, headers=server).json()["session_id"]
        assert scripted_assistant.state(again).user_id is None
        assert c.post(f"/v1/sessions/{again}/messages", json={"text": "a present for a gardener"},
                      headers=server).status_code == 200
        profile = scripted_assistant.state(again).profile
        assert not profile.get("user_id") and not profile.get("favourite_items") and not profile.get("purchase_count")
    assert scripted_assistant.actions.shop.profiles.build(user).purchase_count == 0
    assert user in scripted_assistant.store.forgotten_customers()


def test_the_next_index_build_leaves_a_forgotten_customer_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARTSMITH_CACHE", str(tmp_path / "cache"))
    catalog = Catalog([Item(f"i{n}", title, 2.0 + n, category=category) for n, (title, category) in enumerate([
        ("Red Teacup", "tea"), ("Blue Teacup", "tea"), ("Cake Stand", "tea"), ("Teapot", "tea"),
        ("Garden Trowel", "garden"), ("Watering Can", "garden"), ("Plant Pot", "garden"), ("Seed Tin", "garden")])])
    rows = [(f"b{n}", f"i{(n + k) % 8}", f"u{n % 5}") for n in range(80) for k in range(5)]
    log = Interactions(pd.DataFrame(rows, columns=["basket_id", "item_id", "user_id"]))
    out = tmp_path / "index"
    ensure_index(catalog, log, out)
    first = read_manifest(out)
    assert first is not None and first["customers_left_out"] == 0 and first["users"] == 5
    ensure_index(catalog, log, out, leave_out_users=["u3"])  # a customer forgotten since: rebuilt
    second = read_manifest(out)
    assert second is not None and second["customers_left_out"] == 1 and second["users"] == 4
    assert second["data_hash"] != first["data_hash"]
    stored = pd.read_parquet(out / "interactions.parquet")
    assert "u3" not in set(stored["user_id"].astype(str))
    assert "u3" not in json.dumps(second)  # the manifest counts, never names
    created = second["created"]
    ensure_index(catalog, log, out, leave_out_users=["u3"])  # nothing new: no rebuild
    assert read_manifest(out)["created"] == created  # type: ignore[index]
