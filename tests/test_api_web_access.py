"""The API from a shop's own pages (`assistant/serve/web_access.py`): CORS for the origins
the shop lists and none else, and a public key that can only chat and fill a cart, never
name a customer, counted per client address."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.dialogue.service import Assistant
from assistant.serve.api import create_app
from assistant.serve.web_access import WebAccess
from retrieval.errors import ConfigError

SHOP = "https://shop.example"
PRIVATE, PUBLIC = "server-secret-key", "pk_page_key"


def _app(assistant: Assistant, **web: Any) -> Any:
    access = WebAccess.of(public_keys=[PUBLIC], cors_origins=[SHOP], **web)
    return create_app(assistant, api_keys=[PRIVATE], rate_limit_per_minute=None, web=access)


def test_cors_answers_the_shops_origin_only(scripted_assistant: Assistant) -> None:
    with TestClient(_app(scripted_assistant)) as c:
        preflight = c.options("/v1/sessions", headers={"Origin": SHOP, "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "x-api-key,content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == SHOP
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
        other = c.options("/v1/sessions", headers={"Origin": "https://elsewhere.example",
                                                   "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers
        made = c.post("/v1/sessions", headers={"Origin": SHOP, "X-API-Key": PUBLIC})
        assert made.status_code == 201 and made.headers["access-control-allow-origin"] == SHOP
    with TestClient(create_app(scripted_assistant, rate_limit_per_minute=None)) as c:  # none by default
        plain = c.options("/v1/sessions", headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in plain.headers


def test_a_public_key_chats_and_fills_a_cart_and_nothing_else(scripted_assistant: Assistant) -> None:
    page = {"X-API-Key": PUBLIC}
    with TestClient(_app(scripted_assistant)) as c:
        session = c.post("/v1/sessions", headers=page).json()["session_id"]
        reply = c.post(f"/v1/sessions/{session}/messages", json={"text": "a present for a gardener"}, headers=page)
        assert reply.status_code == 200
        item = reply.json()["bundle"]["items"][0]["item_id"]
        assert c.post(f"/v1/sessions/{session}/cart", json={"item_id": item, "quantity": 2},
                      headers=page).status_code == 200
        assert c.get(f"/v1/sessions/{session}/cart", headers=page).json()["count"] == 2
        assert c.delete(f"/v1/sessions/{session}/cart/{item}", headers=page).status_code == 200
        chat = {"messages": [{"role": "user", "content": "something for a cat lover"}]}
        assert c.post("/v1/chat/completions", json=chat, headers=page).status_code == 200
        for method, path, body in (("POST", "/v1/orders", {"item_ids": [item]}),
                                   ("DELETE", f"/v1/sessions/{session}", None)):
            refused = c.request(method, path, json=body, headers=page)
            assert refused.status_code == 403 and refused.json()["error"]["type"] == "forbidden", path
        borrowed = c.post("/v1/sessions", json={"user_id": "12347"}, headers=page)
        assert borrowed.status_code == 403 and "user_id" in borrowed.json()["error"]["message"]
        # the shop's server, with its private key, does all of it
        server = {"Authorization": f"Bearer {PRIVATE}"}
        assert c.post("/v1/sessions", json={"user_id": "12347"}, headers=server).status_code == 201
        assert c.delete(f"/v1/sessions/{session}", headers=server).status_code == 200
        assert c.post("/v1/sessions", headers={"X-API-Key": "pk_guessed"}).status_code == 401


def test_a_public_key_is_counted_per_client_address(scripted_assistant: Assistant) -> None:
    with TestClient(_app(scripted_assistant, public_rate_limit_per_minute=2)) as c:
        statuses = [c.post("/v1/sessions", headers={"X-API-Key": PUBLIC}).status_code for _ in range(3)]
        assert statuses == [201, 201, 429]
        assert c.post("/v1/sessions", headers={"X-API-Key": PRIVATE}).status_code == 201  # the server's own budget


@pytest.mark.parametrize(("web", "private", "names"), [
    ({"cors_origins": ["*"]}, [PRIVATE], "cors_origins[0]"),
    ({"cors_origins": [SHOP, "shop.example/path"]}, [PRIVATE], "cors_origins[1]"),
    ({"public_keys": [PUBLIC]}, [], "public_keys"),
    ({"public_keys": [PRIVATE]}, [PRIVATE], "public_keys[0]"),
    ({"public_keys": [" spaced "]}, [PRIVATE], "public_keys[0]"),
    ({"public_rate_limit_per_minute": -1}, [PRIVATE], "public_rate_limit_per_minute"),
])
def test_bad_web_access_names_the_field(web: dict[str, Any], private: list[str], names: str) -> None:
    with pytest.raises(ConfigError) as err:
        WebAccess.of(**web).check_against(private)
    assert names in str(err.value)


def test_serve_takes_origins_and_public_keys(scripted_assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    import assistant.serve.chat_cli as chat_cli
    from assistant.serve.cli import main

    monkeypatch.setattr(chat_cli, "build_assistant", lambda args: scripted_assistant)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.setenv("CARTSMITH_CORS_ORIGINS", "https://other.example")
    assert main(["serve", "--api-key", PRIVATE, "--public-key", PUBLIC, "--cors-origin", SHOP + "/"]) == 0
    with TestClient(seen["app"]) as c:
        for origin in (SHOP, "https://other.example"):
            made = c.post("/v1/sessions", headers={"Origin": origin, "X-API-Key": PUBLIC})
            assert made.status_code == 201 and made.headers["access-control-allow-origin"] == origin
        assert c.post("/v1/orders", json={"item_ids": ["x"]}, headers={"X-API-Key": PUBLIC}).status_code == 403
    assert main(["serve", "--public-key", PUBLIC]) == 2  # no private key: refused before loading
    assert main(["serve", "--api-key", PRIVATE, "--cors-origin", "*"]) == 2
