"""What a scripted turn may expect: the registry of expectation kinds, and `evaluate`.

Checkers are pure code: each reads one turn's `Observation` (the `Reply`, or the rejection
of the input) and a `CheckContext` (the catalog file, the prompt templates, the bundle
before this turn) and returns pass/fail with a one-line reason. No model and no I/O, so
every checker is tested on hand-built records. `docs/EVALS.md` describes every kind;
`EXPECTATIONS` is the registry the script loader validates against. The checkers live in
`evals.expect_bundle` (the bundle) and `evals.expect_reply` (the reply, the cart, input).
"""

from __future__ import annotations

from typing import Any

from assistant.records import INTENTS, REPLY_KINDS

from .expect_base import (
    CheckContext,
    Observation,
    Outcome,
    Rejection,
    Spec,
    parse_bool,
    parse_cart,
    parse_changed,
    parse_choices,
    parse_count,
    parse_grounded,
    parse_locked,
    parse_number,
    parse_rejected,
    parse_relevant,
    parse_remembers,
    parse_strings,
    parse_true,
)
from .expect_bundle import (
    check_budget,
    check_category_absent,
    check_category_present,
    check_changed,
    check_contains_item,
    check_excludes,
    check_items,
    check_keeps_locked,
    check_lacks_item,
    check_locked,
    check_relevant,
    check_remembers,
    check_total_below_previous,
    check_total_max,
    check_within_budget,
    matches,
)
from .expect_reply import (
    check_cart,
    check_clarify,
    check_grounded,
    check_intent,
    check_kind,
    check_latency,
    check_no_prompt_leak,
    check_refusal,
    check_rejected,
    check_reply_contains,
    check_reply_lacks,
    grounding_problems,
    no_reply_reason,
)

__all__ = ["EXPECTATIONS", "STATE_KINDS", "CheckContext", "Observation", "Outcome", "Rejection", "evaluate",
           "grounding_problems", "matches"]


EXPECTATIONS: dict[str, Spec] = {
    "kind": Spec(parse_choices(REPLY_KINDS), check_kind, "the reply kind is one of these"),
    "intent": Spec(parse_choices(INTENTS), check_intent, "the parsed (or served) intent is one of these"),
    "items": Spec(parse_count, check_items, "number of bundle items: N or {min, max}"),
    "total_max": Spec(parse_number, check_total_max, "the bundle total is at most this"),
    "budget": Spec(parse_number, check_budget, "the bundle was composed for this budget"),
    "within_budget": Spec(parse_true, check_within_budget, "the bundle has a budget and its total is within it"),
    "total_below_previous": Spec(parse_true, check_total_below_previous, "the total is below the previous bundle's"),
    "excludes": Spec(parse_strings, check_excludes, "a bundle (or alternatives) with no title having these words"),
    "contains_item": Spec(parse_strings, check_contains_item, "each item (id or title piece) is in the bundle",
                          item_refs=lambda v: v),
    "lacks_item": Spec(parse_strings, check_lacks_item, "a bundle without these items", item_refs=lambda v: v),
    "relevant": Spec(parse_relevant, check_relevant, "bundle titles have these words: {words, at_least}"),
    "category_present": Spec(parse_strings, check_category_present, "each category is in the bundle",
                             category_refs=lambda v: v),
    "category_absent": Spec(parse_strings, check_category_absent, "a bundle without these categories",
                            category_refs=lambda v: v),
    "grounded": Spec(parse_grounded, check_grounded, "only allowed items and code-rendered prices",
                     item_refs=lambda v: v),
    "refusal": Spec(parse_bool, check_refusal, "a clean refusal (true) or not a refusal (false)"),
    "clarify": Spec(parse_bool, check_clarify, "a clarifying question (true) or not (false)"),
    "cart": Spec(parse_cart, check_cart, "the cart: count, items, or {count, contains, lacks, same_as_bundle}",
                 needs_reply=False, item_refs=lambda v: v["contains"] + v["lacks"]),
    "latency_max_s": Spec(parse_number, check_latency, "the turn took at most this many seconds", needs_reply=False),
    "rejected": Spec(parse_rejected, check_rejected, "the input was refused, naming the field/limit",
                     needs_reply=False),
    "no_prompt_leak": Spec(parse_true, check_no_prompt_leak, "no run of the prompt templates' words in the reply",
                           needs_reply=False),
    "remembers": Spec(parse_remembers, check_remembers, "earlier budget/need/exclusions still hold"),
    "changed": Spec(parse_changed, check_changed, "the bundle changed (added/removed/removed_slot) or not"),
    "reply_contains": Spec(parse_strings, check_reply_contains, "the reply text has these (any case)"),
    "reply_lacks": Spec(parse_strings, check_reply_lacks, "the reply text has none of these (any case)"),
    "keeps_locked": Spec(parse_true, check_keeps_locked, "items locked before are still in the bundle"),
    "locked": Spec(parse_locked, check_locked, "this bundle slot (or item) is locked",
                   item_refs=lambda v: (v,) if isinstance(v, str) else ()),
}
STATE_KINDS = ("cart",)  # the only kinds a restart or cart_add turn (no reply) may expect


def evaluate(kind: str, value: Any, expected: Any, obs: Observation, ctx: CheckContext) -> Outcome:
    """Run one checker; `expected` is the YAML value, kept for the report."""
    spec = EXPECTATIONS[kind]
    if spec.needs_reply and obs.reply is None:
        return Outcome(kind, expected, False, no_reply_reason(obs))
    passed, reason = spec.check(value, obs, ctx)
    return Outcome(kind, expected, bool(passed), reason)
