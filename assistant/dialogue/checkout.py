"""Checkout hand-off: a session's cart becomes an order the shop's own checkout takes over.

An order has an id, its lines (quantity x unit price, each line's total and the order's
computed here, never by a model), its currency and an idempotency key: checking out again
with the same key gives back the same order and sends nothing twice. The order is stored
with its delivery record (`delivery_record`): the serve layer sends it to the shop's webhook
(`assistant/serve/webhooks.py`) and writes every attempt there, so `GET /v1/orders/{id}`
says how delivery went, on any replica.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import time
from typing import Any

from assistant.dialogue.session import ConversationState
from retrieval.errors import CartsmithError

# Delivery states: "pending" (being sent or waiting for a retry), "delivered" (the shop's
# webhook answered 2xx), "failed" (every attempt failed), "not_configured" (no webhook URL:
# the shop reads orders with GET /v1/orders/{id}).
DELIVERY_STATES = ("pending", "delivered", "failed", "not_configured")
_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")


class CheckoutError(CartsmithError):
    """A cart that cannot become an order (empty, an item without a price, a bad key)."""


class OrderNotFound(CartsmithError):
    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"no order {order_id!r}")


@dataclasses.dataclass(frozen=True)
class OrderLine:
    item_id: str
    title: str
    quantity: int
    unit_price: float
    line_total: float


@dataclasses.dataclass(frozen=True)
class Order:
    order_id: str
    session_id: str
    idempotency_key: str
    lines: tuple[OrderLine, ...]
    total: float
    currency: str
    created: float

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["lines"] = [dataclasses.asdict(line) for line in self.lines]
        return data

    def to_json(self) -> str:
        """The body sent to the webhook and stored, byte for byte (the signature covers it)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @property
    def item_ids(self) -> list[str]:
        return [line.item_id for line in self.lines]


def check_idempotency_key(key: str) -> str:
    if not _KEY.match(key):
        raise CheckoutError("idempotency_key: 8 to 128 letters, digits or _ . : - (e.g. a UUID)")
    return key


def new_order_id() -> str:
    return "ord_" + secrets.token_hex(10)


def order_from_cart(state: ConversationState, idempotency_key: str, currency: str,
                    now: float | None = None) -> Order:
    """The order for a session's cart; a CheckoutError names what is missing."""
    cart = state.cart_lines()
    if not cart:
        raise CheckoutError("cart: the cart is empty; add items before checking out")
    unpriced = [line.item_id for line in cart if line.price is None]
    if unpriced:
        raise CheckoutError(f"cart: item(s) {', '.join(unpriced)} have no price; remove them to check out")
    lines = tuple(OrderLine(line.item_id, line.title, line.quantity, float(line.price or 0.0),
                            round(line.quantity * float(line.price or 0.0), 2)) for line in cart)
    return Order(order_id=new_order_id(), session_id=state.session_id, idempotency_key=idempotency_key,
                 lines=lines, total=round(sum(line.line_total for line in lines), 2), currency=currency,
                 created=time.time() if now is None else now)


def delivery_record(state: str, attempts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """How an order's webhook delivery stands: its state and every attempt (time, HTTP
    status or error, seconds)."""
    if state not in DELIVERY_STATES:
        raise ValueError(f"delivery state {state!r} is not one of {DELIVERY_STATES}")
    return {"state": state, "attempts": list(attempts or [])}
