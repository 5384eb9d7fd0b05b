"""The dialogue pipeline — the one module that uses LangChain.

One turn is a LangChain `Runnable` sequence over a `TurnContext`:

    guard  ──►  parse  ──►  act (tools)  ──►  write  ──►  finish
    limits,     tuned LM →   retrieval, CF,    tuned LM words    prices and totals
    PII,        Request      composer, cart    the bundle; guard rendered by code;
    injection   (validated)  as LangChain      + reason check;   state persisted
                             tools             else template

The language model only parses and words; items, prices and totals come from code.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from langchain_core.runnables import Runnable, RunnableLambda

from assistant.dialogue.actions import OFF_TOPIC, ActionResult, Actions
from assistant.dialogue.session import ConversationState, SessionStore, bundle_from_state
from assistant.records import Bundle, Reply, Request
from assistant.safety.guard import (
    InputLimits,
    InputRejected,
    check_input,
    looks_like_injection,
    off_topic_kind,
    redact,
    without_pii,
)
from assistant.understand.edit_cues import edit_on_screen, without_need_of_an_item_edit
from assistant.understand.languages import other_language_reply
from assistant.understand.parser import ParseResult
from assistant.understand.reasons_against import with_reason_against
from assistant.understand.slots import complete_slots, reconcile_intent
from assistant.write.line_release import merge_released
from assistant.write.writer import Writer
from retrieval.errors import CartsmithError

log = logging.getLogger(__name__)

INJECTION_REPLY = ("I can only help with finding and bundling products from this shop, and my "
                   "instructions and prices stay as they are. What are you shopping for?")
CLARIFY_REPLY = ("Sorry, I didn't quite get that. Tell me an item you like or an occasion, and a "
                 "budget if you have one (e.g. 'a gift set for a tea lover'), and I'll put a bundle together.")


@dataclasses.dataclass
class TurnContext:
    """Everything one turn knows; each step reads it and fills in its part."""

    state: ConversationState
    text: str
    redacted: str = ""
    request: Request | None = None
    result: ActionResult | None = None
    reply_text: str = ""
    writer: str = "template"
    read_by: str = "model"
    tokens: int = 0
    prompt_tokens: int = 0
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    reply: Reply | None = None
    on_bundle: Callable[[Bundle], None] | None = None
    on_text: Callable[[str], None] | None = None  # the answer's text as it is released


class Parser(Protocol):
    """The model's first job: the shopper's (redacted) message -> a `ParseResult`.

    Backends: `assistant.understand.parser.RequestParser` (the tuned model, guided), and
    scripted parsers in the tests."""

    def parse(self, message: str, bundle_summary: str = "(none)") -> ParseResult: ...


def guarded_reply(text: str) -> ActionResult | None:
    """The fixed answer the guard gives before any parsing (an injection attempt, a clearly
    off-topic request), or None when the turn goes on to the parser."""
    if looks_like_injection(text):
        return ActionResult(kind="refusal", text=INJECTION_REPLY)
    if off_topic_kind(text) is not None:  # weather, politics, homework, code, ...
        return ActionResult(kind="refusal", text=OFF_TOPIC)
    return None


def served_request(parsed: Request, text: str, sure_intent: str | None = None, on_screen: bool = False) -> Request:
    """The parse as the actions receive it: budgets, counts, exclusions and cart intent
    reconciled in code with the shopper's words (read without their PII), and what the words
    say about the bundle on screen (`on_screen`: one is shown; `edit_cues`); `sure_intent`:
    the intent reader's when it is sure (the cart rules defer to it)."""
    words = without_pii(text)
    request = reconcile_intent(complete_slots(parsed, words), words, sure_intent)
    return without_need_of_an_item_edit(with_reason_against(edit_on_screen(request, words, on_screen), words))


def _timed(name: str, step: Callable[[TurnContext], TurnContext]) -> Runnable:
    def run(ctx: TurnContext) -> TurnContext:
        start = time.perf_counter()
        try:
            return step(ctx)
        finally:
            ctx.timings[name] = round(time.perf_counter() - start, 4)

    return RunnableLambda(run, name=name)


