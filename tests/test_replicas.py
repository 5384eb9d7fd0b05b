"""Two `cartsmith serve` processes on loopback share one PostgreSQL (Debian's, started by the
test): one conversation alternating between them keeps its bundle, cart and exclusions; one
server is killed mid-conversation and restarted: nothing is lost; an order recorded on one
reaches the other's co-purchase counts. Slow: each server loads the index and the model."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from scripted_model import default_shop_index

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(pg_url: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "assistant.serve.cli", "serve", "--port", str(port),
                             "--sessions", pg_url, "--writer", "template", "--rate-limit", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{base} never became ready")


def test_a_conversation_moves_between_replicas_and_survives_a_kill(pg_url: str) -> None:
    default_shop_index()  # built here once, not by two servers racing at start
    ports = [_port(), _port()]
    servers = [start_server(pg_url, p) for p in ports]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for base, server in zip(bases, servers, strict=True):
            wait_ready(base, server)
        one, two = (httpx.Client(base_url=b, timeout=120) for b in bases)
        sid = one.post("/v1/sessions").json()["session_id"]
        first = one.post(f"/v1/sessions/{sid}/messages", json={"text": "a tea party for six under £30"}).json()
        assert first["bundle"] and first["bundle"]["items"]
        picked = first["bundle"]["items"][0]["item_id"]
        assert [line["item_id"] for line in two.post(f"/v1/sessions/{sid}/cart",
                                                     json={"item_id": picked, "quantity": 2}).json()["cart"]] == [picked]
        second = two.post(f"/v1/sessions/{sid}/messages", json={"text": "no candles please"}).json()
        assert second["bundle"] and not any("candle" in i["title"].lower() for i in second["bundle"]["items"])
        recorded = one.post("/v1/orders", json={"item_ids": ["85123A", "22727"]}).json()
        assert recorded["recorded"]

        servers[1].send_signal(signal.SIGKILL)  # mid-conversation
        servers[1].wait(30)
        servers[1] = start_server(pg_url, ports[1])
        wait_ready(bases[1], servers[1])
        two = httpx.Client(base_url=bases[1], timeout=120)
        assert [line["item_id"] for line in two.get(f"/v1/sessions/{sid}/cart").json()["cart"]] == [picked]
        third = two.post(f"/v1/sessions/{sid}/messages", json={"text": "swap the first one"}).json()
        assert third["kind"] == "bundle" and third["bundle"]["items"]
        assert not any("candle" in i["title"].lower() for i in third["bundle"]["items"])  # exclusions kept
        again = two.post("/v1/orders", json={"item_ids": ["22423"]}).json()
        assert again["live_orders"] >= 2  # the restarted server counted the order the other recorded
    finally:
        for server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(30)
                except subprocess.TimeoutExpired:
                    server.kill()


def _children(pid: int) -> list[int]:
    from pathlib import Path

    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def test_workers_of_one_server_share_the_embedded_store(tmp_path) -> None:
    """`serve --workers 2`: two processes on one port, one SQLite file; a conversation whose
    every request opens a new connection (so either worker may answer) keeps its state."""
    default_shop_index()
    port = _port()
    server = subprocess.Popen([sys.executable, "-m", "assistant.serve.cli", "serve", "--port", str(port),
                               "--workers", "2", "--sessions", str(tmp_path / "sessions.sqlite3"),
                               "--writer", "template", "--rate-limit", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        deadline = time.monotonic() + 600
        while True:  # /health answers as soon as one worker is ready: wait for both
            ready = sum(httpx.get(f"{base}/health", timeout=5, headers={"Connection": "close"}).status_code == 200
                        for _ in range(8))
            if ready == 8 or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert len(_children(server.pid)) >= 2, "serve --workers 2 did not start two worker processes"

        def post(path: str, body: dict) -> dict:
            with httpx.Client(base_url=base, timeout=120) as fresh:  # a new connection each time
                response = fresh.post(path, json=body)
                assert response.status_code in (200, 201), response.text
                return response.json()

        sid = post("/v1/sessions", {})["session_id"]
        first = post(f"/v1/sessions/{sid}/messages", {"text": "a tea party for six under £30"})
        picked = first["bundle"]["items"][0]["item_id"]
        post(f"/v1/sessions/{sid}/cart", {"item_id": picked, "quantity": 2})
        for text in ("no candles please", "make it cheaper", "swap the first one", "what's in my cart?"):
            reply = post(f"/v1/sessions/{sid}/messages", {"text": text})
            assert picked in [line["item_id"] for line in reply["cart"]]
            if reply["bundle"]:
                assert not any("candle" in i["title"].lower() for i in reply["bundle"]["items"])
        with httpx.Client(base_url=base, timeout=60) as fresh:
            history = fresh.get(f"/v1/sessions/{sid}/cart").json()
        assert [line["quantity"] for line in history["cart"]] == [2]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
