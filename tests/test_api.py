"""The HTTP API over the real Assistant: fast with the scripted model (`scripted_model.py`),
slow once with the tuned SmolLM2 over a real socket.

The streaming contract is shown with a scripted writer that waits for the test: the SSE
stream must send the composed bundle while the writer has not yet written a word.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from scripted_model import ScriptedParser, ScriptedWriter

from assistant.dialogue.service import Assistant
from assistant.dialogue.session import bundle_from_state
from assistant.serve.api import create_app
from assistant.serve.api_guards import RateLimiter
from retrieval.shop_index import ShopIndex

SECRET_TEXT = "my email is jane.doe@example.com and I want a teapot"


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on a socket bound here (127.0.0.1, free port); yields the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def sse_events(lines: Iterator[str]) -> Iterator[Any]:
    for line in lines:
        if not line.startswith("data: "):
            continue
        payload = line[len("data: "):]
        yield "[DONE]" if payload == "[DONE]" else json.loads(payload)


def money(value: float) -> str:
    return f"£{value:,.2f}"


@pytest.fixture
def client(scripted_assistant: Assistant) -> Iterator[TestClient]:
    with TestClient(create_app(scripted_assistant, rate_limit_per_minute=None)) as c:
        yield c


# ------------------------------------------------------------------------------------------
# the contract, over the scripted model
# ------------------------------------------------------------------------------------------
def test_session_message_cart_delete(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "ready": True}
    created = client.post("/v1/sessions")
    assert created.status_code == 201
    sid = created.json()["session_id"]
    assert client.post("/v1/sessions", json={"user_id": "12345"}).status_code == 201

    reply = client.post(f"/v1/sessions/{sid}/messages", json={"text": "a tea party under £20"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["session_id"] == sid and body["kind"] == "bundle" and body["writer"] == "scripted"
    items = body["bundle"]["items"]
    assert {"item_id", "title", "price", "reasons"} <= set(items[0]) and items[0]["reasons"]
    assert body["bundle"]["total"] == body["total"] == pytest.approx(sum(i["price"] for i in items), abs=0.011)
    assert body["total"] <= 20 and money(body["total"]) in body["reply"]
    for item in items:
        assert f"{item['title']} ({money(item['price'])})" in body["reply"]

    pick = items[0]
    cart = client.post(f"/v1/sessions/{sid}/cart", json={"item_id": pick["item_id"], "quantity": 2}).json()
    assert cart["cart"] == [{"item_id": pick["item_id"], "title": pick["title"], "price": pick["price"],
                             "quantity": 2}]
    assert cart["total"] == round(2 * pick["price"], 2) and cart["count"] == 2
    assert client.get(f"/v1/sessions/{sid}/cart").json() == cart
    assert client.delete(f"/v1/sessions/{sid}/cart/{pick['item_id']}").json()["cart"] == []

    unknown = client.post(f"/v1/sessions/{sid}/cart", json={"item_id": "NOPE"})
    assert unknown.status_code == 400 and "NOPE" in unknown.json()["error"]["message"]

    assert client.delete(f"/v1/sessions/{sid}").json() == {"session_id": sid, "deleted": True}
    for response in (client.get(f"/v1/sessions/{sid}/cart"),
                     client.post(f"/v1/sessions/{sid}/messages", json={"text": "hi"}),
                     client.delete(f"/v1/sessions/{sid}")):
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "session_not_found"
    assert client.get("/openapi.json").json()["paths"]["/v1/chat/completions"]


def test_input_limits_and_bad_bodies_are_4xx(client: TestClient) -> None:
    sid = client.post("/v1/sessions").json()["session_id"]
    url = f"/v1/sessions/{sid}/messages"
    too_long = client.post(url, json={"text": "tea " * 25_000})
    assert too_long.status_code == 413
    assert too_long.json()["error"]["field"] == "text" and too_long.json()["error"]["limit"] == 2_000
    assert client.post(url, json={"text": "x" * 2_000_000}).status_code == 413  # over the body limit
    empty = client.post(url, json={"text": "  \u200b "})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "text"

    bad = [client.post(url, content=b"{not json", headers={"content-type": "application/json"}),
           client.post(url, json={"txt": "hello"}),
           client.post(url, json={"text": ["a", "list"]}),
           client.post(url, json=["text"]),
           client.post(url, content=b'{"text": "hi"}'),  # no content type
           client.post(f"/v1/sessions/{sid}/cart", json={"item_id": "22423", "quantity": 0}),
           client.post(f"/v1/sessions/{sid}/cart", json={"item_id": "22423", "quantity": "many"}),
           client.post("/v1/sessions", json={"user_id": {"x": 1}}),
           client.post("/v1/chat/completions", json={"messages": []}),
           client.post("/v1/chat/completions", json={"model": "x", "messages": "hello"}),
           client.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "hi"}]})]
    for response in bad:
        assert response.status_code == 422, (response.request.url, response.text)
        assert response.json()["error"]["message"]
        assert "hello" not in response.text  # the input is not echoed back
    assert client.post(f"/v1/sessions/{'x' * 300}/messages", json={"text": "hi"}).status_code == 422
    assert client.get("/v1/nowhere").status_code == 404
    assert client.get(f"/v1/sessions/{sid}/cart").json()["cart"] == []  # nothing half-done


def test_unexpected_error_is_generic_500_and_logs_no_text(scripted_assistant: Assistant,
                                                          scripted_parser: ScriptedParser,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    scripted_parser.add({"boom": RuntimeError("scripted failure while parsing 'boom'")})
    with TestClient(create_app(scripted_assistant, rate_limit_per_minute=None), raise_server_exceptions=False) as c:
        sid = c.post("/v1/sessions").json()["session_id"]
        with caplog.at_level(logging.INFO):
            ok = c.post(f"/v1/sessions/{sid}/messages", json={"text": SECRET_TEXT})
            boom = c.post(f"/v1/sessions/{sid}/messages", json={"text": "boom"})
    assert ok.status_code == 200
    assert boom.status_code == 500
    assert boom.json() == {"error": {"type": "internal_error",
                                     "message": "internal error; the request was not completed"}}
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("cartsmith"))
    assert "RuntimeError" in logged and "/v1/sessions/{session_id}/messages" in logged
    assert "boom" not in logged and "jane" not in logged and "teapot" not in logged and sid not in logged
    assert scripted_assistant.state(sid).turns == 1  # the failed turn saved nothing


def test_a_full_decoding_queue_is_503_with_retry_after(scripted_assistant: Assistant,
                                                       scripted_parser: ScriptedParser) -> None:
    from assistant.llm.batching import Overloaded

    busy = "busy now please"
    scripted_parser.add({busy: Overloaded("the assistant is busy (limit batching.max_queue = 64)", 3)})
    with TestClient(create_app(scripted_assistant, rate_limit_per_minute=None)) as c:
        sid = c.post("/v1/sessions").json()["session_id"]
        refused = c.post(f"/v1/sessions/{sid}/messages", json={"text": busy})
        assert c.post(f"/v1/sessions/{sid}/messages", json={"text": "a teapot"}).status_code == 200
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "3"
    assert refused.json()["error"]["type"] == "overloaded" and "max_queue" in refused.json()["error"]["message"]
    assert scripted_assistant.state(sid).turns == 1  # the refused turn saved nothing


def test_api_keys_and_rate_limit(scripted_assistant: Assistant) -> None:
    app = create_app(scripted_assistant, api_keys=["k-one", "k-two"], rate_limit_per_minute=3)
    with TestClient(app) as c:
        assert c.get("/health").status_code == 200  # open
        missing = c.post("/v1/sessions")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert c.post("/v1/sessions", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.post("/v1/sessions", headers={"Authorization": "Bearer k-one"}).status_code == 201
        assert c.post("/v1/sessions", headers={"X-API-Key": "k-one"}).status_code == 201
        assert c.get("/v1/models", headers={"X-API-Key": "k-one"}).status_code == 200
        limited = c.post("/v1/sessions", headers={"X-API-Key": "k-one"})
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.json()["error"]["type"] == "rate_limited"
        assert c.post("/v1/sessions", headers={"X-API-Key": "k-two"}).status_code == 201  # per key
        chat = {"messages": [{"role": "user", "content": "hi"}]}
        statuses = [c.post("/v1/chat/completions", json=chat, headers={"X-API-Key": "k-two"}).status_code
                    for _ in range(3)]
        assert statuses == [200, 200, 429]  # one count per request, not per dependency


def test_rate_limiter_window() -> None:
    limiter = RateLimiter(2, window_s=60)
    assert limiter.check("a", now=0.0) is None and limiter.check("a", now=1.0) is None
    assert limiter.check("a", now=2.0) == pytest.approx(58.0)
    assert limiter.check("b", now=2.0) is None
    assert limiter.check("a", now=60.5) is None  # the first hit left the window
    assert RateLimiter(None).check("a") is None


def test_chat_completions_sessions(client: TestClient) -> None:
    def ask(text: str, **extra: Any) -> Any:
        headers = extra.pop("headers", {})
        return client.post("/v1/chat/completions", headers=headers, json={
            "model": "cartsmith", "messages": [{"role": "system", "content": "be nice"},
                                               {"role": "user", "content": text}], **extra})

    first = ask("a tea party under £20", user="shopper-1")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    content = body["choices"][0]["message"]["content"]
    assert content.startswith("Picked for tea party:") and money(body["bundle"]["total"]) in content
    assert body["kind"] == "bundle" and body["session_id"] == first.headers["x-session-id"]
    assert body["usage"]["completion_tokens"] > 0
    again = ask("hello", user="shopper-1").json()
    assert again["session_id"] == body["session_id"] and again["bundle"] is None
    assert ask("hello", user="shopper-2").json()["session_id"] != body["session_id"]
    assert ask("hello").json()["session_id"] != body["session_id"]
    by_header = ask("make it cheaper", headers={"X-Session-Id": body["session_id"]}).json()
    assert by_header["session_id"] == body["session_id"] and by_header["kind"] == "bundle"
    assert by_header["bundle"]["total"] < body["bundle"]["total"]  # the session's bundle, edited
    assert ask("hello", headers={"X-Session-Id": "not-a-session"}).status_code == 404
    parts = client.post("/v1/chat/completions", json={"messages": [
        {"role": "user", "content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}]}]})
    assert parts.json()["kind"] == "smalltalk"
    assert ask("x" * 100_000).status_code == 413
    client.delete(f"/v1/sessions/{body['session_id']}")
    assert ask("hello", user="shopper-1").json()["session_id"] != body["session_id"]  # a fresh one


def test_streaming_sends_the_bundle_before_the_writer_runs(scripted_assistant: Assistant,
                                                          scripted_parser: ScriptedParser,
                                                          scripted_writer: ScriptedWriter) -> None:
    release = threading.Event()
    writer, assistant = scripted_writer, scripted_assistant
    writer.release = release
    scripted_parser.add({"boom": RuntimeError("scripted failure while parsing 'boom'")})
    with serve_in_thread(create_app(assistant, rate_limit_per_minute=None)) as base, \
            httpx.Client(base_url=base) as http:
        request = {"model": "cartsmith", "stream": True,
                   "messages": [{"role": "user", "content": "a tea party under £20"}]}
        with http.stream("POST", "/v1/chat/completions", json=request, timeout=30) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            sid = response.headers["x-session-id"]
            events = sse_events(response.iter_lines())
            first = next(events)
            # The writer is still waiting for the release: the bundle came first.
            assert writer.released == [] and not release.is_set()
            assert first["object"] == "chat.completion.chunk" and first["choices"][0]["delta"]["role"] == "assistant"
            assert first["session_id"] == sid
            bundle = first["bundle"]
            assert len(bundle["items"]) >= 2 and all(i["price"] is not None for i in bundle["items"])
            release.set()
            rest = list(events)
        assert writer.released == [True]
        assert rest[-1] == "[DONE]"
        text = "".join(e["choices"][0]["delta"].get("content", "") for e in rest[:-1])
        assert text == assistant.state(sid).history[-1]["reply"]  # the whole answer, as stored
        assert text.startswith("Picked for tea party:") and text.endswith(money(bundle["total"]) + " (budget £20.00)")
        for item in bundle["items"]:
            assert f"{item['title']} ({money(item['price'])})" in text
        final = rest[-2]
        assert final["choices"][0]["finish_reason"] == "stop"
        assert final["cartsmith"]["total"] == bundle["total"] and final["cartsmith"]["writer"] == "scripted"

        # A turn without a bundle: the first chunk still comes (bundle null), then text.
        request["messages"] = [{"role": "user", "content": "hello"}]
        with http.stream("POST", "/v1/chat/completions", json=request, timeout=30) as response:
            events_list = list(sse_events(response.iter_lines()))
        assert events_list[0]["bundle"] is None and events_list[-1] == "[DONE]"
        assert events_list[-2]["cartsmith"]["kind"] == "smalltalk"
        # A turn that fails once the stream has started: an error chunk, generic, then [DONE].
        request["messages"] = [{"role": "user", "content": "boom"}]
        with http.stream("POST", "/v1/chat/completions", json=request, timeout=30) as response:
            failed = list(sse_events(response.iter_lines()))
        assert response.status_code == 200 and failed[-1] == "[DONE]"
        assert failed[-2]["choices"][0]["finish_reason"] == "error"
        assert failed[-2]["error"]["type"] == "internal_error" and "boom" not in json.dumps(failed)
        # Errors before the stream starts are still plain HTTP errors.
        request["messages"] = [{"role": "user", "content": ""}]
        assert http.post("/v1/chat/completions", json=request).status_code == 422
    assert writer.released == [True]  # the turns without a bundle never asked the writer


def test_an_order_counts_at_once_and_empties_the_cart(client: TestClient, shop_index: ShopIndex,
                                                      live_rules_put_back: Any) -> None:
    item_ids = [item.item_id for item in shop_index.catalog.items[:3]]
    sid = client.post("/v1/sessions").json()["session_id"]
    for item_id in item_ids:
        assert client.post(f"/v1/sessions/{sid}/cart", json={"item_id": item_id}).status_code == 200
    before = getattr(live_rules_put_back, "live_orders", 0)
    order = client.post("/v1/orders", json={"item_ids": item_ids, "session_id": sid})
    assert order.status_code == 200, order.text
    assert order.json() == {"recorded": True, "items": len(item_ids), "live_orders": before + 1}
    assert client.get(f"/v1/sessions/{sid}/cart").json()["cart"] == []
    bad_order = client.post("/v1/orders", json={"item_ids": ["NO-SUCH-ITEM"]})
    assert bad_order.status_code == 400 and "NO-SUCH-ITEM" in bad_order.text
    assert getattr(live_rules_put_back, "live_orders", 0) == before + 1  # the bad order changed nothing


# ------------------------------------------------------------------------------------------
# the terminal commands (chat, ask, serve), over the scripted model
# ------------------------------------------------------------------------------------------
@pytest.fixture
def cli_assistant(scripted_assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> Assistant:
    import assistant.serve.chat_cli as chat_cli

    monkeypatch.setattr(chat_cli, "build_assistant", lambda args: scripted_assistant)
    return scripted_assistant


def bundle_lines(assistant: Assistant, session_id: str) -> list[str]:
    """The session's bundle as the terminal prints it."""
    bundle = bundle_from_state(assistant.state(session_id).bundle or {}, assistant.index.catalog)
    return [f"{n}. {bi.item.title} [{bi.item.item_id}]  {money(bi.item.price or 0)}"
            for n, bi in enumerate(bundle.items, 1)] + [f"Total: {money(bundle.total)}"]


