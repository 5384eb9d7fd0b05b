"""The HTTP API: a fast contract suite over a stand-in assistant, and the real Assistant over a real socket.

The stand-in (`FakeAssistant`) has the real session store, records and guard, and runs its
turn as a LangChain pipeline with an `act` step, so the early-bundle streaming hook is
exercised deterministically: its writer step waits until the test has read the bundle chunk.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

for _key, _value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("ANONYMIZED_TELEMETRY", "False"),
                     ("GRADIO_ANALYTICS_ENABLED", "False"), ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(_key, _value)

from fastapi.testclient import TestClient  # noqa: E402
from langchain_core.runnables import RunnableLambda  # noqa: E402

from assistant.dialogue.session import SessionStore  # noqa: E402
from assistant.records import Bundle, BundleItem, CartLine, Reply  # noqa: E402
from assistant.safety.guard import InputLimits, check_input  # noqa: E402
from assistant.serve.api import RateLimiter, create_app, run_turn  # noqa: E402
from retrieval.errors import UnknownItemError  # noqa: E402
from retrieval.records import Evidence, Item  # noqa: E402

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


class FakeAssistant:
    """Same verbs and records as the real Assistant; deterministic, no model."""

    def __init__(self, *, hold_writer: bool = False) -> None:
        self.config = SimpleNamespace(max_input_chars=2_000, max_turns_per_session=200)
        self.store = SessionStore(":memory:")
        self.items = {i.item_id: i for i in (Item("T1", "Teapot <Blue & White>", 8.5),
                                              Item("C2", "Tea Cups (set of 4)", 6.25),
                                              Item("S3", "Sugar Tongs", 2.0))}
        self.hold_writer = hold_writer
        self.release = threading.Event()
        self.released_by_test = False
        self.pipeline = RunnableLambda(self._act, name="act") | RunnableLambda(self._write, name="write")

    def open_session(self, user_id: str | None = None) -> str:
        return self.store.create(user_id).session_id

    def _act(self, ctx: dict[str, Any]) -> Any:
        if ctx["text"] == "boom":
            raise RuntimeError(f"unexpected failure while handling {ctx['text']!r}")
        if ctx["text"].lower() in ("hi", "hello"):
            return SimpleNamespace(result=SimpleNamespace(kind="smalltalk", bundle=None), **ctx)
        bundle = Bundle(tuple(BundleItem(item, (Evidence("co_purchase", f"bought with teapots {n} times",
                                                         {"baskets": float(n)}),))
                              for n, item in enumerate(self.items.values(), start=3)), need="tea party", budget=20.0)
        return SimpleNamespace(result=SimpleNamespace(kind="bundle", bundle=bundle), **ctx)

    def _write(self, ctx: Any) -> Reply:
        if self.hold_writer and ctx.result.bundle is not None:
            self.released_by_test = self.release.wait(timeout=20)
        state = ctx.state
        state.turns += 1
        self.store.save(state)
        if ctx.result.bundle is None:
            return Reply("Hello! What are you shopping for?", "smalltalk", cart=state.cart_lines())
        return Reply("Here is a tea party bundle.\nEnjoy it!", "bundle", bundle=ctx.result.bundle,
                     cart=state.cart_lines(), timings={"total": 0.01})

    def turn(self, session_id: str, text: str) -> Reply:
        state = self.store.load(session_id)
        check_input(text, InputLimits(self.config.max_input_chars))
        return self.pipeline.invoke({"state": state, "text": text})

    def state(self, session_id: str) -> Any:
        return self.store.load(session_id)

    def cart(self, session_id: str) -> tuple[CartLine, ...]:
        return self.store.load(session_id).cart_lines()

    def add_to_cart(self, session_id: str, item_id: str, quantity: int = 1) -> tuple[CartLine, ...]:
        state = self.store.load(session_id)
        if item_id not in self.items:
            raise UnknownItemError([item_id])
        item = self.items[item_id]
        state.add_to_cart(CartLine(item.item_id, item.title, item.price, quantity))
        self.store.save(state)
        return state.cart_lines()

    def remove_from_cart(self, session_id: str, item_id: str) -> tuple[CartLine, ...]:
        state = self.store.load(session_id)
        state.remove_from_cart(item_id)
        self.store.save(state)
        return state.cart_lines()

    def delete_session(self, session_id: str) -> bool:
        return self.store.delete(session_id)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(FakeAssistant(), rate_limit_per_minute=None)) as c:
        yield c


# ------------------------------------------------------------------------------------------
# contract, over a stand-in assistant
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
    assert body["session_id"] == sid and body["kind"] == "bundle" and body["reply"]
    first = body["bundle"]["items"][0]
    assert {"item_id", "title", "price", "reasons"} <= set(first) and first["reasons"]
    assert body["bundle"]["total"] == body["total"] == 16.75

    cart = client.post(f"/v1/sessions/{sid}/cart", json={"item_id": "T1", "quantity": 2}).json()
    assert cart["cart"] == [{"item_id": "T1", "title": "Teapot <Blue & White>", "price": 8.5, "quantity": 2}]
    assert cart["total"] == 17.0 and cart["count"] == 2
    assert client.get(f"/v1/sessions/{sid}/cart").json()["total"] == 17.0
    assert client.delete(f"/v1/sessions/{sid}/cart/T1").json()["cart"] == []

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
           client.post(f"/v1/sessions/{sid}/cart", json={"item_id": "T1", "quantity": 0}),
           client.post(f"/v1/sessions/{sid}/cart", json={"item_id": "T1", "quantity": "many"}),
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


def test_unexpected_error_is_generic_500_and_logs_no_text(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(create_app(FakeAssistant(), rate_limit_per_minute=None), raise_server_exceptions=False) as c:
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


def test_api_keys_and_rate_limit() -> None:
    app = create_app(FakeAssistant(), api_keys=["k-one", "k-two"], rate_limit_per_minute=3)
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
    def ask(text: str, **extra: Any) -> httpx.Response:
        headers = extra.pop("headers", {})
        return client.post("/v1/chat/completions", headers=headers, json={
            "model": "cartsmith", "messages": [{"role": "system", "content": "be nice"},
                                               {"role": "user", "content": text}], **extra})

    first = ask("a tea party under £20", user="shopper-1")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["message"]["content"].startswith("Here is a tea party bundle")
    assert body["bundle"]["total"] == 16.75 and body["session_id"] == first.headers["x-session-id"]
    again = ask("hello", user="shopper-1").json()
    assert again["session_id"] == body["session_id"] and again["bundle"] is None
    assert ask("hello", user="shopper-2").json()["session_id"] != body["session_id"]
    assert ask("hello").json()["session_id"] != body["session_id"]
    by_header = ask("hello", headers={"X-Session-Id": body["session_id"]}).json()
    assert by_header["session_id"] == body["session_id"]
    assert ask("hello", headers={"X-Session-Id": "not-a-session"}).status_code == 404
    parts = client.post("/v1/chat/completions", json={"messages": [
        {"role": "user", "content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}]}]})
    assert parts.json()["kind"] == "smalltalk"
    assert ask("x" * 100_000).status_code == 413
    client.delete(f"/v1/sessions/{body['session_id']}")
    assert ask("hello", user="shopper-1").json()["session_id"] != body["session_id"]  # a fresh one


def test_streaming_sends_the_bundle_before_the_writer_runs() -> None:
    fake = FakeAssistant(hold_writer=True)
    with serve_in_thread(create_app(fake, rate_limit_per_minute=None)) as base, httpx.Client(base_url=base) as http:
        request = {"model": "cartsmith", "stream": True, "messages": [{"role": "user", "content": "tea party"}]}
        with http.stream("POST", "/v1/chat/completions", json=request, timeout=30) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response.iter_lines())
            first = next(events)
            # The writer is still blocked: the bundle came first.
            assert not fake.release.is_set()
            assert first["object"] == "chat.completion.chunk" and first["choices"][0]["delta"]["role"] == "assistant"
            assert [i["item_id"] for i in first["bundle"]["items"]] == ["T1", "C2", "S3"]
            fake.release.set()
            rest = list(events)
        assert fake.released_by_test
        assert rest[-1] == "[DONE]"
        text = "".join(e["choices"][0]["delta"].get("content", "") for e in rest[:-1])
        assert text == "Here is a tea party bundle.\nEnjoy it!"
        assert rest[-2]["choices"][0]["finish_reason"] == "stop" and rest[-2]["cartsmith"]["total"] == 16.75

        # A turn without a bundle: the first chunk still comes (bundle null), then text.
        request["messages"] = [{"role": "user", "content": "hello"}]
        with http.stream("POST", "/v1/chat/completions", json=request, timeout=30) as response:
            events = list(sse_events(response.iter_lines()))
        assert events[0]["bundle"] is None and events[-1] == "[DONE]"
        # Errors before the stream starts are still plain HTTP errors.
        request["messages"] = [{"role": "user", "content": ""}]
        assert http.post("/v1/chat/completions", json=request).status_code == 422


def test_run_turn_hook_ignores_turns_without_a_bundle() -> None:
    fake = FakeAssistant()
    sid = fake.open_session()
    seen: list[Bundle] = []
    assert run_turn(fake, sid, "hello", on_bundle=seen.append).kind == "smalltalk" and seen == []
    reply = run_turn(fake, sid, "tea", on_bundle=seen.append)
    assert len(seen) == 1 and seen[0] is reply.bundle
    assert run_turn(fake, sid, "tea").bundle is not None and len(seen) == 1  # no hook left behind


def test_run_turn_hook_fires_before_the_writer_on_the_real_chain() -> None:
    """The hook listens for the DialogueChain's `act` step: this fails if that step is renamed."""
    from assistant.dialogue.actions import ActionResult
    from assistant.dialogue.chain import DialogueChain
    from assistant.records import Request
    from assistant.write.writer import WrittenReply

    fake = FakeAssistant()
    bundle = fake._act({"text": "tea"}).result.bundle
    seen: list[Bundle] = []
    writer_saw: list[int] = []
    actions = SimpleNamespace(run=lambda request, state, text: ActionResult("bundle", bundle=bundle, need_text="tea"),
                              bundle_summary=lambda state: "(none)", catalog=None)
    parser = SimpleNamespace(parse=lambda text, summary: SimpleNamespace(request=Request(intent="bundle"), error=None,
                                                                         tokens=3))

    def write(b: Bundle, need: str | None) -> WrittenReply:
        writer_saw.append(len(seen))
        return WrittenReply("Three things for tea.", True, True, 1, "model", tokens=5)

    writer = SimpleNamespace(write=write)
    chain = DialogueChain(actions, parser, writer, writer, fake.store)  # type: ignore[arg-type]
    real = SimpleNamespace(turn=lambda sid, text: chain.run(fake.store.load(sid), text))
    reply = run_turn(real, fake.open_session(), "tea party", on_bundle=seen.append)
    assert reply.kind == "bundle" and reply.text.startswith("Three things")
    assert writer_saw == [1] and seen == [bundle]


