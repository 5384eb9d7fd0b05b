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
  item's own evidence numbers (an item whose facts carry no number must cite none);
* `is_grounded(final, bundle, titles)`: the substituted answer names every bundle item
  exactly once and no other catalog title, and prices appear only where code wrote them.

`BundleWriter(loaded).write(bundle, need)` runs the model greedily under a token guide
(`answer_guide.SlotAnswerGuide`: line k starts "[k]", its numbers are item k's own, it
claims nothing item k's evidence does not support, nothing follows the last line), and
stops it at the first finished line that fails a check (`first_bad_line`); then it applies
the guard and the reason check to the whole answer, regenerates once from the last good
line (`good_prefix`) with a small temperature, then falls back to `TemplateWriter`, which
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
import hashlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from assistant.llm.remote import RemoteChatModel, RemoteTimeoutError
from assistant.records import Bundle, BundleItem
from assistant.write import wording
from assistant.write.answer_checks import (
    NUMBER,
    _finished_lines,
    check_no_prices,
    check_reasons,
    check_slots,
    fact_numbers,
    first_bad_line,
    format_price,
    good_prefix,
    is_grounded,
    parse_slot_lines,
    substitute,
)
from assistant.write.item_facts import (
    NAMING_FACTS,
    claims_of,
    evidence_fact,
    facts_of,
    has_pick,
    item_claims,
    item_fact,
    item_lines,
    item_numbers,
    main_evidence,
    numbers_of,
    write_prompt,
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
    "item_claims",
    "item_fact",
    "item_lines",
    "item_numbers",
    "numbers_of",
    "parse_slot_lines",
    "replay_checks",
    "substitute",
    "template_reason",
    "write_prompt",
]

MAX_NEW_TOKENS = 160


@dataclasses.dataclass(frozen=True)
class WrittenReply:
    text: str
    grounded: bool
    reasons_ok: bool
    attempts: int
    writer: str  # "model" | "template"
    tokens: int = 0
    raw_text: str = ""  # the model's first reply (before substitution), for the evals
    raw_grounded: bool | None = None  # first reply grounded after substitution, before any guard
    raw_reasons_ok: bool | None = None


class Writer(Protocol):
    """Words for a composed bundle. Backends: `BundleWriter` (the tuned model), `TemplateWriter`
    (code only; the fallback), and scripted writers in the tests."""

    def write(self, bundle: Bundle, need: str | None) -> WrittenReply: ...


# --------------------------------------------------------------------------- template


def _pick(options: Sequence[str], *keys: object) -> str:
    digest = hashlib.sha256("|".join(map(str, keys)).encode()).digest()
    return options[digest[0] % len(options)]


def template_reason(bi: BundleItem, variant: int = 0, picked: bool = True) -> str:
    """A friendly reason restating the item's own evidence (used by the template writer and
    to build the fine-tuning targets); picked: the bundle holds an item the shopper chose,
    else a pairing is told without "your pick"."""
    if bi.role == "anchor":
        return _pick(wording.REASON_ANCHOR, bi.item.item_id, variant)
    ev = main_evidence(bi)
    if ev is None:
        bank = wording.REASON_LOCKED if bi.locked else wording.REASON_GENERIC
        return _pick(bank, bi.item.item_id, variant)
    fact = item_fact(bi)
    if ev.kind == "role":  # the item's role for the need, from the needs book, quantities by code
        return fact[:1].lower() + fact[1:] + "."
    if ev.kind == "similar_text" and fact == NAMING_FACTS["similar_text"]:
        return _pick(wording.REASON_SIMILAR, bi.item.item_id, variant)
    if ev.kind in NAMING_FACTS and fact == NAMING_FACTS[ev.kind]:
        return fact + "."
    allowed = item_numbers(bi)
    numbers = [m.group(0).rstrip(".") for m in NUMBER.finditer(fact)
               if m.group(0).rstrip(".").replace(",", "") in allowed]
    if ev.kind == "association_rule" and len(numbers) >= 2:
        rule_bank: Sequence[str] = wording.REASON_RULE if picked else wording.REASON_RULE_NO_PICK
        return _pick(rule_bank, bi.item.item_id, variant).format(a=numbers[0], b=numbers[1])
    if ev.kind == "popular" and len(numbers) >= 2:
        return _pick(wording.REASON_POPULAR, bi.item.item_id, variant).format(a=numbers[0], b=numbers[1])
    if ev.kind == "co_purchase" and numbers:
        pair_bank: Sequence[str] = wording.REASON_COPURCHASE if picked else wording.REASON_COPURCHASE_NO_PICK
        return _pick(pair_bank, bi.item.item_id, variant).format(a=numbers[0])
    if not numbers:
        return _pick(wording.REASON_SIMILAR if ev.kind == "similar_text" else wording.REASON_GENERIC,
                     bi.item.item_id, variant)
    # Any other evidence: quote its fact, which carries its own numbers.
    return fact[:1].lower() + fact[1:] + "."


def is_quotable(need: str) -> bool:
    """A need the opening may repeat: short, no money, no instruction, no prompt text."""
    from assistant.safety.guard import injection_kind, prices_in, prompt_leaks
    from prompts import template

    return (len(need.split()) <= 12 and not prices_in(need) and injection_kind(need) is None
            and not prompt_leaks(need, [template("write"), template("parse")]))


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
_CLAUSE = re.compile(r"(?:i|we|she|he|they|it|you)(?:'(?:m|re|s|ve|d|ll))?\s+\w", re.IGNORECASE)


def template_opening(bundle: Bundle, need: str | None, variant: int = 0) -> str:
    key = (bundle.item_ids, variant)
    has_anchor = any(bi.role == "anchor" for bi in bundle.items)
    if need and not is_quotable(need):
        need = None  # the opening would repeat a price, an instruction or prompt text to the shopper
    if need and _CLAUSE.match(need):
        need = None  # "Ideas for she bakes:" is no English; the need is a clause, not a thing
    if need:
        need = re.sub(r"^(?:for|to)\s+", "", need)  # "A set for for my nan's 80th"
    if need and not need.startswith("items that go with"):
        opening = _pick(wording.OPENINGS_NEED, *key).format(need=need)
    elif has_anchor:
        opening = _pick(wording.OPENINGS_ITEM, *key)
    else:
        opening = _pick(wording.OPENINGS_NEED, *key).format(need="you")
    if bundle.budget is not None and bundle.total <= bundle.budget:
        opening += _pick(wording.OPENINGS_BUDGET, *key, "budget")
    return opening


def slot_text(bundle: Bundle, need: str | None, variant: int = 0) -> str:
    """The slot-form answer the template writer gives (and the fine-tuning target)."""
    lines = [template_opening(bundle, need, variant)]
    picked = has_pick(bundle)
    lines += [f"[{n}] {template_reason(bi, variant, picked)}" for n, bi in enumerate(bundle.items, 1)]
    return "\n".join(lines)


class TemplateWriter:
    """Deterministic, always grounded: the same evidence in fixed friendly sentences."""

    name = "template"

    def write(self, bundle: Bundle, need: str | None) -> WrittenReply:
        raw = slot_text(bundle, need)
        text = substitute(raw, bundle)
        return WrittenReply(text=text, grounded=True, reasons_ok=True, attempts=0, writer="template",
                            tokens=0, raw_text=raw, raw_grounded=True, raw_reasons_ok=True)


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
                 deadline_s: float | None = None) -> None:
        self.loaded = loaded
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
                  started: float | None = None) -> tuple[str, int]:
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
            return self._late(started) or done(text)

        guide = SlotAnswerGuide(facts, claims) if self.guided else None
        if isinstance(self.loaded, RemoteChatModel):
            return self._generate_remote(prompt, temperature, budget, started, done, guide)
        gen = generate(self.loaded, [{"role": "user", "content": prompt}], max_new_tokens=budget,
                       temperature=temperature, prefill=prefill, until=until, guide=guide)
        return _finished_part(gen.text, cut=gen.finish_reason == "length" or (
            gen.finish_reason == "stop" and self._late(started))), gen.n_new_tokens

    def _generate_remote(self, prompt: str, temperature: float, budget: int, started: float | None,
                         until: Callable[[str], bool], guide: Any | None) -> tuple[str, int]:
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
            return "", 0
        whole = reply.text.lstrip()
        text = replay_checks(whole, until, guide)
        return _finished_part(text, cut=reply.finish_reason == "length" and text == whole), reply.tokens

    def _late(self, started: float | None) -> bool:
        return self.deadline_s is not None and started is not None and \
            time.perf_counter() - started > self.deadline_s

    def check(self, raw: str, bundle: Bundle) -> tuple[bool, bool, str]:
        """(passes the output guard, reasons faithful, substituted text) for one raw reply."""
        n = len(bundle.items)
        final = substitute(raw, bundle)
        guard = check_slots(raw, n) and check_no_prices(raw) and is_grounded(final, bundle, self.other_titles)
        reasons = guard and check_reasons(raw, numbers_of(bundle), claims_of(bundle))
        return guard, reasons, final

    def write(self, bundle: Bundle, need: str | None) -> WrittenReply:
        """Greedy first; decoding stops at the first finished line that fails a check. The
        second try keeps the lines that passed and regenerates only from the faulty one on
        (sampled a little), so a repair costs a line, not a whole answer."""
        prompt = write_prompt(bundle, need)
        facts, claims = numbers_of(bundle), claims_of(bundle)
        tokens = 0
        first_raw = ""
        first: tuple[bool, bool] | None = None
        prefill = ""
        started = time.perf_counter()
        made = 0
        for attempt, temperature in enumerate((0.0, self.retry_temperature), 1):
            if attempt > 1 and self._late(started):
                break  # no time left for a repair: the template answers
            raw, n_tokens = self._generate(prompt, temperature, bundle, prefill, started)
            made, tokens = attempt, tokens + n_tokens
            guard, reasons, final = self.check(raw, bundle)
            if first is None:
                first_raw = raw
                first = (is_grounded(final, bundle, self.other_titles),
                         check_slots(raw, len(bundle.items)) and check_reasons(raw, facts, claims))
            if guard and reasons:
                return WrittenReply(text=final, grounded=True, reasons_ok=True, attempts=attempt,
                                    writer="model", tokens=tokens, raw_text=first_raw,
                                    raw_grounded=first[0], raw_reasons_ok=first[1])
            prefill = good_prefix(raw, facts, claims)
        fb = self.fallback.write(bundle, need)
        return dataclasses.replace(fb, attempts=made, tokens=tokens, raw_text=first_raw,
                                   raw_grounded=first[0] if first else None,
                                   raw_reasons_ok=first[1] if first else None)