def test_ask_prints_reply_bundle_total_and_session(cli_assistant: Assistant, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.serve.cli import main

    assert main(["ask", "a tea party under £20", "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    sid = captured.err.strip().removeprefix("session: ")
    assert data["session_id"] == sid and data["reply"] and data["total"] == data["bundle"]["total"] <= 20
    assert {"item_id", "title", "price", "reasons"} <= set(data["bundle"]["items"][0])
    assert main(["ask", "swap the second one", f"--session={sid}"]) == 0
    text = capsys.readouterr().out
    for line in bundle_lines(cli_assistant, sid):
        assert line in text
    assert "Changed: added " in text and "(budget £20.00)" in text
    assert main(["ask", "", "--session", sid]) == 2  # empty: a clear error, no traceback
    assert "empty" in capsys.readouterr().err
    assert main(["ask", "hi", "--session", "gone"]) == 2


def test_chat_loop(cli_assistant: Assistant) -> None:
    import io

    import assistant.serve.chat_cli as chat_cli
    from assistant.serve.cli import build_parser

    # The composer is deterministic: a fresh session gets the bundle the chat will get.
    bundle = cli_assistant.turn(cli_assistant.open_session(), "tea party").bundle
    assert bundle is not None
    items = [bi.item for bi in bundle.items]
    script = io.StringIO(f"/cart\ntea party\n/add 2\n/add all\n/cart\n/add 9\n/remove {items[0].item_id}\n"
                         "/bogus\n/quit\n")
    out = io.StringIO()
    assert chat_cli.cmd_chat(build_parser().parse_args(["chat"]), stdin=script, stdout=out) == 0
    text = out.getvalue()
    last = len(items)
    assert "Your cart is empty." in text
    assert f"{last}. {items[-1].title} [{items[-1].item_id}]  {money(items[-1].price or 0)}" in text
    assert f"2 x {items[1].title} [{items[1].item_id}]  {money(2 * (items[1].price or 0))}" in text
    everything = sum(item.price or 0 for item in items) + (items[1].price or 0)
    assert f"Total: {money(round(everything, 2))}" in text
    assert f"/add takes a bundle item number 1-{last}" in text
    assert f"Total: {money(round(everything - (items[0].price or 0), 2))}" in text
    assert "unknown command /bogus" in text and "Bye." in text


def test_serve_builds_the_api(cli_assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from assistant.serve.cli import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.setenv("CARTSMITH_API_KEYS", "env-key")
    assert main(["serve", "--port", "8123", "--api-key", "cli-key", "--rate-limit", "0"]) == 0
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123 and seen["access_log"] is False
    with TestClient(seen["app"]) as c:
        assert c.post("/v1/sessions").status_code == 401
        assert c.post("/v1/sessions", headers={"X-API-Key": "cli-key"}).status_code == 201
        assert c.post("/v1/sessions", headers={"Authorization": "Bearer env-key"}).status_code == 201
    assert main(["serve", "--port", "0"]) == 2


# ------------------------------------------------------------------------------------------
# the tuned SmolLM2, over a real socket
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_api(real_assistant: Assistant) -> Iterator[str]:
    with serve_in_thread(create_app(real_assistant, rate_limit_per_minute=None)) as base:
        yield base


@pytest.mark.slow
def test_real_assistant_over_http(real_api: str, real_assistant: Assistant) -> None:
    def real_assistant_tokens(text: str) -> list[int]:
        return list(real_assistant.llm.tokenizer(text, add_special_tokens=False)["input_ids"])  # type: ignore[union-attr]

    with httpx.Client(base_url=real_api, timeout=300) as http:
        assert http.get("/health").json()["ready"] is True
        sid = http.post("/v1/sessions").json()["session_id"]
        start = time.perf_counter()
        response = http.post(f"/v1/sessions/{sid}/messages", json={"text": "a bundle for a tea party under £20"})
        latency = time.perf_counter() - start
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["kind"] == "bundle" and body["reply"].strip()
        items = body["bundle"]["items"]
        assert 2 <= len(items) <= 10
        for item in items:
            assert item["item_id"] and item["title"] and item["price"] is not None and item["reasons"]
        assert body["total"] == body["bundle"]["total"] <= 20
        assert body["total"] == pytest.approx(sum(i["price"] for i in items), abs=0.011)
        print(f"\nfirst turn over HTTP: {latency:.2f}s; writer {body['writer']}; timings {body['timings']}")

        completion = http.post("/v1/chat/completions", headers={"X-Session-Id": sid}, json={
            "model": "cartsmith", "messages": [{"role": "user", "content": "make it cheaper"}]})
        assert completion.status_code == 200, completion.text
        data = completion.json()
        assert data["object"] == "chat.completion" and data["session_id"] == sid
        assert data["choices"][0]["message"]["content"].strip()
        # usage tells the model's work: the parse prompt alone is a few hundred tokens
        usage = data["usage"]
        assert usage["prompt_tokens"] > 100 and usage["completion_tokens"] > 0
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        short = http.post("/v1/chat/completions", headers={"X-Session-Id": sid}, json={
            "model": "cartsmith", "max_tokens": 6, "messages": [{"role": "user", "content": "make it cheaper"}]}).json()
        assert short["choices"][0]["finish_reason"] == "length"
        assert len(real_assistant_tokens(short["choices"][0]["message"]["content"])) <= 6

        request = {"model": "cartsmith", "stream": True, "user": "api-test",
                   "messages": [{"role": "user", "content": "a gift set for a tea lover under £15"}]}
        with http.stream("POST", "/v1/chat/completions", json=request) as streamed:
            assert streamed.status_code == 200
            events = list(sse_events(streamed.iter_lines()))
        assert events[-1] == "[DONE]" and len(events) >= 3
        assert events[0]["object"] == "chat.completion.chunk" and "bundle" in events[0]
        if events[0]["bundle"] is not None:
            assert all(i["price"] is not None for i in events[0]["bundle"]["items"])
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-1])
        assert text.strip() and events[-2]["choices"][0]["finish_reason"] == "stop"

        assert http.delete(f"/v1/sessions/{sid}").status_code == 200
        assert http.post(f"/v1/sessions/{sid}/messages", json={"text": "hello"}).status_code == 404


# ------------------------------------------------------------------------------------------
# turn latency with the tuned model, for the record: `python tests/test_api.py`
# ------------------------------------------------------------------------------------------
def load_real_assistant(sessions: Path) -> Any:
    """The real Assistant on $CARTSMITH_INDEX, else the default Online Retail index (built first if missing)."""
    import os

    from assistant.dialogue.service import AssistantConfig
    from retrieval.shop_index import default_index_dir

    folder = Path(os.environ.get("CARTSMITH_INDEX") or default_index_dir("online-retail"))
    if not (folder / "manifest.json").exists():
        from retrieval.datasets import load_online_retail
        from retrieval.shop_index import ensure_index

        catalog, interactions, _ = load_online_retail()
        ensure_index(catalog, interactions, folder)
    return Assistant(AssistantConfig(index=str(folder), sessions=str(sessions)))


def measure_latency(base: str, turns: int = 10) -> dict[str, Any]:
    """Turn latency over HTTP (seconds)."""
    messages = ["a bundle for a tea party under £20", "make it cheaper", "a christmas gift set under £30",
                "swap the second item", "something for a picnic", "add a candle", "a birthday party for kids",
                "lunch bags under £10", "a garden party for 6", "make it cheaper"]
    seconds: list[float] = []
    steps: dict[str, list[float]] = {"parse": [], "act": [], "write": []}
    kinds, writers = [], []
    with httpx.Client(base_url=base, timeout=300) as http:
        sid = http.post("/v1/sessions").json()["session_id"]
        for text in (messages * 2)[:turns]:
            start = time.perf_counter()
            response = http.post(f"/v1/sessions/{sid}/messages", json={"text": text})
            seconds.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
            body = response.json()
            kinds.append(body["kind"])
            writers.append(body["writer"])
            for step, values in steps.items():
                values.append(body["timings"].get(step, 0.0))
    seconds.sort()
    return {"turns": len(seconds), "median_s": round(statistics.median(seconds), 3),
            "p95_s": round(seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))], 3),
            "max_s": round(seconds[-1], 3), "min_s": round(seconds[0], 3),
            **{f"median_{step}_s": round(statistics.median(v), 3) for step, v in steps.items()},
            "kinds": {k: kinds.count(k) for k in sorted(set(kinds))},
            "writers": {w: writers.count(w) for w in sorted(set(writers))}}