# ------------------------------------------------------------------------------------------
# the real Assistant, over a real socket
# ------------------------------------------------------------------------------------------
def load_real_assistant(sessions: Path) -> Any:
    """The real Assistant on $CARTSMITH_INDEX, else the default Online Retail index (built first if missing)."""
    from assistant.dialogue.service import Assistant, AssistantConfig
    from retrieval.shop_index import default_index_dir

    folder = Path(os.environ.get("CARTSMITH_INDEX") or default_index_dir("online-retail"))
    if not (folder / "manifest.json").exists():
        from retrieval.datasets import load_online_retail
        from retrieval.shop_index import ensure_index

        catalog, interactions, _ = load_online_retail()
        ensure_index(catalog, interactions, folder)
    return Assistant(AssistantConfig(index=str(folder), sessions=str(sessions)))


@pytest.fixture(scope="module")
def real_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    sessions = tmp_path_factory.mktemp("api") / "sessions.sqlite3"
    app = create_app(lambda: load_real_assistant(sessions), rate_limit_per_minute=None)
    with serve_in_thread(app) as base:
        yield base


@pytest.mark.slow
def test_real_assistant_over_http(real_api: str) -> None:
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
        print(f"\nfirst turn over HTTP: {latency:.2f}s; timings {body['timings']}")

        pick = items[0]
        cart = http.post(f"/v1/sessions/{sid}/cart", json={"item_id": pick["item_id"], "quantity": 2}).json()
        assert cart["cart"][0]["item_id"] == pick["item_id"] and cart["count"] == 2
        assert cart["total"] == pytest.approx(2 * pick["price"], abs=0.011)
        assert http.get(f"/v1/sessions/{sid}/cart").json() == cart
        assert http.delete(f"/v1/sessions/{sid}/cart/{pick['item_id']}").json()["cart"] == []

        order = http.post("/v1/orders", json={"item_ids": [i["item_id"] for i in items], "session_id": sid})
        assert order.status_code == 200 and order.json()["recorded"] is True and order.json()["live_orders"] >= 1
        bad_order = http.post("/v1/orders", json={"item_ids": ["NO-SUCH-ITEM"]})
        assert bad_order.status_code == 400 and "NO-SUCH-ITEM" in bad_order.text

        completion = http.post("/v1/chat/completions", headers={"X-Session-Id": sid}, json={
            "model": "cartsmith", "messages": [{"role": "user", "content": "make it cheaper"}]})
        assert completion.status_code == 200, completion.text
        data = completion.json()
        assert data["object"] == "chat.completion" and data["session_id"] == sid
        assert data["choices"][0]["message"]["content"].strip()

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

        assert http.post(f"/v1/sessions/{sid}/messages", json={"text": "tea " * 25_000}).status_code == 413
        assert http.delete(f"/v1/sessions/{sid}").status_code == 200
        assert http.get(f"/v1/sessions/{sid}/cart").status_code == 404
        assert http.post(f"/v1/sessions/{sid}/messages", json={"text": "hello"}).status_code == 404


