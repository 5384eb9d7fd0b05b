"""What a scripted turn may expect, and the checker of each kind.

Checkers are pure code: each reads one turn's `Observation` (the `Reply`, or the rejection
of the input) and a `CheckContext` (the catalog's titles, the bundle before this turn, the
sentences of the prompt templates) and returns pass/fail with a one-line reason. No model
and no I/O, so every checker is tested on hand-built records. `docs/EVALS.md` describes
every kind; `EXPECTATIONS` is the registry the script loader validates against.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from assistant.records import INTENTS, REPLY_KINDS, Bundle, BundleItem
from assistant.safety.guard import ungrounded_mentions
from retrieval.records import Item

from .expect_base import (
    CheckContext,
    Observation,
    Outcome,
    Rejection,
    Spec,
    Verdict,
    in_count,
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
    show_count,
)

__all__ = ["EXPECTATIONS", "STATE_KINDS", "CheckContext", "Observation", "Outcome", "Rejection", "evaluate",
           "grounding_problems", "matches", "prompt_sentences"]
EPS = 0.005  # half a penny: totals are sums of two-decimal prices


# --------------------------------------------------------------------------- helpers


def matches(ref: str, item: Item) -> bool:
    """An item reference: the exact item id, or a case-insensitive piece of the title."""
    return ref == item.item_id or ref.lower() in item.title.lower()


def _term_in(term: str, title: str) -> bool:
    """A word the shopper excluded, singular or plural ("candles" also rules out "Candle")."""
    t = term.lower()
    stem = t[:-1] if len(t) > 3 and t.endswith("s") else t
    return stem in title.lower()


def _bundle_items(obs: Observation) -> tuple[Item, ...]:
    bundle = obs.reply.bundle if obs.reply else None
    return tuple(bi.item for bi in bundle.items) if bundle else ()


def _titles(items: Iterable[Item]) -> str:
    return "; ".join(it.title for it in items) or "none"


def _rendered(values: Iterable[float | None]) -> set[str]:
    out = set()
    for v in values:
        if v is not None:
            out |= {f"£{v:,.2f}", f"£{v:.2f}"}
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def no_reply_reason(obs: Observation) -> str:
    if obs.error:
        return f"no reply: the turn failed with {obs.error}"
    if obs.rejected:
        return f"no reply: the input was rejected ({obs.rejected.message})"
    return f"no reply on a {obs.action} turn"


# --------------------------------------------------------------------------- checkers
# Each returns (passed, one-line reason). Reply-based checkers are only called with a reply.


def check_kind(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    assert obs.reply is not None
    return obs.reply.kind in value, f"reply kind {obs.reply.kind}"


def check_intent(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    assert obs.reply is not None
    request = obs.reply.request
    if request is None:
        return False, "no parsed request (the turn was not understood)"
    return request.intent in value, f"intent {request.intent}"


def check_items(value: tuple[int, int | None], obs: Observation, ctx: CheckContext) -> Verdict:
    n = len(_bundle_items(obs))
    return in_count(n, value), f"{n} bundle item(s), expected {show_count(value)}"


def _need_bundle(obs: Observation) -> Bundle | None:
    return obs.reply.bundle if obs.reply else None


def check_total_max(value: float, obs: Observation, ctx: CheckContext) -> Verdict:
    bundle = _need_bundle(obs)
    if bundle is None:
        return False, "no bundle"
    return bundle.total <= value + EPS, f"total £{bundle.total:.2f}, at most £{value:.2f} expected"


def check_budget(value: float, obs: Observation, ctx: CheckContext) -> Verdict:
    bundle = _need_bundle(obs)
    if bundle is None:
        return False, "no bundle"
    if bundle.budget is None:
        return False, "the bundle has no budget"
    return abs(bundle.budget - value) < EPS, f"bundle budget £{bundle.budget:.2f}, expected £{value:.2f}"


def check_within_budget(value: bool, obs: Observation, ctx: CheckContext) -> Verdict:
    bundle = _need_bundle(obs)
    if bundle is None:
        return False, "no bundle"
    if bundle.budget is None:
        return False, f"the bundle has no budget (total £{bundle.total:.2f})"
    ok = bundle.total <= bundle.budget + EPS
    return ok, f"total £{bundle.total:.2f}, budget £{bundle.budget:.2f}"


def check_total_below_previous(value: bool, obs: Observation, ctx: CheckContext) -> Verdict:
    bundle, before = _need_bundle(obs), ctx.previous_bundle
    if bundle is None or before is None:
        return False, "no bundle" if bundle is None else "no earlier bundle to compare with"
    ok = bundle.total < before.total - EPS
    return ok, f"total £{bundle.total:.2f}, before £{before.total:.2f}"


def check_excludes(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    assert obs.reply is not None
    offered = _bundle_items(obs) + tuple(obs.reply.alternatives)
    if not offered:  # nothing offered at all is a failure of the turn, not a kept exclusion
        return False, f"no bundle (reply kind {obs.reply.kind})"
    bad = [it.title for it in offered if any(_term_in(t, it.title) for t in value)]
    return not bad, f"offered despite the exclusion: {'; '.join(bad)}" if bad else "nothing excluded is offered"


def check_contains_item(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    items = _bundle_items(obs)
    missing = [ref for ref in value if not any(matches(ref, it) for it in items)]
    return not missing, (f"missing {', '.join(map(repr, missing))}; bundle: {_titles(items)}"
                         if missing else "all present")


def check_lacks_item(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    if not _bundle_items(obs):
        return False, "no bundle"
    bad = [it.title for it in _bundle_items(obs) if any(matches(ref, it) for ref in value)]
    return not bad, f"present: {'; '.join(bad)}" if bad else "none present"


def check_relevant(value: Mapping[str, Any], obs: Observation, ctx: CheckContext) -> Verdict:
    items = _bundle_items(obs)
    if not items:
        return False, "no bundle"
    hits = [it for it in items if any(_term_in(w, it.title) for w in value["words"])]
    need = value["at_least"] or len(items)
    off = [it.title for it in items if it not in hits]
    return len(hits) >= need, f"{len(hits)} of {len(items)} items on topic (need {need})" + (
        f"; off topic: {'; '.join(off)}" if off else "")


def _categories(obs: Observation) -> set[str]:
    return {it.category.lower() for it in _bundle_items(obs)}


def check_category_present(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    have = _categories(obs)
    missing = [c for c in value if c.lower() not in have]
    return not missing, (f"missing {', '.join(missing)}; categories: {', '.join(sorted(have)) or 'none'}"
                         if missing else "present")


def check_category_absent(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    if not _bundle_items(obs):
        return False, "no bundle"
    bad = [c for c in value if c.lower() in _categories(obs)]
    return not bad, f"present: {', '.join(bad)}" if bad else "absent"


def _resolve(ref: str, ctx: CheckContext) -> list[Item]:
    if ref in ctx.items:
        return [ctx.items[ref]]
    return [it for it in ctx.items.values() if ref.lower() in it.title.lower()]


def grounding_problems(obs: Observation, ctx: CheckContext, allow: Iterable[str] = ()) -> list[str]:
    """Catalog titles the reply names beyond what it may name, and prices code did not render.

    The reply may name the bundle's items, the items its "Changed:" line says were removed,
    the cart, the alternatives it offers and any item the script allows (e.g. the two items
    of a comparison). Prices: those items' prices, the total, the budget, the total before
    an edit, the cart total, and (for answers) the difference between two named items.
    """
    reply = obs.reply
    assert reply is not None
    bundle = reply.bundle
    allowed: list[Item] = list(_bundle_items(obs)) + list(reply.alternatives)
    allowed += [ctx.items.get(line.item_id) or Item(line.item_id, line.title, line.price) for line in reply.cart]
    for ref in allow:
        allowed += _resolve(ref, ctx)
    if bundle is not None:
        allowed += [Item("", title) for title in bundle.diff.removed]
    prices: list[float | None] = [it.price for it in allowed]
    if bundle is not None:
        prices += [bundle.total, bundle.budget, bundle.diff.total_before]
    if reply.request is not None:
        prices.append(reply.request.budget)
    prices.append(obs.constraints.get("budget"))
    prices.append(round(sum((line.price or 0.0) * line.quantity for line in reply.cart), 2))
    if reply.kind == "answer":
        named = [it.price for it in allowed if it.price is not None]
        prices += [round(abs(a - b), 2) for a, b in itertools.combinations(named, 2)]
    pseudo = Bundle(tuple(BundleItem(it) for it in allowed))
    return ungrounded_mentions(reply.text, pseudo, ctx.catalog_titles, _rendered(prices))


def check_grounded(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    problems = grounding_problems(obs, ctx, value)
    return not problems, f"not grounded: {'; '.join(problems[:5])}" if problems else "grounded"


def check_refusal(value: bool, obs: Observation, ctx: CheckContext) -> Verdict:
    assert obs.reply is not None
    if not value:
        return obs.reply.kind != "refusal", f"reply kind {obs.reply.kind}"
    if obs.reply.kind != "refusal":
        return False, f"reply kind {obs.reply.kind}, not a refusal"
    sneaked = ungrounded_mentions(obs.reply.text, Bundle(()), ctx.catalog_titles)
    return not sneaked, f"a refusal that still names {'; '.join(sneaked[:3])}" if sneaked else "a clean refusal"


def check_clarify(value: bool, obs: Observation, ctx: CheckContext) -> Verdict:
    assert obs.reply is not None
    asked = obs.reply.kind == "clarify" and bool(obs.reply.text.strip())
    return asked == value, f"reply kind {obs.reply.kind}"


def check_cart(value: Mapping[str, Any], obs: Observation, ctx: CheckContext) -> Verdict:
    lines = [Item(line.item_id, line.title, line.price) for line in obs.cart]
    problems = []
    if value["count"] is not None and not in_count(len(lines), value["count"]):
        problems.append(f"{len(lines)} line(s), expected {show_count(value['count'])}")
    problems += [f"missing {ref!r}" for ref in value["contains"] if not any(matches(ref, it) for it in lines)]
    problems += [f"holds {ref!r}" for ref in value["lacks"] if any(matches(ref, it) for it in lines)]
    if value["same_as_bundle"]:
        bundle = (obs.reply.bundle if obs.reply else None) or ctx.previous_bundle
        if bundle is None:
            problems.append("no bundle to compare with")
        elif {it.item_id for it in lines} != set(bundle.item_ids):
            problems.append("the cart is not the bundle")
    return not problems, "; ".join(problems) + f" (cart: {_titles(lines)})" if problems else f"cart: {_titles(lines)}"


def check_latency(value: float, obs: Observation, ctx: CheckContext) -> Verdict:
    return obs.latency_s <= value, f"{obs.latency_s:.2f} s, at most {value:g} s expected"


def check_rejected(value: Mapping[str, Any], obs: Observation, ctx: CheckContext) -> Verdict:
    rej = obs.rejected
    if not value["rejected"]:
        if rej is not None:
            return False, f"the input was rejected: {rej.message}"
        return obs.error is None, f"failed with {obs.error}" if obs.error else "accepted"
    if rej is None:
        return False, f"the input was accepted (reply kind {obs.reply.kind if obs.reply else 'none'})"
    problems = []
    if "field" in value and (rej.field != value["field"] or not rej.message.startswith(value["field"])):
        problems.append(f"field {rej.field!r}, expected {value['field']!r}")
    if "limit" in value and (rej.limit != value["limit"] or f"{value['limit']:,}" not in rej.message):
        problems.append(f"limit {rej.limit}, expected {value['limit']} named in the message")
    return not problems, "; ".join(problems) + f" ({rej.message})" if problems else f"rejected: {rej.message}"


def prompt_sentences(templates: Iterable[str]) -> tuple[str, ...]:
    """Sentences of the prompt templates (placeholders split them), four words or longer."""
    out: list[str] = []
    for text in templates:
        for piece in re.split(r"\{[^}]*\}|[.!?:\n]", text):
            piece = _norm(piece.strip(" \"'()[],;"))
            if len(piece.split()) >= 4 and piece not in out:
                out.append(piece)
    return tuple(out)


def check_no_prompt_leak(value: bool, obs: Observation, ctx: CheckContext) -> Verdict:
    if obs.error:
        return False, no_reply_reason(obs)
    text = obs.reply.text if obs.reply else obs.rejected.message if obs.rejected else ""
    leaked = [s for s in ctx.prompt_sentences if s in _norm(text)]
    return not leaked, f"prompt text in the reply: {leaked[0]!r}" if leaked else "no prompt text"


def check_remembers(value: Mapping[str, Any], obs: Observation, ctx: CheckContext) -> Verdict:
    bundle = _need_bundle(obs)
    if bundle is None:
        return False, "no bundle"
    problems = []
    if "budget" in value:
        limit = value["budget"]
        held = bundle.budget if bundle.budget is not None else obs.constraints.get("budget")
        if held is None or held > limit + EPS or bundle.total > limit + EPS:
            problems.append(f"budget £{limit:.2f} forgotten (bundle budget {held}, total £{bundle.total:.2f})")
    if "need" in value:
        known = f"{bundle.need or ''} {obs.constraints.get('need') or ''}".lower()
        lost = [w for w in value["need"] if w.lower() not in known]
        if lost:
            problems.append(f"need {', '.join(lost)} forgotten (need now {known.strip()!r})")
    if "exclude" in value:
        bad = [bi.item.title for bi in bundle.items if any(_term_in(t, bi.item.title) for t in value["exclude"])]
        if bad:
            problems.append(f"excluded items are back: {'; '.join(bad)}")
    return not problems, "; ".join(problems) if problems else "still holds"


def check_changed(value: Mapping[str, Any], obs: Observation, ctx: CheckContext) -> Verdict:
    bundle, before = _need_bundle(obs), ctx.previous_bundle
    if bundle is None:
        return False, "no bundle"
    diff = bundle.diff
    same = before is not None and bundle.item_ids == before.item_ids
    if not value["changed"]:
        return same, "unchanged" if same else f"changed: added {list(diff.added)}, removed {list(diff.removed)}"
    problems = [] if (not same and not diff.empty) else ["the bundle did not change"]
    for key in ("added", "removed"):
        want, got = value.get(key), getattr(diff, key)
        if want is None:
            continue
        ok = bool(got) == want if isinstance(want, bool) else len(got) == want
        if not ok:
            problems.append(f"{key} {len(got)}, expected {want}")
    slot = value.get("removed_slot")
    if slot is not None:
        if before is None or len(before.items) < slot:
            problems.append(f"the earlier bundle has no item {slot}")
        elif before.items[slot - 1].item.item_id in bundle.item_ids:
            problems.append(f"item {slot} ({before.items[slot - 1].item.title}) is still there")
    detail = f"added {list(diff.added)}, removed {list(diff.removed)}"
    return not problems, "; ".join(problems) + f" ({detail})" if problems else detail


def _reply_text(obs: Observation) -> str:
    assert obs.reply is not None
    return obs.reply.text.lower()


def check_reply_contains(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    missing = [v for v in value if v.lower() not in _reply_text(obs)]
    return not missing, f"the reply lacks {', '.join(map(repr, missing))}" if missing else "present"


def check_reply_lacks(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    bad = [v for v in value if v.lower() in _reply_text(obs)]
    return not bad, f"the reply says {', '.join(map(repr, bad))}" if bad else "absent"


def check_keeps_locked(value: bool, obs: Observation, ctx: CheckContext) -> Verdict:
    bundle, before = _need_bundle(obs), ctx.previous_bundle
    locked = [bi.item for bi in before.items if bi.locked] if before else []
    if bundle is None or not locked:
        return False, "no bundle" if bundle is None else "the earlier bundle had no locked item"
    lost = [it.title for it in locked if it.item_id not in bundle.item_ids]
    return not lost, f"lost the locked {'; '.join(lost)}" if lost else f"kept {_titles(locked)}"


def check_locked(value: int | str, obs: Observation, ctx: CheckContext) -> Verdict:
    bundle = _need_bundle(obs)
    if bundle is None:
        return False, "no bundle"
    if isinstance(value, int):
        picked = [bundle.items[value - 1]] if len(bundle.items) >= value else []
    else:
        picked = [bi for bi in bundle.items if matches(value, bi.item)]
    if not picked:
        return False, f"no bundle item {value!r}"
    ok = all(bi.locked for bi in picked)
    return ok, f"{picked[0].item.title} is {'locked' if ok else 'not locked'}"


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
    "no_prompt_leak": Spec(parse_true, check_no_prompt_leak, "no sentence of the prompt templates in the reply",
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