if __name__ == "__main__":
    import os
    import tempfile

    for key, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("ANONYMIZED_TELEMETRY", "False")):
        os.environ.setdefault(key, value)  # as the Makefile and conftest.py set them

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(lambda: load_real_assistant(Path(folder) / "s.sqlite3"), rate_limit_per_minute=None)
        with serve_in_thread(app) as base:
            print(json.dumps(measure_latency(base), indent=2))


def test_health_is_503_until_the_assistant_is_loaded() -> None:
    """A load balancer must send no traffic to a replica that is loading or failed to load."""
    release = threading.Event()

    def slow_then_broken() -> Assistant:
        release.wait(5)
        raise FileNotFoundError("no index in /nowhere; build one with `cartsmith index --out /nowhere`")

    app = create_app(slow_then_broken, load_on_startup=False)
    with TestClient(app) as client:
        loading = threading.Thread(target=lambda: client.post("/v1/sessions"))
        loading.start()
        time.sleep(0.2)
        assert client.get("/health").status_code == 503
        assert client.get("/health").json() == {"status": "loading", "ready": False}
        release.set()
        loading.join(5)
        failed = client.get("/health")
        assert failed.status_code == 503 and failed.json() == {"status": "error", "ready": False}


def test_streaming_sends_checked_lines_while_the_writer_is_still_writing(scripted_assistant: Assistant,
                                                                        scripted_writer: ScriptedWriter) -> None:
    gate = threading.Event()
    scripted_writer.line_gate = gate
    with serve_in_thread(create_app(scripted_assistant, rate_limit_per_minute=None)) as base, \
            httpx.Client(base_url=base) as http:
        request = {"model": "cartsmith", "stream": True,
                   "messages": [{"role": "user", "content": "a tea party under £20"}]}
        with http.stream("POST", "/v1/chat/completions", json=request, timeout=30) as response:
            sid = response.headers["x-session-id"]
            events = sse_events(response.iter_lines())
            first = next(events)
            assert first["bundle"] is not None  # the cards first
            early = [next(events), next(events)]
            # the writer has not finished: it waits for the gate, yet its first lines are out
            assert not gate.is_set() and scripted_writer.released == []
            early_text = "".join(e["choices"][0]["delta"]["content"] for e in early)
            assert early_text.startswith("Picked for tea party:") and "\n1. " in early_text
            gate.set()
            rest = list(events)
        text = early_text + "".join(e["choices"][0]["delta"].get("content", "") for e in rest[:-1])
        assert text == scripted_assistant.state(sid).history[-1]["reply"]  # pieces add up to the answer
        assert rest[-2]["choices"][0]["finish_reason"] == "stop" and rest[-1] == "[DONE]"