def measure_latency(base: str, turns: int = 10) -> dict[str, float]:
    """Turn latency over HTTP (seconds): used for the record, `python tests/test_api.py`."""
    messages = ["a bundle for a tea party under £20", "make it cheaper", "a christmas gift set under £30",
                "swap the second item", "something for a picnic", "add a candle", "a birthday party for kids",
                "lunch bags under £10", "a garden party for 6", "make it cheaper"]
    seconds, steps, kinds, writers = [], {"parse": [], "act": [], "write": []}, [], []
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
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(lambda: load_real_assistant(Path(folder) / "s.sqlite3"), rate_limit_per_minute=None)
        with serve_in_thread(app) as base:
            print(json.dumps(measure_latency(base), indent=2))


# ------------------------------------------------------------------------------------------
# the terminal commands (chat, ask, serve), over the stand-in
# ------------------------------------------------------------------------------------------
@pytest.fixture
def fake_cli(monkeypatch: pytest.MonkeyPatch) -> FakeAssistant:
    import assistant.serve.chat_cli as chat_cli

    fake = FakeAssistant()
    monkeypatch.setattr(chat_cli, "build_assistant", lambda args: fake)
    return fake


def test_ask_prints_reply_bundle_total_and_session(fake_cli: FakeAssistant, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.serve.cli import main

    assert main(["ask", "a tea party under £20", "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    sid = captured.err.strip().removeprefix("session: ")
    assert data["session_id"] == sid and data["reply"] and data["total"] == 16.75
    assert {"item_id", "title", "price", "reasons"} <= set(data["bundle"]["items"][0])
    assert main(["ask", "a tea party", "--session", sid]) == 0
    text = capsys.readouterr().out
    assert "1. Teapot <Blue & White> [T1]  £8.50" in text and "Total: £16.75 (budget £20.00)" in text
    assert main(["ask", "", "--session", sid]) == 2  # empty: a clear error, no traceback
    assert "empty" in capsys.readouterr().err
    assert main(["ask", "hi", "--session", "gone"]) == 2


def test_chat_loop(fake_cli: FakeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import assistant.serve.chat_cli as chat_cli
    from assistant.serve.cli import build_parser

    script = io.StringIO("/cart\ntea party\n/add 2\n/add all\n/cart\n/add 9\n/remove T1\n/bogus\n/quit\n")
    out = io.StringIO()
    assert chat_cli.cmd_chat(build_parser().parse_args(["chat"]), stdin=script, stdout=out) == 0
    text = out.getvalue()
    assert "Your cart is empty." in text and "3. Sugar Tongs [S3]  £2.00" in text
    assert "2 x Tea Cups (set of 4) [C2]  £12.50" in text and "Total: £23.00" in text
    assert "/add takes a bundle item number 1-3" in text and "Total: £14.50" in text
    assert "unknown command /bogus" in text and "Bye." in text


def test_serve_builds_the_api(fake_cli: FakeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
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
