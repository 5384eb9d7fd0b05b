"""The HTTP API: a FastAPI app over one `Assistant`.

Routes (OpenAPI docs at /docs):

    POST   /v1/sessions                        {"user_id"?}            -> 201 {"session_id"}
    POST   /v1/sessions/{id}/messages          {"text"}                -> reply, bundle, total, cart, ...
    GET    /v1/sessions/{id}/cart                                      -> {"session_id", "cart", "total"}
    POST   /v1/sessions/{id}/cart              {"item_id", "quantity"} -> the cart
    DELETE /v1/sessions/{id}/cart/{item_id}                            -> the cart
    DELETE /v1/sessions/{id}                                           -> {"session_id", "deleted"}
    POST   /v1/orders                          {"item_ids", "session_id"?} -> {"recorded", "live_orders"}
    POST   /v1/chat/completions                OpenAI-compatible, "stream": true for SSE
    GET    /v1/models                          OpenAI-compatible model list
    GET    /health                                                     -> {"status", "ready"}

Keys (`Authorization: Bearer KEY` or `X-API-Key: KEY`) are required on /v1 when any are
configured; every /v1 request counts against a per-key (else per-client-IP) budget of
requests per minute (429 + Retry-After past it). For a shop's own pages (`web_access.py`):
public keys that can only chat and fill a cart (403 elsewhere, and for a `user_id`),
counted per client address, and CORS for the origins the shop lists (none by default).

Errors are JSON `{"error": {"type", "message", ...}}`: an over-long message is 413 and an
empty one 422, both naming `field` and `limit`; an unknown session is 404; any other
domain error is 400 with its message; a malformed body is 422; anything unexpected is a
500 with a generic message. Nothing here logs message text: the access log names the
route template (not the session id), the status and the time.

The OpenAI-compatible routes and their SSE stream live in `openai_compat.py`; keys, limits
and error bodies in `api_guards.py`; the schemas in `api_models.py`.
"""

import contextlib
import logging
import pathlib
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Response
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from assistant.dialogue.session import SessionNotFound
from assistant.serve.api_guards import RateLimiter, checked_text, install_error_handlers, make_guard
from assistant.serve.api_models import (
    ERROR_RESPONSES,
    CartIn,
    CartLineOut,
    CartOut,
    CreateSession,
    DeletedOut,
    ForgottenOut,
    HealthOut,
    MessageIn,
    MessageOut,
    OrderIn,
    OrderOut,
    SessionOut,
)
from assistant.serve.checkout_routes import Webhooks, add_checkout_routes
from assistant.serve.holder import AssistantHolder
from assistant.serve.memory import tune_malloc
from assistant.serve.openai_compat import UserSessions, add_openai_routes
from assistant.serve.shopper_tokens import ShopperTokenError, customer_in
from assistant.serve.web_access import CORS_HEADERS, CORS_METHODS, WebAccess, is_public
from assistant.serve.webhooks import WebhookConfig

__all__ = ["DEFAULT_MAX_BODY_BYTES", "RateLimiter", "create_app"]

log = logging.getLogger("cartsmith.api")

DEFAULT_MAX_BODY_BYTES = 1_000_000
SessionId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")]
ItemId = Annotated[str, Path(min_length=1, max_length=128)]
CustomerId = Annotated[str, Path(min_length=1, max_length=128)]


def _lines_total(lines: Iterable[Any]) -> tuple[list[dict[str, Any]], float]:
    rows = [line.to_dict() for line in lines]
    total = round(sum((r["price"] or 0.0) * r["quantity"] for r in rows), 2)
    return rows, total


def _cart_out(session_id: str, lines: Iterable[Any]) -> CartOut:
    rows, total = _lines_total(lines)
    return CartOut(session_id=session_id, cart=[CartLineOut(**r) for r in rows], total=total,
                   count=sum(r["quantity"] for r in rows))


WIDGET_JS = (pathlib.Path(__file__).parent / "static" / "widget.js").read_bytes()


