"""The HTTP API's edges: API keys, rate limits, input limits, JSON error bodies, and a
safety net that turns any unexpected exception into a logged 500 without the shopper's text.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.dialogue.checkout import OrderNotFound
from assistant.dialogue.session import SessionExpired, SessionNotFound
from assistant.safety.guard import InputLimits, InputRejected, check_input
from assistant.serve.web_access import PUBLIC_PREFIX, PUBLIC_ROUTES
from retrieval.errors import CartsmithError

log = logging.getLogger("cartsmith.api")

# ------------------------------------------------------------------------------------------
# Auth and rate limiting
# ------------------------------------------------------------------------------------------
class RateLimiter:
    """Sliding one-minute window per identity; thread-safe; forgets idle identities."""

    def __init__(self, per_minute: int | None, window_s: float = 60.0, max_identities: int = 100_000) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self.max_identities = max_identities
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, identity: str, now: float | None = None) -> float | None:
        """Record a hit; None if allowed, else the seconds until the next one is."""
        if not self.per_minute:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.pop(identity, None) or deque()
            self._hits[identity] = hits  # most recent last
            while hits and now - hits[0] >= self.window_s:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(self.window_s - (now - hits[0]), 0.001)
            hits.append(now)
            while len(self._hits) > self.max_identities:
                self._hits.popitem(last=False)
        return None


def make_guard(keys: Sequence[str], limiter: RateLimiter, public_keys: Sequence[str] = (),
               public_limiter: RateLimiter | None = None) -> Callable[[Request], str]:
    """The /v1 dependency: auth (when `keys` is not empty) and the rate limit; it returns
    the caller's identity (a key hash, else the client IP). A public key (`web_access`)
    reaches only `PUBLIC_ROUTES` (else 403), counted per client address."""

    def guard(request: Request) -> str:
        presented = _presented_key(request)
        valid = presented is not None and _one_of(presented, keys)
        public = presented is not None and not valid and _one_of(presented, public_keys)
        client = request.client.host if request.client else "unknown"
        if public and presented:
            identity, counter = f"{PUBLIC_PREFIX}{_key_id(presented)}:ip:{client}", public_limiter or limiter
        else:
            identity, counter = (_key_id(presented) if (valid and presented) else f"ip:{client}"), limiter
        wait = counter.check(identity)
        if wait is not None:
            raise HTTPException(429, f"rate limit of {counter.per_minute} requests per minute exceeded",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        if keys and not (valid or public):
            raise HTTPException(401, "a valid API key is required (Authorization: Bearer KEY or X-API-Key)",
                                headers={"WWW-Authenticate": "Bearer"})
        if public:
            route = request.scope.get("route")
            if (request.method, getattr(route, "path", "")) not in PUBLIC_ROUTES:
                raise HTTPException(403, "a public key can only chat and fill a cart; this needs a private API key")
        return identity

    return guard


def _one_of(presented: str, keys: Sequence[str]) -> bool:
    return any(hmac.compare_digest(presented.encode(), k.encode()) for k in keys)


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = request.headers.get("x-api-key", "").strip()
    return key or None


def _key_id(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------
# Input limits
# ------------------------------------------------------------------------------------------
def input_limits_of(assistant: Any) -> InputLimits:
    """The assistant's own limits (its config), else the defaults."""
    config = getattr(assistant, "config", None)
    return InputLimits(getattr(config, "max_input_chars", 2_000), getattr(config, "max_turns_per_session", 200))


def checked_text(assistant: Any, text: str) -> str:
    """The text, once it passes the input limits: cheap, so a request is rejected before it
    waits for the model."""
    check_input(text, input_limits_of(assistant))
    return text


# ------------------------------------------------------------------------------------------
# Errors and logging
# ------------------------------------------------------------------------------------------
def install_error_handlers(app: FastAPI) -> None:
    """JSON error bodies for every failure, and the safety net around everything."""
    app.add_middleware(_SafetyNet)
    app.add_exception_handler(InputRejected, _on_input_rejected)
    app.add_exception_handler(SessionNotFound, _on_session_not_found)
    app.add_exception_handler(OrderNotFound, _on_order_not_found)
    app.add_exception_handler(CartsmithError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)


def _error(status: int, kind: str, message: str, headers: Mapping[str, str] | None = None,
           **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": kind, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse({"error": body}, status_code=status, headers=dict(headers or {}))


def input_rejected_status(exc: InputRejected) -> int:
    return 413 if exc.field == "text" and exc.limit is not None else 422


async def _on_input_rejected(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputRejected)
    return _error(input_rejected_status(exc), "input_rejected", str(exc), field=exc.field, limit=exc.limit)


async def _on_session_not_found(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, SessionExpired):
        return _error(404, "session_expired", f"{exc}: POST /v1/sessions")
    return _error(404, "session_not_found", "no such session (it may have been deleted)")


async def _on_order_not_found(request: Request, exc: Exception) -> JSONResponse:
    return _error(404, "order_not_found", str(exc))


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:  # busy, not wrong (`batching.Overloaded`): come back later
        return _error(503, "overloaded", str(exc), headers={"Retry-After": str(int(retry_after))})
    return _error(400, "bad_request", str(exc))


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The offending input is not echoed back: it may be huge or carry personal data.
    details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
               for e in exc.errors()][:20]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    field = ".".join(str(p) for p in first["loc"] if p != "body") or None
    return _error(422, "invalid_request", f"{field or 'body'}: {first['msg']}", field=field, detail=details)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    kind = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
            429: "rate_limited"}.get(exc.status_code, "http_error")
    return _error(exc.status_code, kind, str(exc.detail), headers=exc.headers)


class _SafetyNet:
    """Outermost handler: unexpected errors become a generic 500 (no trace to the client, no
    message text in the log), and each request is logged by route template, status and time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500, "started": False}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if isinstance(exc, HTTPException) or type(exc).__module__ == "starlette.middleware.body_limit":
                raise  # the request-body limit's signals: FastAPI's outer middleware answers 413
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"
            log.error("unhandled %s at %s on %s %s", type(exc).__name__, where, scope.get("method"),
                      _route_of(scope))
            if not status["started"]:
                status["code"] = 500
                response = _error(500, "internal_error", "internal error; the request was not completed")
                await response(scope, receive, send)
        finally:
            log.info("%s %s %s %.0fms", scope.get("method"), _route_of(scope), status["code"],
                     (time.perf_counter() - start) * 1000)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    # Unmatched: hide anything that looks like an id.
    return re.sub(r"/v1/sessions/[^/]+", "/v1/sessions/{session_id}", str(scope.get("path", "")))
