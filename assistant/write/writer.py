"""Words for a composed bundle: the language model writes by slot, code names the items.

The model sees each bundle item as a numbered slot with its evidence ("[2] Lunch Bag Apple
Design — bought together with Lunch Bag Red Retrospot in 441 of 1,036 baskets") and writes
one opening sentence plus one line per slot, "[n] reason", never an item name or a price.
Code then replaces each "[n]" with the exact catalog title and a price it renders itself, so
names cannot be misspelt and prices cannot be invented.

Checks, exposed one by one so the evals can count them:

* `check_slots(text, n)`: every slot 1..n starts exactly one line, no unknown slot appears;
* `check_no_prices(text)`: the model wrote no money amount;
* `check_reasons(text, facts)`: each item line's numbers are a non-empty subset of that
  item's own evidence numbers (an item whose facts carry no number must cite none); with
  claims and words, it also claims only what its evidence supports (`answer_claims`) and
  tells its own item, not another's (`answer_words`);
* `is_grounded(final, bundle, titles)`: the substituted answer names every bundle item
  exactly once and no other catalog title, and prices appear only where code wrote them.

`BundleWriter(loaded).write(bundle, need)` runs the model greedily under a token guide
(`answer_guide.SlotAnswerGuide`: line k starts "[k]", its numbers are item k's own, it
claims nothing item k's evidence does not support, nothing follows the last line), and
stops it at the first finished line that fails a check (`first_bad_line`); then it applies
the guard and the reason check to the whole answer, regenerates once from the last good
line (`good_prefix`) with a small temperature. A reply whose opening passes keeps its good
lines and gets the template's reason on each faulty one (`mend`; a line that only borrows
another item's words goes there without a second decode); otherwise `TemplateWriter`
builds the same kind of answer deterministically from the evidence. What each slot says
about its item comes from `item_facts`; the template's sentences from `wording`.

With a `remote.RemoteChatModel` (an OpenAI-compatible server) the whole reply comes back
at once: the guide and the stop-at-the-first-bad-line check then run on the finished text
line by line (`replay_checks`), and the reply goes through the same `check`, repair and
fallback. A remote repair asks for a whole new reply (a server cannot be made to continue
the good lines), within what is left of the deadline; a server that cannot be reached
raises `RemoteModelError`, and the dialogue's caller words the bundle with the template.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from assistant.llm.remote import RemoteChatModel, RemoteTimeoutError
from assistant.records import Bundle
from assistant.write.answer_checks import (
    _finished_lines,
    check_no_prices,
    check_reasons,
    check_slots,
    fact_numbers,
    first_bad_line,
    format_price,
    good_prefix,
    is_grounded,
    line_ok,
    parse_slot_lines,
    substitute,
)
from assistant.write.item_facts import (
    claims_of,
    evidence_fact,
    facts_of,
    has_pick,
    item_claims,
    item_fact,
    item_lines,
    item_numbers,
    name_the_needs,
    numbers_of,
    words_of,
    write_prompt,
)
from assistant.write.line_release import LineRelease
from assistant.write.template_writer import (
    TemplateWriter,
    WrittenReply,
    is_quotable,
    slot_text,
    template_opening,
    template_reason,
)

__all__ = [
    "BundleWriter",
    "TemplateWriter",
    "Writer",
    "WrittenReply",
    "check_no_prices",
    "check_reasons",
    "check_slots",
    "claims_of",
    "evidence_fact",
    "fact_numbers",
    "facts_of",
    "first_bad_line",
    "format_price",
    "good_prefix",
    "is_grounded",
    "is_quotable",
    "item_claims",
    "item_fact",
    "item_lines",
    "item_numbers",
    "mend",
    "numbers_of",
    "parse_slot_lines",
    "replay_checks",
    "slot_text",
    "substitute",
    "template_opening",
    "template_reason",
    "words_of",
    "write_prompt",
]

MAX_NEW_TOKENS = 160


class Writer(Protocol):
    """Words for a composed bundle. Backends: `BundleWriter` (the tuned model), `TemplateWriter`
    (code only; the fallback), and scripted writers in the tests."""

    def write(self, bundle: Bundle, need: str | None, *,
              on_line: Callable[[str], None] | None = None) -> WrittenReply:
        """`on_line`: called with each answer line (names and prices by code) as soon as it
        is checked, while the rest is still being written (`line_release.py`); a writer
        that words all at once may never call it: the caller shows the rest at the end."""
        ...


def _finished_part(text: str, *, cut: bool) -> str:
    """The answer without a line the token budget or the deadline cut off mid-way ("a good
    fit for your garden: a set around"): such a line is no reason, and its slot then fails
    the checks like a missing one."""
    if cut and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return text.strip()


def replay_checks(text: str, until: Callable[[str], bool], guide: Any | None) -> str:
    """A finished (remote) reply cut where local decoding would have ended it: before the
    first line the token guide refuses, or after the first line at which `until` says
    stop. Local decoding asks both after every token; a line is the unit they judge."""
    out = ""
    for line in text.splitlines(keepends=True):
        if guide is not None and not guide.allows(out, line):
            break
        out += line
        if until(out):
            break
    return out


# A need that starts as a sentence does ("she bakes", "we're moving", "I need"), not as a thing.
def mend(raw: str, bundle: Bundle, need: str | None, other_titles: Iterable[str] = ()) -> tuple[str, int] | None:
    """A model reply with its faulty or missing item lines worded by the template: its
    opening and every line that passes its checks stay. (substituted text, lines the
    template wrote), or None when the opening fails or the mended reply still fails the
    guard (a title from elsewhere in a line, say): then the whole answer is the template's."""
    facts, claims, words = numbers_of(bundle), claims_of(bundle), words_of(bundle, need)
    opening, slots = parse_slot_lines(raw)
    if not line_ok(opening, 0, facts, claims, words):
        return None
    picked = has_pick(bundle)
    lines, templated = [opening], 0
    for n, bi in enumerate(bundle.items, 1):
        said = slots.get(n, [])
        if len(said) == 1 and line_ok(f"[{n}] {said[0]}", n, facts, claims, words):
            lines.append(f"[{n}] {said[0]}")
        else:
            lines.append(f"[{n}] {template_reason(bi, 0, picked)}")
            templated += 1
    mended = "\n".join(lines)
    final = substitute(name_the_needs(mended, bundle), bundle)
    if templated == len(bundle.items) or not (
            check_no_prices(mended) and is_grounded(final, bundle, other_titles)
            and check_reasons(mended, facts, claims, words)):
        return None
    return final, templated


# --------------------------------------------------------------------------- model


class BundleWriter:
    """The language model (local, or a `RemoteChatModel`) words the bundle by slot; code
    names items and prices.

    other_titles: catalog titles the guard must not find in an answer (pass the shop's
    titles; empty skips that part of the check).
    """

    name = "model"

    def __init__(self, loaded: Any, *, other_titles: Iterable[str] = (), max_new_tokens: int = MAX_NEW_TOKENS,
                 retry_temperature: float = 0.3, fallback: Writer | None = None,
                 check_while_decoding: bool = True, guided: bool = True,
                 deadline_s: float | None = None, code_opening: bool = True) -> None:
        self.loaded = loaded
        # The opening sentence is code's (the template's, which the adapter was tuned to
        # write anyway): the model starts at line [1], so the answer's first words can go out
        # with the cards and its ~12 tokens are not decoded. Local models only (a remote
        # server takes no prefill); False lets the model write its own (the evals' choice
        # when they measure the model alone).
        self.code_opening = code_opening
        # A serving policy: past this many seconds of writing, decoding stops and the
        # shopper gets the template's answer now rather than the model's one late. None
        # (the evals) lets the model finish.
        self.deadline_s = deadline_s
        # Off only for the evals' "grounded before any guard" count: a reply cut at its
        # first faulty line would read as ungrounded. The served answer is the same either
        # way (greedy text is a prefix of itself; the repair starts from the same line).
        self.check_while_decoding = check_while_decoding
        # The token guide (`SlotAnswerGuide`); off only to measure the model on its own.
        self.guided = guided
        self.other_titles = tuple(other_titles)
        self.max_new_tokens = max_new_tokens
        self.retry_temperature = retry_temperature
        self.fallback = fallback or TemplateWriter()

    def _generate(self, prompt: str, temperature: float, bundle: Bundle, prefill: str = "",
                  started: float | None = None,
                  seen: Callable[[str], None] | None = None) -> tuple[str, int, int]:
        from assistant.llm.generation import generate
        from assistant.write.answer_guide import SlotAnswerGuide

        # An opening sentence plus one short line per item; a longer reply is a ramble the
        # guard would reject anyway, so it is not worth waiting for.
        n_items = len(bundle.items)
        budget = min(self.max_new_tokens, 16 + 20 * n_items)
        facts, claims = numbers_of(bundle), claims_of(bundle)

        def done(text: str) -> bool:  # past the last slot, or (checking) a finished line fails
            if _finished_lines(text) > n_items:
                return True
            return self.check_while_decoding and first_bad_line(text, facts, claims) is not None

        def until(text: str) -> bool:
            if seen is not None:
                seen(text)
            return self._late(started) or done(text)

        guide = SlotAnswerGuide(facts, claims) if self.guided else None
        if seen is not None and prefill:
            seen(prefill)  # written by code or checked before: it can go out now
        if isinstance(self.loaded, RemoteChatModel):
            return self._generate_remote(prompt, temperature, budget, started, done, guide)
        gen = generate(self.loaded, [{"role": "user", "content": prompt}], max_new_tokens=budget,
                       temperature=temperature, prefill=prefill, until=until, guide=guide)
        return _finished_part(gen.text, cut=gen.finish_reason == "length" or (
            gen.finish_reason == "stop" and self._late(started))), gen.n_new_tokens, gen.n_prompt_tokens

    def _generate_remote(self, prompt: str, temperature: float, budget: int, started: float | None,
                         until: Callable[[str], bool], guide: Any | None) -> tuple[str, int, int]:
        """The remote reply, checked as local decoding checks it; "" when the deadline
        ran out before it came (the template then answers, as for a late local reply)."""
        assert isinstance(self.loaded, RemoteChatModel)
        left = None
        if self.deadline_s is not None and started is not None:
            left = self.deadline_s - (time.perf_counter() - started)
        try:
            reply = self.loaded.write([{"role": "user", "content": prompt}], max_tokens=budget,
                                      temperature=temperature, timeout_s=left)
        except RemoteTimeoutError:
            if left is None or left >= self.loaded.config.timeout_s:
                raise  # the server's own timeout, not the writer's deadline: the caller hears it
            return "", 0, 0
        whole = reply.text.lstrip()
        text = replay_checks(whole, until, guide)
        return (_finished_part(text, cut=reply.finish_reason == "length" and text == whole), reply.tokens,
                reply.prompt_tokens)

    def _late(self, started: float | None) -> bool:
        return self.deadline_s is not None and started is not None and \
            time.perf_counter() - started > self.deadline_s

    def check(self, raw: str, bundle: Bundle, need: str | None = None) -> tuple[bool, bool, str]:
        """(passes the output guard, reasons faithful, substituted text) for one raw reply."""
        n = len(bundle.items)
        final = substitute(name_the_needs(raw, bundle), bundle)
        guard = check_slots(raw, n) and check_no_prices(raw) and is_grounded(final, bundle, self.other_titles)
        reasons = guard and check_reasons(raw, numbers_of(bundle), claims_of(bundle), words_of(bundle, need))
        return guard, reasons, final

    def write(self, bundle: Bundle, need: str | None, *,
              on_line: Callable[[str], None] | None = None) -> WrittenReply:
        """Greedy first; decoding stops at the first finished line that fails a number or
        claim check. The second try keeps the lines that passed and regenerates only from
        the faulty one on (sampled a little), so a repair costs a line, not a whole answer.
        Lines that tell another item's role, or none of their own (`answer_words`), are not
        retried (a sampled retry rarely mends them and costs a second decode): the reply
        keeps its good lines and the template words those (`mend`). A reply that cannot be
        mended falls back to the template writer."""
        prompt = write_prompt(bundle, need)
        facts, claims, words = numbers_of(bundle), claims_of(bundle), words_of(bundle, need)
        tokens = fed = 0
        first_raw = ""
        first: tuple[bool, bool] | None = None
        local = not isinstance(self.loaded, RemoteChatModel)
        prefill = template_opening(bundle, need) + "\n" if self.code_opening and local else ""
        started = time.perf_counter()
        made = 0
        mendable: str | None = None
        release = LineRelease(bundle, need, self.other_titles, on_line) if on_line is not None else None
        for attempt, temperature in enumerate((0.0, self.retry_temperature), 1):
            if attempt > 1 and self._late(started):
                break  # no time left for a repair: the template answers
            raw, n_tokens, n_fed = self._generate(prompt, temperature, bundle, prefill, started,
                                                  release.seen if release is not None else None)
            made, tokens, fed = attempt, tokens + n_tokens, fed + n_fed
            guard, reasons, final = self.check(raw, bundle, need)
            if first is None:
                first_raw = raw
                first = (is_grounded(final, bundle, self.other_titles),
                         check_slots(raw, len(bundle.items)) and check_reasons(raw, facts, claims, words))
            if guard and reasons:
                return WrittenReply(text=final, grounded=True, reasons_ok=True, attempts=attempt,
                                    writer="model", tokens=tokens, raw_text=first_raw,
                                    raw_grounded=first[0], raw_reasons_ok=first[1], prompt_tokens=fed)
            mendable = raw
            if guard and check_reasons(raw, facts, claims):
                break  # only whose words a line uses is wrong: mend, no second decode
            prefill = good_prefix(raw, facts, claims)
        if mendable is not None and (mended := mend(mendable, bundle, need, self.other_titles)) is not None:
            text, count = mended
            return WrittenReply(text=text, grounded=True, reasons_ok=True, attempts=made, writer="model",
                                tokens=tokens, raw_text=first_raw, raw_grounded=first[0] if first else None,
                                raw_reasons_ok=first[1] if first else None, mended=count, prompt_tokens=fed)
        fb = self.fallback.write(bundle, need)
        return dataclasses.replace(fb, attempts=made, tokens=tokens, prompt_tokens=fed, raw_text=first_raw,
                                   raw_grounded=first[0] if first else None,
                                   raw_reasons_ok=first[1] if first else None)
