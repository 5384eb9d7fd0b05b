"""The `Assistant`: one object that every surface (Gradio, HTTP API, CLI, evals) talks to.

It wires the shop index, the bundle composer, the tuned language model (parser + writer),
the session store and the LangChain dialogue pipeline, and offers the few verbs a surface
needs: open a session, take a turn, read/change the cart, record an order, delete a session.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.compose.composer import BundleComposer, ComposerConfig
from assistant.dialogue.actions import Actions
from assistant.dialogue.assistant_config import AssistantConfig
from assistant.dialogue.chain import DialogueChain, Parser
from assistant.dialogue.checkout import (
    CheckoutError,
    OrderNotFound,
    check_idempotency_key,
    delivery_record,
    order_from_cart,
)
from assistant.dialogue.session import (
    DEFAULT_IDLE_EXPIRY_S,
    ConversationState,
    SessionStore,
)
from assistant.llm.loading import LoadedModel
from assistant.llm.remote import RemoteChatModel
from assistant.records import Bundle, CartLine, Reply
from assistant.safety.guard import InputLimits
from assistant.write.writer import TemplateWriter, Writer
from retrieval.errors import ConfigError
from retrieval.shop_index import ShopIndex

if TYPE_CHECKING:  # pragma: no cover
    from assistant.llm.batching import DecodeScheduler

log = logging.getLogger(__name__)


# Turns of one conversation are serialised by one of this many locks (by the session id's hash).
SESSION_LOCK_STRIPES = 256
# How often a turn looks for orders other replicas stored (bounded staleness of co-purchase counts).
ORDER_SYNC_S = 2.0


def open_session_store(spec: str | Path, idle_expiry_s: float | None = DEFAULT_IDLE_EXPIRY_S) -> Any:
    """The session store `spec` names: a `postgresql://` URL (shared by replicas,
    `session_pg.PostgresSessionStore`), else a SQLite file. Sessions idle for longer than
    `idle_expiry_s` expire (None: never)."""
    from assistant.dialogue.session_pg import PostgresSessionStore, is_postgres_url

    if is_postgres_url(str(spec)):
        return PostgresSessionStore(str(spec), idle_expiry_s=idle_expiry_s)
    return SessionStore(Path(spec), idle_expiry_s=idle_expiry_s)


class Assistant:
    def __init__(self, config: AssistantConfig | None = None, *, index: ShopIndex | None = None,
                 store: SessionStore | None = None, llm: LoadedModel | RemoteChatModel | None = None,
                 parser: Parser | None = None, writer: Writer | None = None) -> None:
        """Every part may be given ready (tests, a shared model); what is not given is built
        from `config`. The language model is loaded only when the parser or the model writer
        needs it: a caller that passes both `parser` and `writer` never loads it."""
        self.config = config = config or AssistantConfig()
        if llm is None:
            from assistant.llm.thread_team import build_on_one_thread

            build_on_one_thread()  # the decoding thread must be the first with a team of threads
        self.index = index or ShopIndex.load(config.index_path())
        self.store = store or open_session_store(config.sessions or config.sessions_path(), config.idle_expiry_s())
        needs = config.needs_book()
        if needs is not None:
            needs.warm(self.index.embedder.encode)  # embed the needs' phrases now, not on a first turn
        self.composer = BundleComposer(self.index, ComposerConfig(size=config.bundle_size,
                                                                  vector_search=config.vector_search), needs=needs)
        needs_model = parser is None or (writer is None and config.writer == "model")
        remote = config.remote_config()
        if llm is None and needs_model and remote is not None:
            llm = RemoteChatModel(remote)  # nothing is loaded here: the server holds the model
        elif llm is None and needs_model:
            from assistant.llm.generation import LLMConfig, load_model

            llm = load_model(LLMConfig(model=config.model, quantization=config.quantization,
                                       adapter=config.adapter_path(), threads=config.threads))
        self.llm = llm
        self.actions = Actions(self.index, self.composer, config.bundle_size)
        if parser is None:
            from assistant.understand.parser import RequestParser

            parser = RequestParser(llm, intent_reader=config.load_intent_reader(self.index.embedder),
                                   shortlist_mass=config.intent_shortlist_mass,
                                   words_first=config.words_first_config(), busy=self.model_busy)
        if writer is None and config.writer == "model":
            from assistant.write.writer import BundleWriter

            # the writer's grounding check also refuses any other catalog title in an answer
            shop_titles = [item.title for item in self.index.catalog.items]
            writer = BundleWriter(llm, other_titles=shop_titles, deadline_s=config.write_deadline_s)
        self.chain = DialogueChain(self.actions, parser, writer, TemplateWriter(), self.store,
                                   InputLimits(config.max_input_chars, config.max_turns_per_session),
                                   busy=self.model_busy)
        # With batching, turns run side by side: the model's scheduler batches their decoding
        # and the chain runs one action (retrieval, composing, the cart) at a time. Without
        # it, one turn holds the model at a time. Turns of one conversation never overlap.
        self._model_lock = threading.Lock()
        self.scheduler: DecodeScheduler | None = None
        if config.batching and isinstance(self.llm, LoadedModel):
            from assistant.llm.batching import enable_batching

            self.scheduler = enable_batching(self.llm, config.batching_config())
        # a remote model server batches concurrent calls on its side
        self.concurrent_turns = self.scheduler is not None or isinstance(self.llm, RemoteChatModel)
        self._session_locks = [threading.Lock() for _ in range(SESSION_LOCK_STRIPES)]
        self._orders_seen = 0
        self._orders_synced = 0.0
        self.sync_orders()  # orders stored before this process started (by it or another replica)

    def open_session(self, user_id: str | None = None) -> str:
        if user_id is not None and self.store.is_forgotten(user_id):
            # a forgotten customer still shops, as a shopper without a history
            log.info("forgotten customer: the session starts without a purchase history")
            user_id = None
        elif user_id is not None and user_id not in self.index.blend.data.user_index:  # type: ignore[union-attr]
            log.info("unknown user id: the session starts without a purchase history")
        return self.store.create(user_id).session_id

    def forget_customer(self, user_id: str) -> dict[str, Any]:
        """Forget a customer (the shop's request, e.g. under GDPR): their purchase history
        builds no profile and personalises nothing from now on, on every replica that shares
        the session store; their sessions are deleted; the next index build leaves their lines
        out (`cartsmith index` reads the same store). Returns what was removed."""
        baskets, lines = self.actions.shop.profiles.forget(user_id)
        sessions = self.store.forget_customer(user_id)
        return {"customer_id": str(user_id), "purchases_in_profile": baskets, "purchase_lines": lines,
                "sessions_deleted": sessions, "left_out_of_next_index_build": True}

    def turn(self, session_id: str, text: str, *, on_bundle: Callable[[Bundle], None] | None = None,
             on_text: Callable[[str], None] | None = None) -> Reply:
        """One turn. `on_bundle(bundle)` is called as soon as the turn has composed a new
        bundle, before the writer words it (the UI and the SSE stream show cards early); it
        is not called for turns without a new bundle, and its errors never break the turn.
        `on_text(piece)` gets a bundle answer's text as it is released: each line once the
        model has written and the checks passed it, then the rest as finally worded (the
        pieces add up to the reply's text); turns without a new bundle do not call it."""
        with self._session_lock(session_id):
            state = self.store.load(session_id)
            if self.concurrent_turns:
                with self.chain.act_lock:
                    self._sync_orders_if_due()
                return self.chain.run(state, text, on_bundle=on_bundle, on_text=on_text)
            with self._model_lock:
                self._sync_orders_if_due()
                return self.chain.run(state, text, on_bundle=on_bundle, on_text=on_text)

    def model_busy(self) -> bool:
        """At least `busy_rows` generations decoding or waiting in the batch scheduler: turns
        of the busy intents are then read from the words and the template words bundles
        (`words_first`). An unbatched model is never busy: a turn holds it alone."""
        rows = self.config.busy_rows
        if self.scheduler is None or rows <= 0:
            return False
        load = self.scheduler.load()
        return load["decoding"] + load["waiting"] >= rows

    def _session_lock(self, session_id: str) -> threading.Lock:
        return self._session_locks[zlib.crc32(session_id.encode()) % SESSION_LOCK_STRIPES]

    def cart(self, session_id: str) -> tuple[CartLine, ...]:
        return self.store.load(session_id).cart_lines()

    def add_to_cart(self, session_id: str, item_id: str, quantity: int = 1) -> tuple[CartLine, ...]:
        if not 1 <= quantity <= 999:
            raise ConfigError(f"quantity: must be between 1 and 999, got {quantity}")
        state = self.store.load(session_id)
        item = self.index.catalog.get(item_id)
        state.add_to_cart(CartLine(item.item_id, item.title, item.price, quantity))
        self.actions.note_cart_add(state, [item.item_id])
        self.store.save(state)
        return state.cart_lines()

    def remove_from_cart(self, session_id: str, item_id: str) -> tuple[CartLine, ...]:
        state = self.store.load(session_id)
        state.remove_from_cart(item_id)
        self.store.save(state)
        return state.cart_lines()

    def record_order(self, item_ids: list[str], session_id: str | None = None) -> int:
        """Count a completed order into the live co-purchase statistics; returns orders seen.

        The association rules take the new pair counts at once (no restart, no refit); a
        session's profile records the purchase. Unknown ids fail before anything changes.
        """
        indices = self.index.catalog.indices(item_ids)  # raises UnknownItemError naming them
        if len(set(indices)) < 1:
            raise ConfigError("items: an order needs at least one item")
        with self._model_lock, self.chain.act_lock:
            # the store's log is the truth: every replica (this one too) counts it from there
            self.store.add_order([str(i) for i in item_ids])
            self.sync_orders()
            rules = self.index.sources.get("rules")
            if session_id is not None:
                state = self.store.load(session_id)
                state.cart = []
                self.store.save(state)
            return int(getattr(rules, "live_orders", 0))

    def checkout(self, session_id: str, idempotency_key: str | None = None, *,
                 deliver: bool = False) -> tuple[dict[str, Any], dict[str, Any], bool]:
        """(order, delivery record, created) for the session's cart (`checkout.py`). The same
        idempotency key gives back the stored order (created False) and changes nothing;
        a new order counts into the co-purchase statistics and empties the cart. `deliver`:
        a webhook will send it (its delivery starts "pending", else "not_configured")."""
        key = check_idempotency_key(idempotency_key) if idempotency_key else "auto_" + secrets.token_hex(12)
        with self._session_lock(session_id):
            known = self._checkout_by_key(key, session_id)
            if known is not None:
                return (*known, False)
            order = order_from_cart(self.store.load(session_id), key, self.config.currency)
            delivery = delivery_record("pending" if deliver else "not_configured")
            if not self.store.add_checkout(order.order_id, key, order.to_json(), json.dumps(delivery)):
                known = self._checkout_by_key(key, session_id)  # another replica took the key just now
                assert known is not None
                return (*known, False)
            self.record_order(order.item_ids, session_id)
        return order.to_dict(), delivery, True

    def _checkout_by_key(self, key: str, session_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        stored = self.store.checkout_by_key(key)
        if stored is None:
            return None
        order = json.loads(stored[0])
        if order["session_id"] != session_id:
            raise CheckoutError("idempotency_key: already used for another session's order")
        return order, json.loads(stored[1])

    def order(self, order_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(order, delivery record) of a checkout, from any replica."""
        stored = self.store.checkout(order_id)
        if stored is None:
            raise OrderNotFound(order_id)
        return json.loads(stored[0]), json.loads(stored[1])

    def sync_orders(self) -> int:
        """Count the orders any replica stored since the last sync into the live co-purchase
        counts (all of them on start, so a restart loses none); returns how many were new.
        Turns call it at most every `ORDER_SYNC_S` seconds: another replica's order reaches
        this one's evidence within that time or at its next turn, whichever is later."""
        fresh = self.store.orders_after(self._orders_seen)
        rules = self.index.sources.get("rules")
        for seq, item_ids in fresh:
            if rules is not None and hasattr(rules, "observe_basket"):
                known = [i for i in item_ids if i in self.index.catalog]
                if known:  # an item the catalog no longer has is skipped, the rest still count
                    rules.observe_basket(self.index.catalog.indices(known))
            self._orders_seen = seq
        if fresh:
            self.index.blend.clear_cache()
        self._orders_synced = time.monotonic()
        return len(fresh)

    def _sync_orders_if_due(self) -> None:
        if time.monotonic() - self._orders_synced >= ORDER_SYNC_S:
            self.sync_orders()

    def state(self, session_id: str) -> ConversationState:
        return self.store.load(session_id)

    def delete_session(self, session_id: str) -> bool:
        return self.store.delete(session_id)