class DialogueChain:
    """Builds and runs the turn pipeline. `parser` and `writer` are the model's two jobs."""

    def __init__(self, actions: Actions, parser: Parser, writer: Writer | None, fallback_writer: Writer,
                 store: SessionStore, limits: InputLimits | None = None,
                 busy: Callable[[], bool] | None = None) -> None:
        self.actions = actions
        # while the model is busy with other conversations the template words bundles at
        # once: a model answer would miss its deadline anyway and slow every other row
        self.busy = busy
        self.parser = parser
        self.writer = writer
        self.fallback_writer = fallback_writer
        self.store = store
        self.limits = limits or InputLimits()
        # The actions (retrieval, composing, the cart, live co-purchase counts) run one at a
        # time; parsing and writing run outside it, so concurrent turns batch their decoding.
        self.act_lock = threading.Lock()
        self.pipeline: Runnable = (
            _timed("guard", self._guard)
            | _timed("parse", self._parse)
            | _timed("act", self._act)
            | _timed("write", self._write)
            | _timed("finish", self._finish)
        )

    # -- steps ------------------------------------------------------------------------------
    def _guard(self, ctx: TurnContext) -> TurnContext:
        if ctx.state.turns >= self.limits.max_turns_per_session:
            raise InputRejected(
                f"this session reached its limit of {self.limits.max_turns_per_session} turns; start a new one",
                field="session", limit=self.limits.max_turns_per_session)
        ctx.text = check_input(ctx.text, self.limits)
        ctx.redacted = redact(ctx.text)
        refusal = guarded_reply(ctx.text)
        if refusal is not None:
            ctx.request = Request(intent="off_topic")
            ctx.result = refusal
        elif (in_english := other_language_reply(ctx.text)) is not None:
            # the catalog and the model are English: say so in the shopper's language
            ctx.request = Request(intent="smalltalk")
            ctx.result = ActionResult(kind="clarify", text=in_english)
        if ctx.result is not None:
            ctx.read_by = "guard"
        return ctx

    def _parse(self, ctx: TurnContext) -> TurnContext:
        if ctx.result is not None:
            return ctx
        # The model sees the redacted text: PII never enters a prompt or a log.
        with self.act_lock:
            summary = self.actions.bundle_summary(ctx.state)
        parsed = self.parser.parse(ctx.redacted, summary)
        ctx.read_by = "words" if parsed.by_words else "model"
        ctx.tokens += parsed.tokens
        ctx.prompt_tokens += parsed.prompt_tokens
        if parsed.request is None:
            log.info("unparseable turn: %s", parsed.error)
            # The shopper's words may still be plainly about things the shop sells: the
            # actions serve them as a need when the catalog clearly matches, else we ask.
            # An explicit cart or cart question in the words ("add it all to my cart") is
            # served as such (served_request), like a parsed turn.
            try:
                with self.act_lock:
                    fallback = self.actions.run(served_request(Request(intent="off_topic"), ctx.text,
                                                               parsed.sure_intent, bool(ctx.state.bundle)), ctx.state,
                                                without_pii(ctx.text))
            except CartsmithError:
                fallback = None
            if fallback is None or fallback.kind == "refusal":
                ctx.result = ActionResult(kind="clarify", text=CLARIFY_REPLY)
            else:
                ctx.result = fallback
                ctx.request = fallback.request or Request(intent="bundle")
        else:
            ctx.request = served_request(parsed.request, ctx.text, parsed.sure_intent, bool(ctx.state.bundle))
        return ctx

    def _act(self, ctx: TurnContext) -> TurnContext:
        if ctx.result is None:
            assert ctx.request is not None
            try:
                with self.act_lock:
                    ctx.result = self.actions.run(ctx.request, ctx.state, without_pii(ctx.text))
            except CartsmithError as exc:
                ctx.result = ActionResult(kind="clarify", text=str(exc))
            if ctx.result.request is not None:
                ctx.request = ctx.result.request
        self._announce_bundle(ctx)
        return ctx

    @staticmethod
    def _announce_bundle(ctx: TurnContext) -> None:
        """The bundle-ready hook: cards can be shown before the writer starts."""
        result = ctx.result
        if ctx.on_bundle is None or result is None or result.kind != "bundle" or result.bundle is None:
            return
        if not result.bundle.items:
            return
        try:
            ctx.on_bundle(result.bundle)
        except Exception:  # a surface's hook must never break the turn
            log.warning("bundle-ready hook failed", exc_info=False)

    def _write(self, ctx: TurnContext) -> TurnContext:
        result = ctx.result
        assert result is not None
        if result.bundle is None or result.kind != "bundle":
            ctx.reply_text = result.text
            return ctx
        written = None
        released: list[str] = []

        def release(line: str) -> None:
            if not released and result.text:
                _tell(ctx, result.text + "\n")
            released.append(line)
            _tell(ctx, line + "\n")

        if self.writer is not None and not (self.busy is not None and self.busy()):
            try:
                written = self.writer.write(result.bundle, result.need_text,
                                            on_line=release if ctx.on_text is not None else None)
            except CartsmithError as exc:
                log.warning("model writer failed: %s", exc)
        if written is None:  # no model writer, or it failed outright: the template words it
            written = self.fallback_writer.write(result.bundle, result.need_text)
        ctx.tokens += written.tokens
        ctx.prompt_tokens += written.prompt_tokens
        # a model reply some of whose lines the template worded says so (evals count them apart)
        ctx.writer = f"{written.writer}+template" if written.mended else written.writer
        answer = "\n".join(merge_released(released, written.text))
        ctx.reply_text = "\n".join(part for part in (result.text, answer, result.footer) if part)
        if ctx.on_text is not None:  # the rest, as finally worded, after what went out already
            shown = "".join(part + "\n" for part in ([result.text] if released and result.text else []) + released)
            _tell(ctx, ctx.reply_text[len(shown):] if ctx.reply_text.startswith(shown) else "")
        return ctx

    def _finish(self, ctx: TurnContext) -> TurnContext:
        result = ctx.result
        assert result is not None
        state = ctx.state
        state.turns += 1
        state.history.append({"user": ctx.redacted, "reply": redact(ctx.reply_text), "kind": result.kind,
                              "request": ctx.request.to_dict() if ctx.request else None, "at": time.time()})
        state.history = state.history[-50:]
        self.store.save(state)
        bundle = result.bundle
        if bundle is None and result.kind in ("cart", "answer") and state.bundle:
            bundle = bundle_from_state(state.bundle, self.actions.catalog)
        ctx.reply = Reply(text=ctx.reply_text, kind=result.kind, request=ctx.request, bundle=bundle,
                          cart=state.cart_lines(), alternatives=result.alternatives, timings=dict(ctx.timings),
                          tokens_generated=ctx.tokens, prompt_tokens=ctx.prompt_tokens, writer=ctx.writer,
                          tiers=dict(result.tiers), read_by=ctx.read_by)
        return ctx

    # -- running ----------------------------------------------------------------------------
    def run(self, state: ConversationState, text: str,
            on_bundle: Callable[[Bundle], None] | None = None,
            on_text: Callable[[str], None] | None = None) -> Reply:
        start = time.perf_counter()
        ctx = self.pipeline.invoke(TurnContext(state=state, text=text, on_bundle=on_bundle, on_text=on_text))
        assert ctx.reply is not None
        timings = dict(ctx.reply.timings)
        timings["total"] = round(time.perf_counter() - start, 4)
        return dataclasses.replace(ctx.reply, timings=timings)


def _tell(ctx: TurnContext, text: str) -> None:
    """Pass released answer text to the surface; its errors never break the turn."""
    if ctx.on_text is None or not text:
        return
    try:
        ctx.on_text(text)
    except Exception:
        log.warning("answer-text hook failed", exc_info=False)
