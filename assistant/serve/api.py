"""The HTTP API: a FastAPI app over one `Assistant`.

Routes (OpenAPI docs at /docs):

    POST   /v1/sessions                        {"user_id"?}            -> 201 {"session_id"}
    POST   /v1/sessions/{id}/messages          {"text"}                -> reply, bundle, total, cart, ...
    GET    /v1/sessions/{id}/cart                                      -> {"session_id", "cart", "total"}
    POST   /v1/sessions/{id}/cart              {"item_id", "quantity"} -> the cart
    DELETE /v1/sessions/{id}/cart/{item_id}                            -> the cart
    DELETE /v1/sessions/{id}                                           -> {"session_id", "deleted"}
    POST   /v1/chat/completions                OpenAI-compatible, "stream": true for SSE
    GET    /v1/models                          OpenAI-compatible model list
    GET    /health                                                     -> {"status", "ready"}

Keys (`Authorization: Bearer KEY` or `X-API-Key: KEY`) are required on /v1 when any are
configured; every /v1 request counts against a per-key (else per-client-IP) budget of
requests per minute (429 + Retry-After past it).

Errors are JSON `{"error": {"type", "message", ...}}`: an over-long message is 413 and an
empty one 422, both naming `field` and `limit`; an unknown session is 404; any other
domain error is 400 with its message; a malformed body is 422; anything unexpected is a
500 with a generic message. Nothing here logs message text: the access log names the
route template (not the session id), the status and the time.

Streaming: the chain has no token-level hook (the writer's text is checked by a guard
before anyone may see it), so the SSE stream sends the bundle as soon as the composer has
made it — before the language model starts writing — and the text, in word chunks, once
the turn is done (`Assistant.turn(..., on_bundle=...)`; the Gradio UI uses it too).
"""

import asyncio
import contextlib
import hmac
import json
import logging
import math
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from assistant.dialogue.session import SessionNotFound
from assistant.records import Reply
from assistant.safety.guard import InputLimits, InputRejected, check_input
from assistant.serve.api_guards import (
    RateLimiter,
    _input_rejected_status,
    _key_id,
    _on_domain_error,
    _on_http_error,
    _on_input_rejected,
    _on_session_not_found,
    _on_validation_error,
    _presented_key,
    _SafetyNet,
)
from assistant.serve.api_models import (
    ERROR_RESPONSES,
    MODEL_NAME,
    BundleOut,
    CartIn,
    CartLineOut,
    CartOut,
    ChatChoice,
    ChatCompletionIn,
    ChatCompletionOut,
    ChatMessageIn,
    ChatMessageOut,
    CreateSession,
    DeletedOut,
    HealthOut,
    MessageIn,
    MessageOut,
    OrderIn,
    OrderOut,
    SessionOut,
    Usage,
)
from retrieval.errors import CartsmithError

log = logging.getLogger("cartsmith.api")

DEFAULT_MAX_BODY_BYTES = 1_000_000
SessionId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")]
ItemId = Annotated[str, Path(min_length=1, max_length=128)]


# ------------------------------------------------------------------------------------------
# The app
# ------------------------------------------------------------------------------------------
class _AssistantHolder:
    """The Assistant, built once (lazily, or at startup) from a factory, or given ready."""

    def __init__(self, assistant_or_factory: Any) -> None:
        if hasattr(assistant_or_factory, "turn"):
            self._assistant, self._factory = assistant_or_factory, None
        elif callable(assistant_or_factory):
            self._assistant, self._factory = None, assistant_or_factory
        else:
            raise TypeError("create_app needs an Assistant or a callable that returns one")
        self._lock = threading.Lock()
        self.failed = False

    @property
    def ready(self) -> bool:
        return self._assistant is not None

    def get(self) -> Any:
        if self._assistant is None:
            with self._lock:
                if self._assistant is None:
                    assert self._factory is not None
                    try:
                        self._assistant = self._factory()
                    except Exception:
                        self.failed = True
                        raise
                    self.failed = False
        return self._assistant


def _lines_total(lines: Iterable[Any]) -> tuple[list[dict[str, Any]], float]:
    rows = [line.to_dict() for line in lines]
    total = round(sum((r["price"] or 0.0) * r["quantity"] for r in rows), 2)
    return rows, total


def _cart_out(session_id: str, lines: Iterable[Any]) -> CartOut:
    rows, total = _lines_total(lines)
    return CartOut(session_id=session_id, cart=[CartLineOut(**r) for r in rows], total=total,
                   count=sum(r["quantity"] for r in rows))


