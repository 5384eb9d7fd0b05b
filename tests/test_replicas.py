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
