"""Conversation state as one serialisable record, persisted in SQLite.

A session survives a restart of the process: every turn writes the whole state (history
with PII already redacted, bundle, its edit context, cart, constraints, profile) in one
transaction. Deleting a session removes all of its rows, and its bytes from the database file
and the write-ahead log.
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
"""


class SessionNotFound(CartsmithError):
    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"no session {session_id!r} (it may have been deleted)")


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
    """SQLite-backed store; safe to share between threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
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
        with self._lock:
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                             (state.session_id, now, now, state.to_json()))
        return state

    def load(self, session_id: str) -> ConversationState:
        with self._lock:
            row = self._db.execute("SELECT state FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFound(session_id)
        return ConversationState.from_json(row[0])

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

