"""Checkers of the bundle a scripted turn got: its size, total and budget, what it holds,
what changed since the bundle before, what stayed locked, what earlier turns asked for.

Each checker reads one turn's `Observation` and the `CheckContext` and returns pass/fail
with a one-line reason; pure code, tested on hand-built records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from assistant.records import Bundle
from retrieval.records import Item

from .expect_base import CheckContext, Observation, Verdict, in_count, show_count

EPS = 0.005  # half a penny: totals are sums of two-decimal prices


def matches(ref: str, item: Item) -> bool:
    """An item reference: the exact item id, or a case-insensitive piece of the title."""
    return ref == item.item_id or ref.lower() in item.title.lower()


def term_in(term: str, title: str) -> bool:
    """A word the shopper excluded, singular or plural ("candles" also rules out "Candle")."""
    t = term.lower()
    stem = t[:-1] if len(t) > 3 and t.endswith("s") else t
    return stem in title.lower()


def bundle_items(obs: Observation) -> tuple[Item, ...]:
    bundle = obs.reply.bundle if obs.reply else None
    return tuple(bi.item for bi in bundle.items) if bundle else ()


def titles_of(items: Iterable[Item]) -> str:
    return "; ".join(it.title for it in items) or "none"


def check_items(value: tuple[int, int | None], obs: Observation, ctx: CheckContext) -> Verdict:
    n = len(bundle_items(obs))
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
    offered = bundle_items(obs) + tuple(obs.reply.alternatives)
    if not offered:  # nothing offered at all is a failure of the turn, not a kept exclusion
        return False, f"no bundle (reply kind {obs.reply.kind})"
    bad = [it.title for it in offered if any(term_in(t, it.title) for t in value)]
    return not bad, f"offered despite the exclusion: {'; '.join(bad)}" if bad else "nothing excluded is offered"


def check_contains_item(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    items = bundle_items(obs)
    missing = [ref for ref in value if not any(matches(ref, it) for it in items)]
    return not missing, (f"missing {', '.join(map(repr, missing))}; bundle: {titles_of(items)}"
                         if missing else "all present")


def check_lacks_item(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    if not bundle_items(obs):
        return False, "no bundle"
    bad = [it.title for it in bundle_items(obs) if any(matches(ref, it) for ref in value)]
    return not bad, f"present: {'; '.join(bad)}" if bad else "none present"


def check_relevant(value: Mapping[str, Any], obs: Observation, ctx: CheckContext) -> Verdict:
    items = bundle_items(obs)
    if not items:
        return False, "no bundle"
    hits = [it for it in items if any(term_in(w, it.title) for w in value["words"])]
    need = value["at_least"] or len(items)
    off = [it.title for it in items if it not in hits]
    return len(hits) >= need, f"{len(hits)} of {len(items)} items on topic (need {need})" + (
        f"; off topic: {'; '.join(off)}" if off else "")


def _categories(obs: Observation) -> set[str]:
    return {it.category.lower() for it in bundle_items(obs)}


def check_category_present(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    have = _categories(obs)
    missing = [c for c in value if c.lower() not in have]
    return not missing, (f"missing {', '.join(missing)}; categories: {', '.join(sorted(have)) or 'none'}"
                         if missing else "present")


def check_category_absent(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    if not bundle_items(obs):
        return False, "no bundle"
    bad = [c for c in value if c.lower() in _categories(obs)]
    return not bad, f"present: {', '.join(bad)}" if bad else "absent"


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
        bad = [bi.item.title for bi in bundle.items if any(term_in(t, bi.item.title) for t in value["exclude"])]
        if bad:
            problems.append(f"excluded items are back: {'; '.join(bad)}")
    return not problems, "; ".join(problems) if problems else "still holds"


def check_changed(value: Mapping[str, Any], obs: Observation, ctx: CheckContext) -> Verdict:
    bundle, before = _need_bundle(obs), ctx.previous_bundle
    if bundle is None and not value["changed"] and before is not None and obs.reply is not None \
            and obs.reply.kind in ("smalltalk", "answer"):
        return True, "no new bundle: the one on screen stays"  # "thanks, that's lovely!" changes nothing
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


def check_keeps_locked(value: bool, obs: Observation, ctx: CheckContext) -> Verdict:
    bundle, before = _need_bundle(obs), ctx.previous_bundle
    locked = [bi.item for bi in before.items if bi.locked] if before else []
    if bundle is None or not locked:
        return False, "no bundle" if bundle is None else "the earlier bundle had no locked item"
    lost = [it.title for it in locked if it.item_id not in bundle.item_ids]
    return not lost, f"lost the locked {'; '.join(lost)}" if lost else f"kept {titles_of(locked)}"


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