def create_app(assistant: Any, *, api_keys: Iterable[str] | None = None, rate_limit_per_minute: int | None = 60,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, load_on_startup: bool = True,
               web: WebAccess | None = None, webhook: WebhookConfig | None = None) -> FastAPI:
    """The API over `assistant` (an Assistant, or a no-argument factory building one).

    api_keys: when given (non-empty), /v1 routes need one of them. rate_limit_per_minute:
    per key (or client IP without keys); 0 or None turns the limit off. web: the shop's
    pages' access (`web_access`): CORS origins, and public keys for chat and the cart.
    webhook: where checkouts' orders are sent, signed (`webhooks`); None: nowhere.
    """
    tune_malloc()  # threads per request must not each keep a malloc arena (memory.py)
    holder = AssistantHolder(assistant)
    keys = tuple(k for k in (api_keys or ()) if k)
    web = web or WebAccess()
    web.check_against(keys)
    guard = make_guard(keys, RateLimiter(rate_limit_per_minute), web.public_keys,
                       RateLimiter(web.public_rate_limit_per_minute))
    user_sessions = UserSessions()
    webhooks = Webhooks(holder, webhook)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if load_on_startup and not holder.ready:
            try:
                await run_in_threadpool(holder.get)
            except Exception as exc:  # /health says so; requests retry the load
                # the load reads files and config, never a shopper's words: its message is safe to log
                log.error("loading the assistant failed: %s: %s", type(exc).__name__, exc)
        if holder.ready:
            await run_in_threadpool(webhooks.sender)  # orders left pending are sent again
        yield
        webhooks.stop()

    app = FastAPI(
        title="cartsmith",
        summary="A shopping assistant that composes product bundles from the shop's catalog and explains them.",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=max_body_bytes,
        # No OpenTelemetry records: exception messages could quote a shopper's text.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_error_handlers(app)
    if web.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(web.cors_origins), allow_methods=list(CORS_METHODS),
                           allow_headers=list(CORS_HEADERS), expose_headers=["X-Session-Id"], max_age=600)
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(guard)], responses=ERROR_RESPONSES)

    @app.get("/health", response_model=HealthOut, tags=["service"],
             responses={500: ERROR_RESPONSES[500], 503: {"model": HealthOut, "description": "not ready yet"}})
    def health(response: Response) -> HealthOut:
        """200 once the assistant is loaded; 503 while it loads or after its load failed (a
        load balancer sends no traffic until then)."""
        if holder.ready:
            return HealthOut(status="ok", ready=True)
        response.status_code = 503
        return HealthOut(status="error" if holder.failed else "loading", ready=False)

    @app.get("/widget.js", tags=["service"], response_class=Response,
             responses={200: {"content": {"text/javascript": {}}, "description": "the chat widget"}})
    def widget_js() -> Response:
        """The chat widget for a shop's pages: `<script src=".../widget.js" data-api="..."
        data-key="PUBLIC_KEY" defer></script>` (see examples/shop/)."""
        return Response(WIDGET_JS, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})

    @v1.post("/sessions", response_model=SessionOut, status_code=201, tags=["sessions"])
    def create_session(identity: Annotated[str, Depends(guard)],
                       body: Annotated[CreateSession | None, Body()] = None) -> SessionOut:
        if body is not None and body.user_id is not None and is_public(identity):
            # a public key is in every shopper's page: naming a customer would lend out their history
            raise HTTPException(403, "user_id: a public key cannot name a customer; the shop's server "
                                     "opens a customer's session with a private API key, or signs a "
                                     "shopper_token for the page")
        user_id = body.user_id if body else None
        if body is not None and body.shopper_token is not None:
            if user_id is not None:
                raise HTTPException(422, "give either user_id or shopper_token, not both")
            if not web.shopper_token_secret:
                raise HTTPException(403, "shopper_token: this server takes no shopper tokens "
                                         "(set CARTSMITH_SHOPPER_TOKEN_SECRET)")
            try:
                user_id = customer_in(body.shopper_token, web.shopper_token_secret)
            except ShopperTokenError as exc:
                raise HTTPException(403, str(exc)) from None
        return SessionOut(session_id=holder.get().open_session(user_id))

    @v1.delete("/sessions/{session_id}", response_model=DeletedOut, tags=["sessions"])
    def delete_session(session_id: SessionId) -> DeletedOut:
        if not holder.get().delete_session(session_id):
            raise SessionNotFound(session_id)
        user_sessions.forget(session_id)
        return DeletedOut(session_id=session_id, deleted=True)

    @v1.delete("/customers/{customer_id}", response_model=ForgottenOut, tags=["customers"])
    def forget_customer(customer_id: CustomerId) -> ForgottenOut:
        """Forget a customer: their purchase history personalises nothing from now on (on every
        replica sharing the session store), their sessions are deleted, and the next index
        build leaves them out. Only a private (server-side) key may call it."""
        return ForgottenOut(**holder.get().forget_customer(customer_id))

    @v1.post("/sessions/{session_id}/messages", response_model=MessageOut, tags=["conversation"])
    def post_message(body: MessageIn, session_id: SessionId) -> MessageOut:
        assistant = holder.get()
        reply = assistant.turn(session_id, checked_text(assistant, body.text))
        log.info("turn session=%s… kind=%s items=%d %.2fs", session_id[:6], reply.kind,
                 len(reply.bundle.items) if reply.bundle else 0, reply.timings.get("total", 0.0))
        return MessageOut(session_id=session_id, **reply.to_dict())

    @v1.get("/sessions/{session_id}/cart", response_model=CartOut, tags=["cart"])
    def get_cart(session_id: SessionId) -> CartOut:
        return _cart_out(session_id, holder.get().cart(session_id))

    @v1.post("/sessions/{session_id}/cart", response_model=CartOut, tags=["cart"])
    def add_to_cart(body: CartIn, session_id: SessionId) -> CartOut:
        return _cart_out(session_id, holder.get().add_to_cart(session_id, body.item_id, body.quantity))

    @v1.post("/orders", response_model=OrderOut, tags=["orders"])
    def post_order(body: OrderIn) -> OrderOut:
        """A completed order: its co-purchases count at once (no restart); the session's cart is emptied."""
        seen = holder.get().record_order(body.item_ids, body.session_id)
        return OrderOut(recorded=True, items=len(set(body.item_ids)), live_orders=seen)

    @v1.delete("/sessions/{session_id}/cart/{item_id}", response_model=CartOut, tags=["cart"])
    def remove_from_cart(session_id: SessionId, item_id: ItemId) -> CartOut:
        return _cart_out(session_id, holder.get().remove_from_cart(session_id, item_id))

    add_checkout_routes(v1, holder, webhooks)
    add_openai_routes(v1, holder, guard, user_sessions)
    app.include_router(v1)
    app.state.assistant_holder = holder
    return app
