"""POST /v1/sessions/{id}/checkout and GET /v1/orders/{id}: the cart handed to the shop's
checkout as an order, sent to its webhook (`webhooks.py`) when one is configured."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from assistant.serve.holder import AssistantHolder
from assistant.serve.webhooks import WebhookConfig, WebhookSender

OrderId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
SessionId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")]


class CheckoutIn(BaseModel):
    idempotency_key: str | None = Field(None, max_length=128, description="the same key gives back the same order "
                                        "(also the Idempotency-Key header)")


class OrderLineOut(BaseModel):
    item_id: str
    title: str
    quantity: int
    unit_price: float
    line_total: float


class DeliveryOut(BaseModel):
    state: str = Field(description="pending, delivered, failed or not_configured")
    attempts: list[dict[str, Any]] = Field(description="each attempt: at, status, error, seconds")


class CheckoutOut(BaseModel):
    order_id: str
    session_id: str
    idempotency_key: str
    lines: list[OrderLineOut]
    total: float
    currency: str
    created: float
    delivery: DeliveryOut


class Webhooks:
    """The webhook sender of one app, started with the assistant (it resumes the orders left
    pending in the store) or at the first checkout."""

    def __init__(self, holder: AssistantHolder, config: WebhookConfig | None) -> None:
        self.holder, self.config = holder, config
        self._sender: WebhookSender | None = None
        self._lock = threading.Lock()

    def sender(self) -> WebhookSender | None:
        if self.config is None:
            return None
        with self._lock:
            if self._sender is None:
                self._sender = WebhookSender(self.config, self.holder.get().store).start()
            return self._sender

    def stop(self) -> None:
        with self._lock:
            if self._sender is not None:
                self._sender.stop()
                self._sender = None


def _out(order: dict[str, Any], delivery: dict[str, Any]) -> CheckoutOut:
    return CheckoutOut(**order, delivery=DeliveryOut(**delivery))


def add_checkout_routes(v1: APIRouter, holder: AssistantHolder, webhooks: Webhooks) -> None:
    @v1.post("/sessions/{session_id}/checkout", response_model=CheckoutOut, status_code=201, tags=["orders"],
             responses={200: {"model": CheckoutOut, "description": "the order this idempotency key made before"}})
    async def checkout(session_id: SessionId, response: Response,
                       body: Annotated[CheckoutIn | None, Body()] = None,
                       idempotency_key: Annotated[str | None, Header(max_length=128)] = None) -> CheckoutOut:
        """The session's cart as an order (lines, quantities, prices, total, currency), its
        co-purchases counted and the cart emptied; sent to the shop's webhook, signed, when
        one is configured. Checking out again with the same key gives back the same order."""
        key = (body.idempotency_key if body else None) or idempotency_key
        sender = await run_in_threadpool(webhooks.sender)
        order, delivery, created = await run_in_threadpool(
            lambda: holder.get().checkout(session_id, key, deliver=sender is not None))
        if created and sender is not None:
            sender.submit(order["order_id"])
        if not created:
            response.status_code = 200
        return _out(order, delivery)

    @v1.get("/orders/{order_id}", response_model=CheckoutOut, tags=["orders"])
    def get_order(order_id: OrderId) -> CheckoutOut:
        """An order a checkout made, with its webhook delivery state and every attempt."""
        return _out(*holder.get().order(order_id))
