"""Sessions in PostgreSQL, for replicas: several `cartsmith serve` processes (on one machine or
many) share conversations, so a shopper's next turn may land on any of them.

The same interface as the embedded SQLite `SessionStore`; psycopg 3 with a connection pool
(the `pg` extra: `pip install 'cartsmith[pg]'`). A row holds the whole conversation state
as JSON; a turn reads it and writes it back, so the last write of a session wins (one
shopper types one turn at a time). Completed orders (item ids only) are logged in the same
database: every replica replays them into its live co-purchase counts (`Assistant.sync_orders`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from assistant.dialogue.session import (
    DEFAULT_IDLE_EXPIRY_S,
    ConversationState,
    IdleExpiry,
    SessionExpired,
    SessionNotFound,
    SessionStore,
    default_sessions_path,
    new_session_id,
)
from retrieval.errors import ConfigError

SCHEMA_LOCK_KEY = 0x63617274  # "cart": the advisory lock every replica takes to create the schema
PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS cartsmith_sessions (
    session_id TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cartsmith_orders (
    seq BIGSERIAL PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    items TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cartsmith_forgotten_customers (
    user_id TEXT PRIMARY KEY,
    forgotten DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS cartsmith_checkouts (
    order_id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    created DOUBLE PRECISION NOT NULL,
    body TEXT NOT NULL,
    delivery TEXT NOT NULL
)
"""


def is_postgres_url(spec: str | None) -> bool:
    return bool(spec) and str(spec).startswith(("postgresql://", "postgres://"))


