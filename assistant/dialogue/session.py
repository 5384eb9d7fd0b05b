"""Conversation state as one serialisable record, persisted in SQLite.

A session survives a restart of the process: every turn writes the whole state (history
with PII already redacted, bundle, its edit context, cart, constraints, profile) in one
transaction. Deleting a session removes all of its rows, and its bytes from the database file
and the write-ahead log. A session idle for longer than the store's `idle_expiry_s` is
expired: loading it says so (`SessionExpired`), and every idle one is purged at most once a
minute, when a session is created, so a shopper's words do not outlive the conversation.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from assistant.records import Bundle, BundleDiff, BundleItem, CartLine
from retrieval.catalog import Catalog
from retrieval.errors import CartsmithError
from retrieval.records import Evidence

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    items TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS forgotten_customers (
    user_id TEXT PRIMARY KEY,
    forgotten REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkouts (
    order_id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    body TEXT NOT NULL,
    delivery TEXT NOT NULL
);
"""


class SessionNotFound(CartsmithError):
    def __init__(self, session_id: str, message: str | None = None) -> None:
        self.session_id = session_id
        super().__init__(message or f"no session {session_id!r} (it may have been deleted)")


class SessionExpired(SessionNotFound):
    """A session idle for longer than the store keeps one: it is gone, and the shopper
    starts a new one."""

    def __init__(self, session_id: str, idle_expiry_s: float) -> None:
        super().__init__(session_id, f"session {session_id!r} expired after {_span(idle_expiry_s)} without a "
                                     "turn and was deleted; start a new session")


