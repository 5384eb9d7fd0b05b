"""The scripted model: stand-ins for the language model's two jobs, so a turn runs end to
end (guard, parse, act, write, finish) through the real Assistant in milliseconds.

* `ScriptedParser` answers like the tuned parser, from a table (as the mock model of
  simonw/llm does): the shopper's message, matched case-insensitively as the parser sees it
  (redacted), -> the model's raw reply, the JSON of a `Request`, read by the real
  `read_request`. A message not in the table gets the result of an unparseable turn, so the
  chain's own fallback runs.
* `ScriptedWriter` words a bundle as the tuned writer does: an opening and one "[n] reason"
  line per slot; the real `substitute` names each item with its catalog title and a price
  code renders. A reply the writer's checks refuse gets the template's words instead, as
  `BundleWriter` falls back.

Nothing here loads a language model: `scripted_assistant_over` checks that too.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.records import Bundle
from assistant.safety.guard import redact
from assistant.understand.parser import ParseResult, read_request
from assistant.write.line_release import LineRelease
from assistant.write.writer import (
    TemplateWriter,
    WrittenReply,
    check_no_prices,
    check_reasons,
    check_slots,
    claims_of,
    has_pick,
    is_grounded,
    is_quotable,
    numbers_of,
    substitute,
    template_reason,
)

if TYPE_CHECKING:
    from assistant.dialogue.service import Assistant
    from assistant.write.writer import Writer
    from retrieval.shop_index import ShopIndex

# What the tuned parser replies to the messages the end-to-end tests send. Text values are
# copied from the message, positions are numbers: the parser's decoding guide allows no other.
PARSES: dict[str, str] = {
    "a bundle for a tea party under £20": '{"intent": "bundle", "need": "tea party", "budget": 20}',
    "a tea party under £20": '{"intent": "bundle", "need": "tea party", "budget": 20}',
    "tea party": '{"intent": "bundle", "need": "tea party"}',
    "a tea party bundle": '{"intent": "bundle", "need": "tea party"}',
    "a gift set for a tea lover under £15": '{"intent": "bundle", "need": "gift set for a tea lover", "budget": 15}',
    "a christmas gift set under £30": '{"intent": "bundle", "need": "christmas gift set", "budget": 30}',
    "christmas lights under £30": '{"intent": "bundle", "need": "christmas lights", "budget": 30}',
    "lunch bags for school": '{"intent": "bundle", "need": "lunch bags for school"}',
    "something for a picnic": '{"intent": "bundle", "need": "picnic"}',
    "make it cheaper": '{"intent": "cheaper"}',
    "swap the second one": '{"intent": "swap", "target": "2"}',
    "swap the third one": '{"intent": "swap", "target": "3"}',
    "remove the first one": '{"intent": "remove", "target": "1"}',
    "lock the first one": '{"intent": "lock", "target": "1"}',
    "more like the second one": '{"intent": "more_like", "target": "2"}',
    "add a candle": '{"intent": "add", "items": ["candle"]}',
    "add it all to my cart": '{"intent": "add_to_cart"}',
    "add the first one to my cart": '{"intent": "add_to_cart", "target": "1"}',
    "what's in my cart?": '{"intent": "question", "target": "cart"}',
    "what is the second one?": '{"intent": "question", "target": "2"}',
    "compare the first and second": '{"intent": "compare", "items": ["first", "second"]}',
    "hello": '{"intent": "smalltalk"}',
    "hi": '{"intent": "smalltalk"}',
    "thanks!": '{"intent": "smalltalk"}',
}


def message_key(text: str) -> str:
    """How the table matches a message: case and spacing do not matter."""
    return " ".join(text.casefold().split())


class ScriptedParser:
    """The tuned parser's replies from a table; `seen` holds every message it was asked about.

    replies: more entries (message -> raw reply), over `PARSES` (unless `with_defaults` is
    off); an exception as the reply is raised instead. otherwise: the raw reply to a message
    not in the table ("": none, an unparseable turn). A test may `add` entries; `reset`
    goes back to the table it was built with and forgets what it was asked."""

    def __init__(self, replies: Mapping[str, str | Exception] | None = None, *, otherwise: str = "",
                 with_defaults: bool = True) -> None:
        self.replies: dict[str, str | Exception] = {}
        self.add({**(PARSES if with_defaults else {}), **(replies or {})})
        self._built_with = dict(self.replies)
        self.otherwise = otherwise
        self.seen: list[str] = []

    def add(self, replies: Mapping[str, str | Exception]) -> None:
        for message, reply in replies.items():
            # The chain hands the parser the redacted message: a row written with its PII
            # must still be found.
            self.replies[message_key(message)] = reply
            self.replies[message_key(redact(message))] = reply

    def reset(self) -> None:
        self.replies = dict(self._built_with)
        self.seen.clear()

    def parse(self, message: str, bundle_summary: str = "(none)") -> ParseResult:
        self.seen.append(message)
        reply = self.replies.get(message_key(message), self.otherwise)
        if isinstance(reply, Exception):
            raise reply
        request, _, error = read_request(reply) if reply else (None, False, "no JSON object")
        tokens = len(reply.split())  # roughly what the model would have decoded
        fed = len(f"{message} {bundle_summary}".split())  # and what it would have been fed
        if request is None:  # the tuned parser tries twice before it gives up
            return ParseResult(None, reply, False, error, attempts=2, tokens=tokens, prompt_tokens=2 * fed)
        return ParseResult(request, reply, True, None, attempts=1, tokens=tokens, prompt_tokens=fed)


# The template writer words its answer with variant 0 of each phrasing: another variant
# tells the two writers' answers apart.
SCRIPTED_VARIANT = 1


def slot_reply(bundle: Bundle, need: str | None) -> str:
    """The answer a well-behaved tuned writer gives: an opening, then "[n] reason" per item,
    never a title or a price (code writes those)."""
    opening = f"Picked for {need}:" if need and is_quotable(need) else "Picked to go well together:"
    picked = has_pick(bundle)
    return "\n".join([opening, *(f"[{n}] {template_reason(bi, SCRIPTED_VARIANT, picked)}"
                                 for n, bi in enumerate(bundle.items, 1))])


class ScriptedWriter:
    """The tuned writer's answers: scripted (need -> raw slot text) or `slot_reply`.

    release: when set, each `write` first waits for it (up to `release_timeout_s`), so a
    test can show that the bundle reached the shopper before the words were written;
    `released` records whether each wait ended by the release rather than the timeout.
    `needs` lists the need of every answer written. A test may `add` scripted answers;
    `reset` goes back to the ones it was built with and forgets the rest."""

    name = "scripted"

    def __init__(self, replies: Mapping[str, str] | None = None, *, release: threading.Event | None = None,
                 release_timeout_s: float = 20.0) -> None:
        self.replies: dict[str, str] = {}
        self.add(replies or {})
        self._built_with = dict(self.replies)
        self.release = release
        self.release_timeout_s = release_timeout_s
        self.released: list[bool] = []
        self.needs: list[str | None] = []
        # set: the answer's opening and first line are released as the model would (checked,
        # `LineRelease`), then the writer waits for this event before writing the rest
        self.line_gate: threading.Event | None = None

    def add(self, replies: Mapping[str, str]) -> None:
        self.replies.update({message_key(need): raw for need, raw in replies.items()})

    def reset(self) -> None:
        self.replies = dict(self._built_with)
        self.release = None
        self.line_gate = None
        self.released.clear()
        self.needs.clear()

    def write(self, bundle: Bundle, need: str | None, *, on_line: Any = None) -> WrittenReply:
        self.needs.append(need)
        if self.release is not None:
            self.released.append(self.release.wait(self.release_timeout_s))
        raw = self.replies.get(message_key(need or "")) or slot_reply(bundle, need)
        if on_line is not None and self.line_gate is not None:
            lines = LineRelease(bundle, need, (), on_line)
            lines.seen("".join(line + "\n" for line in raw.split("\n")[:2]))
            self.released.append(self.line_gate.wait(self.release_timeout_s))
            lines.seen(raw + "\n")
        final = substitute(raw, bundle)
        grounded = check_slots(raw, len(bundle.items)) and check_no_prices(raw) and is_grounded(final, bundle)
        reasons_ok = grounded and check_reasons(raw, numbers_of(bundle), claims_of(bundle))
        if not reasons_ok:
            fallback = TemplateWriter().write(bundle, need)
            return dataclasses.replace(fallback, attempts=1, raw_text=raw, raw_grounded=grounded,
                                       raw_reasons_ok=reasons_ok)
        return WrittenReply(text=final, grounded=True, reasons_ok=True, attempts=1, writer=self.name,
                            tokens=len(raw.split()), raw_text=raw, raw_grounded=True, raw_reasons_ok=True)


@functools.cache
def default_shop_index() -> ShopIndex:
    """The default shop (Online Retail), loaded once per test process.

    An index already in the cache is loaded as it is: checking it against the data costs
    about 16 s of CSV reading per call (`ensure_default_index`), which `make index` and the
    slow tests pay instead."""
    from retrieval.shop_index import ShopIndex, default_index_dir, ensure_default_index

    folder = default_index_dir("online-retail")
    index = ShopIndex.load(folder if (folder / "manifest.json").exists() else ensure_default_index())
    # The sentence model loads on the first text query (seconds, more on a busy machine):
    # here, rather than inside the first test's turn or a fuzzed request's time limit.
    index.embedder.encode_query("tea party")
    return index


def scripted_assistant_over(index: ShopIndex, sessions: Path | str, *, parser: ScriptedParser | None = None,
                            writer: Writer | None = None) -> Assistant:
    """The real Assistant (composer, actions, guards, SQLite sessions in `sessions`) with
    the scripted model."""
    from assistant.dialogue.service import Assistant, AssistantConfig

    assistant = Assistant(AssistantConfig(sessions=str(sessions)), index=index, parser=parser or ScriptedParser(),
                          writer=writer or ScriptedWriter())
    assert assistant.llm is None, "a scripted assistant must not load the language model"
    return assistant


@functools.cache
def shared_scripted_assistant() -> Assistant:
    """One scripted Assistant for the whole test run (building one embeds the composer's
    need phrases: seconds). Tests change its scripted model through `scripted_parts` and
    put it back (the `scripted_parser` and `scripted_writer` fixtures do)."""
    folder = Path(tempfile.mkdtemp(prefix="cartsmith-scripted-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return scripted_assistant_over(default_shop_index(), folder / "sessions.sqlite3")


def scripted_parts(assistant: Assistant) -> tuple[ScriptedParser, ScriptedWriter]:
    """The scripted parser and writer a scripted Assistant's chain runs with."""
    parser, writer = assistant.chain.parser, assistant.chain.writer
    assert isinstance(parser, ScriptedParser) and isinstance(writer, ScriptedWriter)
    return parser, writer
