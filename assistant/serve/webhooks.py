"""Orders to the shop's webhook, signed, retried with backoff, every attempt logged.

Each order (`dialogue/checkout.py`) is POSTed as JSON to the shop's URL with

    X-Cartsmith-Event: order.created
    X-Cartsmith-Timestamp: 1733500000
    X-Cartsmith-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>
    Idempotency-Key: <the order's key>

The shop checks the signature (`verify_signature` shows how) and that the timestamp is
recent, so a captured request cannot be replayed later. A 2xx answer delivers the order;
anything else (an error status, a refused connection, a timeout) is retried after
`first_retry_s`, then `backoff` times longer each time, up to `max_attempts`; the order's
delivery record in the session store lists every attempt. Orders still pending when the
process stops are sent again when it starts (a receiver deduplicates by order id or
idempotency key, as with any at-least-once webhook).
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from assistant.dialogue.checkout import delivery_record
from retrieval.config import Config, check

log = logging.getLogger("cartsmith.webhooks")

SIGNATURE_HEADER = "X-Cartsmith-Signature"
TIMESTAMP_HEADER = "X-Cartsmith-Timestamp"


@dataclasses.dataclass(frozen=True)
class WebhookConfig(Config):
    """url: where orders go (http or https); secret: the key both sides sign with (from
    $CARTSMITH_WEBHOOK_SECRET on the command line, never a flag: flags show in `ps`);
    max_attempts, first_retry_s, backoff: the retry schedule (1 s, 2 s, 4 s ... by default);
    timeout_s: how long one attempt waits for the shop."""

    url: str = ""
    secret: str = dataclasses.field(default="", repr=False)
    max_attempts: int = 6
    first_retry_s: float = 1.0
    backoff: float = 2.0
    timeout_s: float = 5.0

    def validate(self) -> None:
        parts = urlsplit(self.url)
        check(parts.scheme in ("http", "https") and bool(parts.hostname), "webhook.url",
              f"must be an http(s) URL such as https://shop.example/hooks/cartsmith, got {self.url!r}")
        check(len(self.secret) >= 16, "webhook.secret",
              "must be at least 16 characters (set CARTSMITH_WEBHOOK_SECRET)")
        check(1 <= self.max_attempts <= 20, "webhook.max_attempts", "must be between 1 and 20")
        check(self.first_retry_s > 0, "webhook.first_retry_s", "must be a positive number of seconds")
        check(self.backoff >= 1, "webhook.backoff", "must be at least 1")
        check(self.timeout_s > 0, "webhook.timeout_s", "must be a positive number of seconds")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for a body sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, *,
                     tolerance_s: float = 300, now: float | None = None) -> bool:
    """What a shop's receiver does: the signature matches and the timestamp is recent."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)


class WebhookSender:
    """Delivers orders in one background thread, earliest due attempt first, so a shop that
    is down delays its own retries, not the other orders. `store`: the session store
    (`checkout`, `set_delivery`, `pending_checkouts`)."""

    def __init__(self, config: WebhookConfig, store: Any, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.store = store
        self._clock = clock
        self._due: list[tuple[float, int, str]] = []
        self._seq = 0
        self._wake = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookSender:
        """Start the thread and queue every order still pending in the store."""
        if self._thread is None:
            for order_id in self.store.pending_checkouts():
                self.submit(order_id)
            self._thread = threading.Thread(target=self._run, name="cartsmith-webhooks", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def submit(self, order_id: str, delay_s: float = 0.0) -> None:
        with self._wake:
            self._seq += 1
            heapq.heappush(self._due, (self._clock() + delay_s, self._seq, order_id))
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (not self._due or self._due[0][0] > self._clock()):
                    wait = self._due[0][0] - self._clock() if self._due else None
                    self._wake.wait(wait)
                if self._stopped:
                    return
                _, _, order_id = heapq.heappop(self._due)
            try:
                self._attempt(order_id)
            except Exception as exc:  # a broken store must not end the thread
                log.error("webhook delivery of %s failed: %s", order_id, type(exc).__name__)

    def _attempt(self, order_id: str) -> None:
        stored = self.store.checkout(order_id)
        if stored is None:
            return
        body, delivery = stored[0].encode(), json.loads(stored[1])
        if delivery.get("state") != "pending":
            return  # delivered or given up, perhaps by another replica
        attempts = list(delivery.get("attempts", []))
        timestamp = int(self._clock())
        request = urllib.request.Request(self.config.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "cartsmith-webhooks",
            "X-Cartsmith-Event": "order.created", TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.config.secret, timestamp, body),
            "Idempotency-Key": json.loads(body)["idempotency_key"]})
        started = time.perf_counter()
        status: int | None = None
        error = ""
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as answer:
                status = int(answer.status)
        except urllib.error.HTTPError as exc:
            status, error = int(exc.code), f"HTTP {exc.code}"
        except Exception as exc:  # refused, unreachable, timed out
            error = type(exc).__name__
        attempts.append({"at": timestamp, "status": status, "error": error,
                         "seconds": round(time.perf_counter() - started, 3)})
        ok = status is not None and 200 <= status < 300
        state = "delivered" if ok else ("failed" if len(attempts) >= self.config.max_attempts else "pending")
        self.store.set_delivery(order_id, json.dumps(delivery_record(state, attempts)))
        if state == "pending":
            self.submit(order_id, self.config.first_retry_s * self.config.backoff ** (len(attempts) - 1))
        elif state == "failed":
            log.warning("webhook gave up on an order after %d attempts", len(attempts))