class PostgresSessionStore:
    """PostgreSQL-backed store, shared by every replica that names the same database.
    `idle_expiry_s`: how long a session may go without a turn before it expires (None: never)."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8, timeout_s: float = 10.0,
                 idle_expiry_s: float | None = DEFAULT_IDLE_EXPIRY_S) -> None:
        self.expiry = IdleExpiry(idle_expiry_s)
        try:
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise ConfigError("sessions: a postgresql:// store needs psycopg 3 and psycopg-pool "
                              "(pip install 'cartsmith[pg]')") from None
        if not 1 <= min_size <= max_size:
            raise ConfigError(f"sessions: pool sizes must satisfy 1 <= min_size <= max_size, got {min_size}, {max_size}")
        self.url = url
        self._pool = ConnectionPool(url, min_size=min_size, max_size=max_size, timeout=timeout_s,
                                    kwargs={"autocommit": True}, open=False)
        try:
            self._pool.open(wait=True, timeout=timeout_s)
        except Exception as exc:  # the URL may hold a password: name the host only
            raise ConfigError(f"sessions: cannot reach PostgreSQL at {_where(url)}: {type(exc).__name__}") from None
        with self._pool.connection() as conn, conn.transaction():
            # replicas starting together would race on CREATE TABLE IF NOT EXISTS (a unique
            # violation in pg_type): one creates the schema while the others wait on the lock
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            conn.execute(PG_SCHEMA)

    def _execute(self, sql: str, params: tuple[Any, ...]) -> Any:
        with self._pool.connection() as conn:
            cur = conn.execute(sql, params)
            rows = cur.fetchall() if cur.description else None
            return rows, cur.rowcount

    def create(self, user_id: str | None = None) -> ConversationState:
        state = ConversationState(session_id=new_session_id(), user_id=user_id)
        now = time.time()
        if self.expiry.purge_due(now):
            self.purge_expired(now)
        self._execute("INSERT INTO cartsmith_sessions VALUES (%s, %s, %s, %s)",
                      (state.session_id, now, now, state.to_json()))
        return state

    def load(self, session_id: str) -> ConversationState:
        rows, _ = self._execute("SELECT state, updated FROM cartsmith_sessions WHERE session_id = %s",
                                (session_id,))
        if not rows:
            raise SessionNotFound(session_id)
        if self.expiry.expired(float(rows[0][1]), time.time()):
            self.delete(session_id)
            raise SessionExpired(session_id, float(self.expiry.idle_expiry_s or 0))
        return ConversationState.from_json(rows[0][0])

    def purge_expired(self, now: float | None = None) -> int:
        """Delete every session idle past the expiry (any replica's); returns how many went."""
        cutoff = self.expiry.cutoff(time.time() if now is None else now)
        if cutoff is None:
            return 0
        _, count = self._execute("DELETE FROM cartsmith_sessions WHERE updated < %s", (cutoff,))
        return max(int(count), 0)

    def save(self, state: ConversationState) -> None:
        _, count = self._execute("UPDATE cartsmith_sessions SET updated = %s, state = %s WHERE session_id = %s",
                                 (time.time(), state.to_json(), state.session_id))
        if count == 0:
            raise SessionNotFound(state.session_id)

    def delete(self, session_id: str) -> bool:
        _, count = self._execute("DELETE FROM cartsmith_sessions WHERE session_id = %s", (session_id,))
        return bool(count > 0)

    def count(self) -> int:
        rows, _ = self._execute("SELECT COUNT(*) FROM cartsmith_sessions", ())
        return int(rows[0][0])

    def add_checkout(self, order_id: str, idempotency_key: str, body: str, delivery: str) -> bool:
        """Store a new checkout; False (nothing stored) when its idempotency key is taken."""
        _, count = self._execute("INSERT INTO cartsmith_checkouts VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                 (order_id, idempotency_key, time.time(), body, delivery))
        return bool(count > 0)

    def checkout(self, order_id: str) -> tuple[str, str] | None:
        rows, _ = self._execute("SELECT body, delivery FROM cartsmith_checkouts WHERE order_id = %s", (order_id,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def checkout_by_key(self, idempotency_key: str) -> tuple[str, str] | None:
        rows, _ = self._execute("SELECT body, delivery FROM cartsmith_checkouts WHERE idempotency_key = %s",
                                (idempotency_key,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def set_delivery(self, order_id: str, delivery: str) -> None:
        self._execute("UPDATE cartsmith_checkouts SET delivery = %s WHERE order_id = %s", (delivery, order_id))

    def pending_checkouts(self) -> list[str]:
        rows, _ = self._execute("SELECT order_id FROM cartsmith_checkouts WHERE (delivery::jsonb) ->> 'state' = "
                                "'pending' ORDER BY created", ())
        return [str(r[0]) for r in rows]

    def forget_customer(self, user_id: str) -> int:
        """Record that `user_id` is forgotten (for every replica) and delete their sessions."""
        self._execute("INSERT INTO cartsmith_forgotten_customers VALUES (%s, %s) ON CONFLICT DO NOTHING",
                      (str(user_id), time.time()))
        _, count = self._execute("DELETE FROM cartsmith_sessions WHERE (state::jsonb) ->> 'user_id' = %s",
                                 (str(user_id),))
        return max(int(count), 0)

    def is_forgotten(self, user_id: str) -> bool:
        rows, _ = self._execute("SELECT 1 FROM cartsmith_forgotten_customers WHERE user_id = %s", (str(user_id),))
        return bool(rows)

    def forgotten_customers(self) -> frozenset[str]:
        rows, _ = self._execute("SELECT user_id FROM cartsmith_forgotten_customers", ())
        return frozenset(str(r[0]) for r in rows)

    def add_order(self, item_ids: list[str]) -> int:
        """Store a completed order (item ids only); returns its sequence number."""
        rows, _ = self._execute("INSERT INTO cartsmith_orders (created, items) VALUES (%s, %s) RETURNING seq",
                                (time.time(), json.dumps(list(item_ids))))
        return int(rows[0][0])

    def orders_after(self, seq: int) -> list[tuple[int, list[str]]]:
        """Every order any replica stored after sequence number `seq`, in order."""
        rows, _ = self._execute("SELECT seq, items FROM cartsmith_orders WHERE seq > %s ORDER BY seq", (seq,))
        return [(int(n), list(json.loads(items))) for n, items in rows]

    def close(self) -> None:
        self._pool.close()


def _where(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}/{parts.path.lstrip('/')}"


def forgotten_customers_in(spec: str | Path | None = None, *, must_exist: bool = False) -> frozenset[str]:
    """The customers forgotten in the session store `spec` (a SQLite file or a
    `postgresql://` URL; default: the default SQLite file, when there is one): what an index
    build leaves out. A SQLite file that does not exist yet has forgotten no one, unless
    `must_exist`."""
    if spec is not None and is_postgres_url(str(spec)):
        pg = PostgresSessionStore(str(spec), idle_expiry_s=None)
        try:
            return pg.forgotten_customers()
        finally:
            pg.close()
    path = Path(spec) if spec is not None else default_sessions_path()
    if not path.exists():
        if spec is not None and must_exist:  # `cartsmith index --sessions` names a store: a typo is an error
            raise ConfigError(f"sessions: no session store at {path}")
        return frozenset()
    store = SessionStore(path, idle_expiry_s=None)
    try:
        return store.forgotten_customers()
    finally:
        store.close()
