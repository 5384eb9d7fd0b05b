"""The OpenAI-compatible part of the HTTP API: GET /v1/models and POST /v1/chat/completions.

A chat completion answers the last user message in a session: the one named by the
`X-Session-Id` header (it must exist), else one kept per caller and OpenAI `user` field,
else a new one; the reply names it in `X-Session-Id`.

Streaming: the chain has no token-level hook (the writer's text is checked by a guard
before anyone may see it), so the SSE stream sends the bundle as soon as the composer has
made it — before the language model starts writing — and the text, in word chunks, once
the turn is done (`Assistant.turn(..., on_bundle=...)`; the Gradio UI uses it too).
Errors after the stream has started are sent in-stream as a chunk with `finish_reason`
"error".
"""

import asyncio
import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from assistant.dialogue.restore import restore_context, titles_of
from assistant.dialogue.session import SessionExpired, SessionNotFound
from assistant.records import Reply
from assistant.safety.guard import InputRejected
from assistant.serve.api_guards import checked_text, input_limits_of, input_rejected_status
from assistant.serve.api_models import (
    MODEL_NAME,
    BundleOut,
    CartLineOut,
    ChatChoice,
    ChatCompletionIn,
    ChatCompletionOut,
    ChatMessageIn,
    ChatMessageOut,
    Usage,
)
from assistant.serve.holder import AssistantHolder
from retrieval.errors import CartsmithError

log = logging.getLogger("cartsmith.api")


class UserSessions:
    """Which session a caller's OpenAI `user` continues: (caller identity, user) -> session
    id, the oldest forgotten past `max_entries`; thread-safe."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._sessions: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, assistant: Any, identity: str, header_id: str | None, user: str | None) -> str:
        """The session a completion continues (see the module docstring)."""
        if header_id:
            assistant.state(header_id)  # SessionNotFound -> 404: an explicit id must exist
            return header_id
        if not user:
            return assistant.open_session()
        key = (identity, user)
        with self._lock:
            known = self._sessions.get(key)
        if known is not None:
            try:
                assistant.state(known)
                return known
            except SessionNotFound:
                pass
        session_id: str = assistant.open_session(user)
        with self._lock:
            self._sessions[key] = session_id
            self._sessions.move_to_end(key)
            while len(self._sessions) > self.max_entries:
                self._sessions.popitem(last=False)
        return session_id

    def forget(self, session_id: str) -> None:
        """A deleted session is continued by no one."""
        with self._lock:
            for key in [k for k, v in self._sessions.items() if v == session_id]:
                del self._sessions[key]


def add_openai_routes(v1: APIRouter, holder: AssistantHolder, guard: Callable[[Request], str],
                      user_sessions: UserSessions) -> None:
    """GET /models and POST /chat/completions on the /v1 router."""

    @v1.get("/models", tags=["openai"])
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0,
                                            "owned_by": "cartsmith"}]}

    @v1.post("/chat/completions", response_model=ChatCompletionOut, tags=["openai"],
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "chat.completion, or chat.completion.chunk events when streaming"}})
    async def chat_completions(body: ChatCompletionIn, request: Request,
                               identity: Annotated[str, Depends(guard)]) -> Any:
        refuse_what_cannot_be_honoured(body.model_extra or {})
        max_tokens = _max_tokens(body.model_extra or {})
        assistant = await run_in_threadpool(holder.get)
        text = checked_text(assistant, _user_text(body.messages))
        header_id = request.headers.get("x-session-id") or None
        if header_id is not None and not re.fullmatch(r"[A-Za-z0-9_\-]{1,128}", header_id):
            raise InputRejected("X-Session-Id: not a session id", field="X-Session-Id")
        session_id = await run_in_threadpool(user_sessions.resolve, assistant, identity, header_id, body.user)
        earlier = _earlier_turns(body.messages)
        if header_id is None and body.user is None and earlier:  # a stateless client: its history is the context
            await run_in_threadpool(_restore, assistant, session_id, earlier)
        completion_id = "chatcmpl-" + uuid.uuid4().hex
        created = int(time.time())
        headers = {"X-Session-Id": session_id}
        if not body.stream:
            reply = await run_in_threadpool(assistant.turn, session_id, text)
            content, finish = cut_to_tokens(reply.text, max_tokens, token_counter(assistant))
            out = ChatCompletionOut(
                id=completion_id, created=created, model=body.model,
                choices=[ChatChoice(message=ChatMessageOut(content=content), finish_reason=finish)],
                usage=_usage(reply),
                session_id=session_id, kind=reply.kind,
                bundle=BundleOut(**reply.bundle.to_dict()) if reply.bundle else None,
                cart=[CartLineOut(**line.to_dict()) for line in reply.cart])
            return JSONResponse(out.model_dump(mode="json"), headers=headers)
        # Checked before the stream starts, so these are still proper HTTP errors.
        state = await run_in_threadpool(assistant.state, session_id)
        limits = input_limits_of(assistant)
        if state.turns >= limits.max_turns_per_session:
            raise InputRejected(f"this session reached its limit of {limits.max_turns_per_session} turns; "
                                "start a new one", field="session", limit=limits.max_turns_per_session)
        events = _stream_turn(assistant, session_id, text, completion_id, created, body.model, max_tokens)
        return StreamingResponse(events, media_type="text/event-stream",
                                 headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# Request fields cartsmith cannot honour, with the values it can: it decodes greedily (the
# same words for the same turn, every line checked), writes one choice, and composes the
# text from checked lines and code-written names and prices.
_HONOURED_ONLY_AS = {"temperature": (0, 0.0), "top_p": (1, 1.0), "n": (1,), "presence_penalty": (0, 0.0),
                     "frequency_penalty": (0, 0.0)}
_NEVER_HONOURED = ("logit_bias", "logprobs", "top_logprobs", "stop", "tools", "tool_choice", "functions",
                   "function_call", "best_of", "suffix", "echo")


def refuse_what_cannot_be_honoured(extra: Mapping[str, Any]) -> None:
    """A 400 naming every sampling parameter of the request cartsmith cannot honour, rather
    than ignoring it silently; the values it would honour anyway (temperature 0, top_p 1,
    n 1) pass, and so does `seed` (greedy decoding is deterministic)."""
    bad = [f"{name}={extra[name]!r}" for name, fine in _HONOURED_ONLY_AS.items()
           if extra.get(name) is not None and extra[name] not in fine]
    bad += [f"{name}={extra[name]!r}" for name in _NEVER_HONOURED if extra.get(name) not in (None, False, [], {}, "")]
    response_format = extra.get("response_format")
    if response_format is not None and not (isinstance(response_format, Mapping)
                                            and response_format.get("type") == "text"):
        bad.append(f"response_format={response_format!r}")
    if bad:
        raise CartsmithError(f"{', '.join(bad)}: cannot be honoured (cartsmith decodes greedily, writes one "
                             "choice and composes its text from checked lines); leave them out, or send "
                             "temperature 0, top_p 1, n 1")


def _max_tokens(extra: Mapping[str, Any]) -> int | None:
    """`max_completion_tokens` (or the older `max_tokens`): a whole number of at least 1."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = extra.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CartsmithError(f"{name}: must be a whole number of at least 1, got {value!r}")
        return value
    return None


