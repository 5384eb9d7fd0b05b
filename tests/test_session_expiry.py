"""Sessions expire after a configurable idle time and are purged: loading an expired one says
so (404 `session_expired` over HTTP), a purge removes every idle one and keeps the rest, and
a store with no expiry keeps sessions until they are deleted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.dialogue import session as session_module
from assistant.dialogue.service import Assistant, AssistantConfig
from assistant.dialogue.session import IdleExpiry, SessionExpired, SessionNotFound, SessionStore
from assistant.serve.api import create_app
from retrieval.errors import ConfigError


def _age(store: SessionStore, session_id: str, seconds: float) -> None:
    """Make a session look as if its last turn was `seconds` ago."""
    store._db.execute("UPDATE sessions SET updated = ? WHERE session_id = ?", (time.time() - seconds, session_id))


def test_an_idle_session_expires_and_says_so(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite3", idle_expiry_s=30 * 60)
    idle, fresh = store.create(), store.create()
    _age(store, idle.session_id, 31 * 60)
    _age(store, fresh.session_id, 29 * 60)
    with pytest.raises(SessionExpired) as caught:
        store.load(idle.session_id)
    assert "expired after 30 minutes without a turn" in str(caught.value)
    assert isinstance(caught.value, SessionNotFound)  # every surface that handles a missing session handles it
    with pytest.raises(SessionNotFound) as again:  # gone, not expired twice
        store.load(idle.session_id)
    assert not isinstance(again.value, SessionExpired)
    assert store.load(fresh.session_id).session_id == fresh.session_id
    # a turn keeps a session alive: saving resets its idle time
    _age(store, fresh.session_id, 29 * 60)
    store.save(store.load(fresh.session_id))
    assert store.purge_expired(time.time() + 10 * 60) == 0


def test_a_purge_removes_every_idle_session_and_keeps_the_rest(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite3", idle_expiry_s=3600)
    idle = [store.create() for _ in range(3)]
    kept = store.create()
    for state in idle:
        _age(store, state.session_id, 2 * 3600)
    assert store.purge_expired() == 3
    assert store.count() == 1 and store.load(kept.session_id)
    # the words of a purged session are not left in the file
    assert idle[0].session_id.encode() not in (tmp_path / "s.sqlite3").read_bytes()


def test_creating_a_session_purges_at_most_once_a_minute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SessionStore(tmp_path / "s.sqlite3", idle_expiry_s=60)
    old = store.create()  # the store's first create purges (nothing yet)
    _age(store, old.session_id, 120)
    store.create()  # within the minute: no second purge
    assert store.count() == 2
    now = time.time()
    monkeypatch.setattr(session_module.time, "time", lambda: now + session_module.PURGE_EVERY_S + 1)
    newest = store.create()  # a minute on, every session idle past the minute goes
    assert store.count() == 1 and store.load(newest.session_id)
    with pytest.raises(SessionNotFound):
        store.load(old.session_id)


def test_without_an_expiry_sessions_stay(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite3", idle_expiry_s=None)
    state = store.create()
    _age(store, state.session_id, 400 * 24 * 3600)
    assert store.load(state.session_id).session_id == state.session_id
    assert store.purge_expired() == 0
    with pytest.raises(ValueError, match="idle_expiry_s"):
        IdleExpiry(0)


def test_the_idle_time_is_configured_and_checked() -> None:
    assert AssistantConfig().idle_expiry_s() == 24 * 3600
    assert AssistantConfig(session_idle_minutes=0).idle_expiry_s() is None
    assert AssistantConfig(session_idle_minutes=15).idle_expiry_s() == 900
    with pytest.raises(ConfigError, match=r"assistant\.session_idle_minutes"):
        AssistantConfig(session_idle_minutes=-5)
    with pytest.raises(ConfigError, match="unknown"):
        AssistantConfig.from_dict({"session_idle_minute": 5})


def test_an_expired_session_is_a_404_that_says_what_to_do(scripted_assistant: Assistant,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    store = scripted_assistant.store
    monkeypatch.setattr(store, "expiry", IdleExpiry(60))
    with TestClient(create_app(scripted_assistant, rate_limit_per_minute=None)) as client:
        session_id = client.post("/v1/sessions", json={}).json()["session_id"]
        _age(store, session_id, 61)
        answer = client.post(f"/v1/sessions/{session_id}/messages", json={"text": "a tea party bundle"})
        assert answer.status_code == 404
        error = answer.json()["error"]
        assert error["type"] == "session_expired"
        assert "expired after 1 minute without a turn" in error["message"] and "POST /v1/sessions" in error["message"]
        # the OpenAI-compatible route: a session named by its header is expired too
        session_id = client.post("/v1/sessions", json={}).json()["session_id"]
        _age(store, session_id, 61)
        answer = client.post("/v1/chat/completions", headers={"X-Session-Id": session_id},
                             json={"model": "cartsmith", "messages": [{"role": "user", "content": "hello"}]})
        assert answer.status_code == 404 and answer.json()["error"]["type"] == "session_expired"
