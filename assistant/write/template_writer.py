"""The template writer: the same evidence in fixed friendly sentences, code only.

It is the model writer's fallback, words the lines a model reply got wrong
(`writer.mend`), and its slot answers are the model's fine-tuning targets
(`finetune.write_examples`). `WrittenReply` is what every writer returns.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Sequence

from assistant.records import Bundle, BundleItem
from assistant.write import wording
from assistant.write.answer_checks import NUMBER, substitute
from assistant.write.item_facts import (
    NAMING_FACTS,
    has_pick,
    item_fact,
    item_numbers,
    main_evidence,
)

__all__ = ["TemplateWriter", "WrittenReply", "is_quotable", "slot_text", "template_opening", "template_reason"]


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
    mended: int = 0  # lines of a model reply the template reworded (`mend`)
    prompt_tokens: int = 0  # fed to the model over every attempt


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

    def write(self, bundle: Bundle, need: str | None, *,
              on_line: Callable[[str], None] | None = None) -> WrittenReply:
        """The whole answer at once (`on_line` is never called: the caller shows it)."""
        raw = slot_text(bundle, need)
        text = substitute(raw, bundle)
        return WrittenReply(text=text, grounded=True, reasons_ok=True, attempts=0, writer="template",
                            tokens=0, raw_text=raw, raw_grounded=True, raw_reasons_ok=True)