def token_counter(assistant: Any) -> Callable[[str, int], str | None]:
    """`cut(text, n)`: the text's first n tokens, or None when it has no more than n. Tokens
    of the served model's tokenizer when it is loaded here, else words with their trailing
    space (a remote model's tokenizer is not at hand)."""
    tokenizer: Any = getattr(getattr(assistant, "llm", None), "tokenizer", None)

    def by_words(text: str, n: int) -> str | None:
        pieces = _chunk_words(text)
        return "".join(pieces[:n]) if len(pieces) > n else None

    def by_tokenizer(text: str, n: int) -> str | None:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return str(tokenizer.decode(ids[:n])) if len(ids) > n else None

    return by_words if tokenizer is None else by_tokenizer


def cut_to_tokens(text: str, max_tokens: int | None, cut: Callable[[str, int], str | None]) -> tuple[str, str]:
    """(the text, "stop"), or its first `max_tokens` tokens and "length" when it is longer."""
    short = cut(text, max_tokens) if max_tokens is not None else None
    return (text, "stop") if short is None else (short.rstrip(), "length")


def _usage(reply: Reply) -> Usage:
    """The model's own work this turn: tokens fed to it (parse and write prompts, every
    attempt) and tokens it generated (the request's JSON and the answer's lines)."""
    return Usage(prompt_tokens=reply.prompt_tokens, completion_tokens=reply.tokens_generated,
                 total_tokens=reply.prompt_tokens + reply.tokens_generated)


def _text_of(message: ChatMessageIn) -> str:
    if isinstance(message.content, str):
        return message.content
    if isinstance(message.content, list):
        return "".join(part.text or "" for part in message.content if part.type == "text")
    return ""