def _span(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"


# The longest a session may sit idle by default (`AssistantConfig.session_idle_minutes`).
DEFAULT_IDLE_EXPIRY_S = 24 * 3600.0
# The least time between two purges of idle sessions: a purge is one indexed DELETE.
PURGE_EVERY_S = 60.0


class IdleExpiry:
    """When a session of a store has expired, and when the store should purge again."""

    def __init__(self, idle_expiry_s: float | None) -> None:
        if idle_expiry_s is not None and not idle_expiry_s > 0:
            raise ValueError(f"idle_expiry_s must be a positive number of seconds or None, got {idle_expiry_s}")
        self.idle_expiry_s = idle_expiry_s
        self._last_purge = 0.0
        self._lock = threading.Lock()

    def expired(self, updated: float, now: float) -> bool:
        return self.idle_expiry_s is not None and now - updated > self.idle_expiry_s

    def cutoff(self, now: float) -> float | None:
        """The oldest `updated` time still alive, or None when sessions never expire."""
        return None if self.idle_expiry_s is None else now - self.idle_expiry_s

    def purge_due(self, now: float) -> bool:
        with self._lock:
            if self.idle_expiry_s is None or now - self._last_purge < PURGE_EVERY_S:
                return False
            self._last_purge = now
            return True


@dataclasses.dataclass
class ConversationState:
    session_id: str
    user_id: str | None = None
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    bundle: dict[str, Any] | None = None
    bundle_context: dict[str, Any] | None = None
    cart: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    constraints: dict[str, Any] = dataclasses.field(default_factory=dict)
    profile: dict[str, Any] | None = None
    turns: int = 0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ConversationState:
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def cart_lines(self) -> tuple[CartLine, ...]:
        return tuple(CartLine(**line) for line in self.cart)

    def add_to_cart(self, line: CartLine) -> None:
        for existing in self.cart:
            if existing["item_id"] == line.item_id:
                existing["quantity"] += line.quantity
                return
        self.cart.append(line.to_dict())

    def remove_from_cart(self, item_id: str) -> bool:
        before = len(self.cart)
        self.cart = [line for line in self.cart if line["item_id"] != item_id]
        return len(self.cart) != before


def bundle_to_state(bundle: Bundle) -> dict[str, Any]:
    return bundle.to_dict()


def bundle_from_state(data: Mapping[str, Any], catalog: Catalog) -> Bundle:
    """Rebuild a stored bundle; titles and prices come from the catalog, not the stored copy."""
    items = []
    for entry in data["items"]:
        item = catalog.get(entry["item_id"])
        reasons = tuple(Evidence(e["kind"], e["text"], e.get("numbers", {})) for e in entry.get("evidence", []))
        items.append(BundleItem(item, reasons, entry.get("role", "complement"), bool(entry.get("locked")),
                                float(entry.get("score", 0.0)), int(entry.get("quantity", 1))))
    diff = data.get("diff") or {}
    return Bundle(tuple(items), data.get("need"), data.get("budget"),
                  BundleDiff(tuple(diff.get("added", ())), tuple(diff.get("removed", ())), diff.get("total_before")),
                  data.get("tier"))


def new_session_id() -> str:
    """A random session id that never starts with "-" (a command line would read
    `--session -Xy...` as an option)."""
    while True:
        session_id = secrets.token_urlsafe(16)
        if not session_id.startswith("-"):
            return session_id


class SessionStore:
    """SQLite-backed store; safe to share between threads of one process. `idle_expiry_s`:
    how long a session may go without a turn before it expires (None: never)."""

    def __init__(self, path: str | Path, idle_expiry_s: float | None = DEFAULT_IDLE_EXPIRY_S) -> None:
        self.path = Path(path)
        self.expiry = IdleExpiry(idle_expiry_s)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A deleted session's text is overwritten on disk, not just unlinked from the table.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(SCHEMA)

    def create(self, user_id: str | None = None) -> ConversationState:
        state = ConversationState(session_id=new_session_id(), user_id=user_id)
        now = time.time()
        if self.expiry.purge_due(now):
            self.purge_expired(now)
        with self._lock:
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                             (state.session_id, now, now, state.to_json()))
        return state

    def load(self, session_id: str) -> ConversationState:
        with self._lock:
            row = self._db.execute("SELECT state, updated FROM sessions WHERE session_id = ?",
                                   (session_id,)).fetchone()
        if row is None:
            raise SessionNotFound(session_id)
        if self.expiry.expired(float(row[1]), time.time()):
            self.delete(session_id)
            raise SessionExpired(session_id, float(self.expiry.idle_expiry_s or 0))
        return ConversationState.from_json(row[0])

    def purge_expired(self, now: float | None = None) -> int:
        """Delete every session idle past the expiry; returns how many went."""
        cutoff = self.expiry.cutoff(time.time() if now is None else now)
        if cutoff is None:
            return 0
        with self._lock:
            cur = self._db.execute("DELETE FROM sessions WHERE updated < ?", (cutoff,))
            if cur.rowcount > 0:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return max(cur.rowcount, 0)

    def save(self, state: ConversationState) -> None:
        with self._lock:
            cur = self._db.execute("UPDATE sessions SET updated = ?, state = ? WHERE session_id = ?",
                                   (time.time(), state.to_json(), state.session_id))
        if cur.rowcount == 0:
            raise SessionNotFound(state.session_id)

    def delete(self, session_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
            if cur.rowcount > 0:
                # Older versions of the row still sit in the write-ahead log until it is
                # checkpointed and emptied.
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cur.rowcount > 0

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    # -- checkouts: orders handed to the shop, and how their webhook delivery went ----------------
    def add_checkout(self, order_id: str, idempotency_key: str, body: str, delivery: str) -> bool:
        """Store a new checkout; False (nothing stored) when its idempotency key is taken."""
        with self._lock:
            cur = self._db.execute("INSERT OR IGNORE INTO checkouts VALUES (?, ?, ?, ?, ?)",
                                   (order_id, idempotency_key, time.time(), body, delivery))
        return cur.rowcount > 0

    def checkout(self, order_id: str) -> tuple[str, str] | None:
        """(order JSON, delivery JSON) of an order, or None."""
        with self._lock:
            row = self._db.execute("SELECT body, delivery FROM checkouts WHERE order_id = ?", (order_id,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def checkout_by_key(self, idempotency_key: str) -> tuple[str, str] | None:
        with self._lock:
            row = self._db.execute("SELECT body, delivery FROM checkouts WHERE idempotency_key = ?",
                                   (idempotency_key,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def set_delivery(self, order_id: str, delivery: str) -> None:
        with self._lock:
            self._db.execute("UPDATE checkouts SET delivery = ? WHERE order_id = ?", (delivery, order_id))

    def pending_checkouts(self) -> list[str]:
        """Orders whose webhook delivery has not finished, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT order_id FROM checkouts WHERE json_extract(delivery, '$.state') = "
                                    "'pending' ORDER BY created").fetchall()
        return [str(r[0]) for r in rows]

    # -- customers who asked to be forgotten: no profile, no sessions, out of the next build --
    def forget_customer(self, user_id: str) -> int:
        """Record that `user_id` is forgotten and delete their sessions; returns how many."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO forgotten_customers VALUES (?, ?)", (str(user_id), time.time()))
            cur = self._db.execute("DELETE FROM sessions WHERE json_extract(state, '$.user_id') = ?", (str(user_id),))
            if cur.rowcount > 0:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return max(cur.rowcount, 0)

    def is_forgotten(self, user_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM forgotten_customers WHERE user_id = ?", (str(user_id),)).fetchone()
        return row is not None

    def forgotten_customers(self) -> frozenset[str]:
        with self._lock:
            rows = self._db.execute("SELECT user_id FROM forgotten_customers").fetchall()
        return frozenset(str(r[0]) for r in rows)

    # -- orders: the live co-purchase counts' log (item ids only), replayed on start ----------
    def add_order(self, item_ids: list[str]) -> int:
        """Store a completed order; returns its sequence number."""
        with self._lock:
            cur = self._db.execute("INSERT INTO orders (created, items) VALUES (?, ?)",
                                   (time.time(), json.dumps(list(item_ids))))
        return int(cur.lastrowid or 0)

    def orders_after(self, seq: int) -> list[tuple[int, list[str]]]:
        """Every order stored after sequence number `seq`, in order."""
        with self._lock:
            rows = self._db.execute("SELECT seq, items FROM orders WHERE seq > ? ORDER BY seq", (seq,)).fetchall()
        return [(int(n), list(json.loads(items))) for n, items in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def default_sessions_path() -> Path:
    """The embedded default session store: a SQLite file in the cache folder."""
    from retrieval.storage import cache_dir

    return cache_dir() / "sessions.sqlite3"
