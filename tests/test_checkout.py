"""Checkout hand-off: a cart becomes an order (lines, quantities, prices, total by code), sent
to a real webhook receiver on loopback signed with HMAC-SHA256, retried with backoff when the
receiver fails, never sent twice for one idempotency key, and readable with its delivery log."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.dialogue.service import Assistant
from assistant.dialogue.session import SessionStore
from assistant.serve.api import create_app
from assistant.serve.web_access import WebAccess
from assistant.serve.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookConfig,
    WebhookSender,
    verify_signature,
)
from retrieval.errors import ConfigError

SECRET = "shared-secret-of-the-shop-0123"
PRIVATE, PUBLIC = "server-secret-key", "pk_page_key"


class Receiver:
    """A shop's webhook endpoint on loopback: answers each request with the next status of
    `statuses` (the last one repeats) and keeps what it received."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses[min(len(receiver.received) - 1, len(receiver.statuses) - 1)]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cartsmith"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _config(url: str, **retry: Any) -> WebhookConfig:
    return WebhookConfig(url=url, secret=SECRET, **({"first_retry_s": 0.05, "backoff": 2.0} | retry))


def _wait_for(check: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    shop = Receiver([200])
    yield shop
    shop.close()


def _client(assistant: Assistant, webhook: WebhookConfig | None) -> TestClient:
    return TestClient(create_app(assistant, api_keys=[PRIVATE], rate_limit_per_minute=None,
                                 web=WebAccess.of(public_keys=[PUBLIC]), webhook=webhook))


def _filled_cart(client: TestClient, assistant: Assistant) -> tuple[str, list[tuple[str, float, int]]]:
    server = {"X-API-Key": PRIVATE}
    session = client.post("/v1/sessions", headers=server).json()["session_id"]
    items = [item for item in assistant.index.catalog.items if item.price][:2]
    for item, quantity in zip(items, (3, 1), strict=True):
        assert client.post(f"/v1/sessions/{session}/cart", json={"item_id": item.item_id, "quantity": quantity},
                           headers=server).status_code == 200
    return session, [(item.item_id, float(item.price or 0), q) for item, q in zip(items, (3, 1), strict=True)]


def test_a_checkout_is_an_order_sent_signed_once(scripted_assistant: Assistant, receiver: Receiver,
                                                 live_rules_put_back: Any) -> None:
    server = {"X-API-Key": PRIVATE}
    with _client(scripted_assistant, _config(receiver.url)) as client:
        session, lines = _filled_cart(client, scripted_assistant)
        before = getattr(live_rules_put_back, "live_orders", 0)
        made = client.post(f"/v1/sessions/{session}/checkout", json={"idempotency_key": "checkout-key-0001"},
                           headers=server)
        assert made.status_code == 201, made.text
        order = made.json()
        assert [(ln["item_id"], ln["unit_price"], ln["quantity"]) for ln in order["lines"]] == lines
        assert order["total"] == round(sum(price * q for _, price, q in lines), 2) and order["currency"] == "GBP"
        assert all(ln["line_total"] == round(ln["unit_price"] * ln["quantity"], 2) for ln in order["lines"])
        assert client.get(f"/v1/sessions/{session}/cart", headers=server).json()["cart"] == []
        assert getattr(live_rules_put_back, "live_orders", 0) == before + 1  # its co-purchases count
        _wait_for(lambda: client.get(f"/v1/orders/{order['order_id']}", headers=server)
                  .json()["delivery"]["state"] == "delivered")
        # the same key again: the same order back, nothing sent again
        again = client.post(f"/v1/sessions/{session}/checkout", headers={**server,
                                                                         "Idempotency-Key": "checkout-key-0001"})
        assert again.status_code == 200 and again.json()["order_id"] == order["order_id"]
        time.sleep(0.3)
        assert len(receiver.received) == 1
        delivered = client.get(f"/v1/orders/{order['order_id']}", headers=server).json()
        assert [a["status"] for a in delivered["delivery"]["attempts"]] == [200]
    sent = receiver.received[0]
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert verify_signature(SECRET, headers[TIMESTAMP_HEADER.lower()], sent["body"], headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature("another-secret-entirely", headers[TIMESTAMP_HEADER.lower()], sent["body"],
                                headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature(SECRET, headers[TIMESTAMP_HEADER.lower()], sent["body"] + b" ",
                                headers[SIGNATURE_HEADER.lower()])
    stale = str(int(headers[TIMESTAMP_HEADER.lower()]) - 3600)  # a replayed request an hour later
    assert not verify_signature(SECRET, stale, sent["body"], headers[SIGNATURE_HEADER.lower()])
    body = json.loads(sent["body"])
    assert body["order_id"] == order["order_id"] and body["idempotency_key"] == "checkout-key-0001"
    assert headers["idempotency-key"] == "checkout-key-0001" and headers["x-cartsmith-event"] == "order.created"


def test_a_failing_receiver_is_retried_with_backoff(tmp_path: Any) -> None:
    shop = Receiver([500, 503, 200])
    store = SessionStore(tmp_path / "s.sqlite3")
    try:
        store.add_checkout("ord_1", "key-0000001", json.dumps({"order_id": "ord_1", "idempotency_key": "key-0000001"}),
                           json.dumps({"state": "pending", "attempts": []}))
        sender = WebhookSender(_config(shop.url), store).start()  # picks up what is pending
        _wait_for(lambda: json.loads(store.checkout("ord_1")[1])["state"] == "delivered")  # type: ignore[index]
        attempts = json.loads(store.checkout("ord_1")[1])["attempts"]  # type: ignore[index]
        assert [a["status"] for a in attempts] == [500, 503, 200] and attempts[0]["error"] == "HTTP 500"
        sender.stop()
    finally:
        shop.close()


def test_a_receiver_that_never_answers_ok_is_given_up_after_the_last_attempt(tmp_path: Any) -> None:
    shop = Receiver([500])
    store = SessionStore(tmp_path / "s.sqlite3")
    try:
        store.add_checkout("ord_2", "key-0000002", json.dumps({"order_id": "ord_2", "idempotency_key": "key-0000002"}),
                           json.dumps({"state": "pending", "attempts": []}))
        sender = WebhookSender(_config(shop.url, max_attempts=3), store).start()
        _wait_for(lambda: json.loads(store.checkout("ord_2")[1])["state"] == "failed")  # type: ignore[index]
        time.sleep(0.3)
        assert len(shop.received) == 3
        sender.stop()
        # nothing listens at all: a refused connection is an attempt too
        shop.close()
        store.add_checkout("ord_3", "key-0000003", json.dumps({"order_id": "ord_3", "idempotency_key": "key-0000003"}),
                           json.dumps({"state": "pending", "attempts": []}))
        sender = WebhookSender(_config(shop.url, max_attempts=2), store).start()
        _wait_for(lambda: json.loads(store.checkout("ord_3")[1])["state"] == "failed")  # type: ignore[index]
        attempts = json.loads(store.checkout("ord_3")[1])["attempts"]  # type: ignore[index]
        assert [a["status"] for a in attempts] == [None, None] and all(a["error"] for a in attempts)
        sender.stop()
    finally:
        shop.server.server_close()


def test_what_a_checkout_refuses(scripted_assistant: Assistant) -> None:
    server, page = {"X-API-Key": PRIVATE}, {"X-API-Key": PUBLIC}
    with _client(scripted_assistant, None) as client:
        session = client.post("/v1/sessions", headers=server).json()["session_id"]
        empty = client.post(f"/v1/sessions/{session}/checkout", headers=server)
        assert empty.status_code == 400 and "cart" in empty.json()["error"]["message"]
        bad_key = client.post(f"/v1/sessions/{session}/checkout", json={"idempotency_key": "no spaces!"},
                              headers=server)
        assert bad_key.status_code == 400 and "idempotency_key" in bad_key.json()["error"]["message"]
        assert client.post(f"/v1/sessions/{session}/checkout", headers=page).status_code == 403
        assert client.get("/v1/orders/ord_nosuch", headers=server).status_code == 404
        assert client.post("/v1/sessions/no-such-session/checkout", headers=server).status_code == 404


def test_without_a_webhook_an_order_waits_to_be_read(scripted_assistant: Assistant, live_rules_put_back: Any) -> None:
    server = {"X-API-Key": PRIVATE}
    with _client(scripted_assistant, None) as client:
        session, _ = _filled_cart(client, scripted_assistant)
        order = client.post(f"/v1/sessions/{session}/checkout", headers=server).json()
        assert order["delivery"] == {"state": "not_configured", "attempts": []}
        assert order["idempotency_key"].startswith("auto_")
        assert client.get(f"/v1/orders/{order['order_id']}", headers=server).json()["total"] == order["total"]


@pytest.mark.parametrize(("fields", "named"), [
    ({"url": "ftp://shop.example/x", "secret": SECRET}, "webhook.url"),
    ({"url": "https://shop.example/x", "secret": "short"}, "webhook.secret"),
    ({"url": "https://shop.example/x", "secret": SECRET, "max_attempts": 0}, "webhook.max_attempts"),
])
def test_a_bad_webhook_config_names_the_field(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        WebhookConfig(**fields)


def test_serve_takes_a_webhook_url_and_its_secret_from_the_environment(
        scripted_assistant: Assistant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    import assistant.serve.chat_cli as chat_cli
    from assistant.serve.cli import main

    monkeypatch.setattr(chat_cli, "build_assistant", lambda args: scripted_assistant)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.delenv("CARTSMITH_WEBHOOK_SECRET", raising=False)
    assert main(["serve", "--webhook-url", receiver.url]) == 2  # no secret: refused before loading
    monkeypatch.setenv("CARTSMITH_WEBHOOK_SECRET", SECRET)
    assert main(["serve", "--webhook-url", "mailto:shop@example.com"]) == 2
    assert main(["serve", "--webhook-url", receiver.url]) == 0
    assert seen["app"] is not None