def _earlier_turns(messages: list[ChatMessageIn]) -> list[tuple[str, str]]:
    """The (role, text) of the user and assistant messages before the last user message."""
    last = max((n for n, m in enumerate(messages) if m.role == "user"), default=-1)
    return [(m.role, _text_of(m)) for m in messages[:last] if m.role in ("user", "assistant")]


def _restore(assistant: Any, session_id: str, earlier: list[tuple[str, str]]) -> None:
    state = assistant.state(session_id)
    catalog = assistant.index.catalog
    if restore_context(state, earlier, catalog, titles_of(catalog)):
        assistant.store.save(state)


def _user_text(messages: list[ChatMessageIn]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return _text_of(message)
    raise InputRejected("messages: there is no user message to answer", field="messages")


def _chunk_words(text: str) -> list[str]:
    return [piece for piece in re.findall(r"\S*\s*", text) if piece]


def _sse(data: Mapping[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


def _stream_error(exc: BaseException) -> dict[str, Any]:
    """The in-stream error body: what the JSON error would have said (the headers are gone)."""
    if isinstance(exc, InputRejected):
        return {"type": "input_rejected", "message": str(exc), "field": exc.field, "limit": exc.limit,
                "status": input_rejected_status(exc)}
    if isinstance(exc, SessionExpired):
        return {"type": "session_expired", "message": str(exc), "status": 404}
    if isinstance(exc, SessionNotFound):
        return {"type": "session_not_found", "message": "no such session", "status": 404}
    if isinstance(exc, CartsmithError):
        return {"type": "bad_request", "message": str(exc), "status": 400}
    log.error("unhandled %s in a streamed turn", type(exc).__name__)
    return {"type": "internal_error", "message": "internal error", "status": 500}


async def _stream_turn(assistant: Any, session_id: str, text: str, completion_id: str, created: int,
                       model: str, max_tokens: int | None = None) -> AsyncIterator[bytes]:
    """chat.completion.chunk events: role + bundle first, then the text in word chunks, then [DONE]."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(kind: str, value: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def work() -> None:
        try:
            put("reply", assistant.turn(session_id, text, on_bundle=lambda b: put("bundle", b),
                                        on_text=lambda piece: put("text", piece)))
        except BaseException as exc:  # reported in-stream: the headers are gone
            put("error", exc)

    worker = asyncio.ensure_future(run_in_threadpool(work))

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return _sse({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    first_sent = False
    cut = token_counter(assistant)
    streamed, finish = "", "stop"

    def allowed(piece: str) -> str:
        """The part of `piece` that fits under max_tokens after what went out already."""
        nonlocal finish
        if finish == "length":
            return ""
        short = cut(streamed + piece, max_tokens) if max_tokens is not None else None
        if short is None:
            return piece
        finish = "length"
        return short.rstrip()[len(streamed):] if short.startswith(streamed) else ""

    try:
        while True:
            kind, value = await queue.get()
            if kind == "bundle" and not first_sent:
                first_sent = True
                yield chunk({"role": "assistant", "content": ""}, bundle=value.to_dict(), session_id=session_id)
            elif kind == "text":  # a checked line (or the rest of the answer) as it is released
                if not first_sent:
                    first_sent = True
                    yield chunk({"role": "assistant", "content": ""}, bundle=None, session_id=session_id)
                piece = allowed(value)
                if piece:
                    streamed += piece
                    yield chunk({"content": piece})
            elif kind == "reply":
                reply: Reply = value
                if not first_sent:
                    first_sent = True
                    yield chunk({"role": "assistant", "content": ""},
                                bundle=reply.bundle.to_dict() if reply.bundle else None, session_id=session_id)
                # a reply that was not released piece by piece (no new bundle) goes out now
                rest = reply.text[len(streamed):] if reply.text.startswith(streamed) and finish == "stop" else ""
                for word in _chunk_words(rest):
                    piece = allowed(word)
                    if piece:
                        streamed += piece
                        yield chunk({"content": piece})
                data = reply.to_dict()
                yield chunk({}, finish, session_id=session_id, usage=_usage(reply).model_dump(),
                            cartsmith={k: data[k] for k in ("kind", "total", "cart", "alternatives", "timings",
                                                            "writer", "read_by")})
                break
            elif kind == "error":
                error = _stream_error(value)
                if not first_sent:
                    yield chunk({"role": "assistant", "content": ""}, bundle=None, session_id=session_id)
                yield chunk({}, "error", error=error)
                break
        yield _sse("[DONE]")
    finally:
        if not worker.done():  # the client went away: the turn still finishes and is saved
            worker.add_done_callback(lambda f: f.exception())