def _user_text(messages: list[ChatMessageIn]) -> str:
    for message in reversed(messages):
        if message.role != "user":
            continue
        if isinstance(message.content, str):
            return message.content
        if isinstance(message.content, list):
            return "".join(part.text or "" for part in message.content if part.type == "text")
        return ""
    raise InputRejected("messages: there is no user message to answer", field="messages")


def _chunk_words(text: str) -> list[str]:
    return [piece for piece in re.findall(r"\S*\s*", text) if piece]


def create_app(assistant: Any, *, api_keys: Iterable[str] | None = None, rate_limit_per_minute: int | None = 60,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, load_on_startup: bool = True) -> FastAPI:
    """The API over `assistant` (an Assistant, or a no-argument factory building one).

    api_keys: when given (non-empty), /v1 routes need one of them. rate_limit_per_minute:
    per key (or client IP without keys); 0 or None turns the limit off.
    """
    holder = _AssistantHolder(assistant)
    keys = tuple(k for k in (api_keys or ()) if k)
    limiter = RateLimiter(rate_limit_per_minute)
    user_sessions: OrderedDict[tuple[str, str], str] = OrderedDict()
    user_sessions_lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if load_on_startup and not holder.ready:
            try:
                await run_in_threadpool(holder.get)
            except Exception as exc:  # /health says so; requests retry the load
                log.error("loading the assistant failed: %s", type(exc).__name__)
        yield

    app = FastAPI(
        title="cartsmith",
        summary="A shopping assistant that composes product bundles from the shop's catalog and explains them.",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=max_body_bytes,
        # No OpenTelemetry records: exception messages could quote a shopper's text.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.add_middleware(_SafetyNet)
    app.add_exception_handler(InputRejected, _on_input_rejected)
    app.add_exception_handler(SessionNotFound, _on_session_not_found)
    app.add_exception_handler(CartsmithError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)

    def guard(request: Request) -> str:
        """Auth and rate limit; returns the caller's identity (a key hash or the client IP)."""
        presented = _presented_key(request)
        valid = presented is not None and any(hmac.compare_digest(presented.encode(), k.encode()) for k in keys)
        client = request.client.host if request.client else "unknown"
        identity = _key_id(presented) if (valid and presented) else f"ip:{client}"
        wait = limiter.check(identity)
        if wait is not None:
            raise HTTPException(429, f"rate limit of {limiter.per_minute} requests per minute exceeded",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        if keys and not valid:
            raise HTTPException(401, "a valid API key is required (Authorization: Bearer KEY or X-API-Key)",
                                headers={"WWW-Authenticate": "Bearer"})
        return identity

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(guard)], responses=ERROR_RESPONSES)

    def limits_of(assistant: Any) -> InputLimits:
        config = getattr(assistant, "config", None)
        return InputLimits(getattr(config, "max_input_chars", 2_000), getattr(config, "max_turns_per_session", 200))

    def checked_text(assistant: Any, text: str) -> str:
        check_input(text, limits_of(assistant))  # cheap: rejects before waiting for the model
        return text

    @app.get("/health", response_model=HealthOut, tags=["service"], responses={500: ERROR_RESPONSES[500]})
    def health() -> HealthOut:
        if holder.ready:
            return HealthOut(status="ok", ready=True)
        return HealthOut(status="error" if holder.failed else "loading", ready=False)

    @v1.post("/sessions", response_model=SessionOut, status_code=201, tags=["sessions"])
    def create_session(body: Annotated[CreateSession | None, Body()] = None) -> SessionOut:
        return SessionOut(session_id=holder.get().open_session(body.user_id if body else None))

    @v1.delete("/sessions/{session_id}", response_model=DeletedOut, tags=["sessions"])
    def delete_session(session_id: SessionId) -> DeletedOut:
        if not holder.get().delete_session(session_id):
            raise SessionNotFound(session_id)
        with user_sessions_lock:
            for key in [k for k, v in user_sessions.items() if v == session_id]:
                del user_sessions[key]
        return DeletedOut(session_id=session_id, deleted=True)

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

    @v1.get("/models", tags=["openai"])
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0,
                                            "owned_by": "cartsmith"}]}

    def resolve_session(assistant: Any, identity: str, header_id: str | None, user: str | None) -> str:
        if header_id:
            assistant.state(header_id)  # SessionNotFound -> 404: an explicit id must exist
            return header_id
        if user:
            key = (identity, user)
            with user_sessions_lock:
                known = user_sessions.get(key)
            if known is not None:
                try:
                    assistant.state(known)
                    return known
                except SessionNotFound:
                    pass
            session_id = assistant.open_session(user)
            with user_sessions_lock:
                user_sessions[key] = session_id
                user_sessions.move_to_end(key)
                while len(user_sessions) > 100_000:
                    user_sessions.popitem(last=False)
            return session_id
        return assistant.open_session()

    @v1.post("/chat/completions", response_model=ChatCompletionOut, tags=["openai"],
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "chat.completion, or chat.completion.chunk events when streaming"}})
    async def chat_completions(body: ChatCompletionIn, request: Request,
                               identity: Annotated[str, Depends(guard)]) -> Any:
        assistant = await run_in_threadpool(holder.get)
        text = checked_text(assistant, _user_text(body.messages))
        header_id = request.headers.get("x-session-id") or None
        if header_id is not None and not re.fullmatch(r"[A-Za-z0-9_\-]{1,128}", header_id):
            raise InputRejected("X-Session-Id: not a session id", field="X-Session-Id")
        session_id = await run_in_threadpool(resolve_session, assistant, identity, header_id, body.user)
        completion_id = "chatcmpl-" + uuid.uuid4().hex
        created = int(time.time())
        headers = {"X-Session-Id": session_id}
        if not body.stream:
            reply = await run_in_threadpool(assistant.turn, session_id, text)
            out = ChatCompletionOut(
                id=completion_id, created=created, model=body.model,
                choices=[ChatChoice(message=ChatMessageOut(content=reply.text))],
                usage=Usage(completion_tokens=reply.tokens_generated, total_tokens=reply.tokens_generated),
                session_id=session_id, kind=reply.kind,
                bundle=BundleOut(**reply.bundle.to_dict()) if reply.bundle else None,
                cart=[CartLineOut(**line.to_dict()) for line in reply.cart])
            return JSONResponse(out.model_dump(mode="json"), headers=headers)
        # Checked before the stream starts, so these are still proper HTTP errors.
        state = await run_in_threadpool(assistant.state, session_id)
        limits = limits_of(assistant)
        if state.turns >= limits.max_turns_per_session:
            raise InputRejected(f"this session reached its limit of {limits.max_turns_per_session} turns; "
                                "start a new one", field="session", limit=limits.max_turns_per_session)
        events = _stream_turn(assistant, session_id, text, completion_id, created, body.model)
        return StreamingResponse(events, media_type="text/event-stream",
                                 headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    app.include_router(v1)
    app.state.assistant_holder = holder
    return app


def _sse(data: Mapping[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


async def _stream_turn(assistant: Any, session_id: str, text: str, completion_id: str, created: int,
                       model: str) -> AsyncIterator[bytes]:
    """chat.completion.chunk events: role + bundle first, then the text in word chunks, then [DONE]."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(kind: str, value: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def work() -> None:
        try:
            put("reply", assistant.turn(session_id, text, on_bundle=lambda b: put("bundle", b)))
        except BaseException as exc:  # reported in-stream: the headers are gone
            put("error", exc)

    worker = asyncio.ensure_future(run_in_threadpool(work))

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return _sse({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    first_sent = False
    try:
        while True:
            kind, value = await queue.get()
            if kind == "bundle" and not first_sent:
                first_sent = True
                yield chunk({"role": "assistant", "content": ""}, bundle=value.to_dict(), session_id=session_id)
            elif kind == "reply":
                reply: Reply = value
                if not first_sent:
                    first_sent = True
                    yield chunk({"role": "assistant", "content": ""},
                                bundle=reply.bundle.to_dict() if reply.bundle else None, session_id=session_id)
                for piece in _chunk_words(reply.text):
                    yield chunk({"content": piece})
                data = reply.to_dict()
                yield chunk({}, "stop", session_id=session_id,
                            usage={"prompt_tokens": 0, "completion_tokens": reply.tokens_generated,
                                   "total_tokens": reply.tokens_generated},
                            cartsmith={k: data[k] for k in ("kind", "total", "cart", "alternatives", "timings",
                                                            "writer")})
                break
            elif kind == "error":
                exc = value
                if isinstance(exc, InputRejected):
                    error = {"type": "input_rejected", "message": str(exc), "field": exc.field, "limit": exc.limit,
                             "status": _input_rejected_status(exc)}
                elif isinstance(exc, SessionNotFound):
                    error = {"type": "session_not_found", "message": "no such session", "status": 404}
                elif isinstance(exc, CartsmithError):
                    error = {"type": "bad_request", "message": str(exc), "status": 400}
                else:
                    log.error("unhandled %s in a streamed turn", type(exc).__name__)
                    error = {"type": "internal_error", "message": "internal error", "status": 500}
                if not first_sent:
                    yield chunk({"role": "assistant", "content": ""}, bundle=None, session_id=session_id)
                yield chunk({}, "error", error=error)
                break
        yield _sse("[DONE]")
    finally:
        if not worker.done():  # the client went away: the turn still finishes and is saved
            worker.add_done_callback(lambda f: f.exception())
