"""The bundle on screen at three prices: budget, standard (the bundle itself) and premium.

"Show me a cheaper and a nicer version" keeps the bundle's idea (its need, the items the
shopper named or locked, the exclusions, the party size) and re-chooses the rest: the budget
tier as "make it cheaper" would (`BundleEditor.cheaper`), the premium tier for up to
`PREMIUM_STRETCH` x the total, never over a budget the shopper stated
(`BundleEditor.set_budget`, which fills the same kinds with better-fitting, dearer picks; a
bundle around named items, which has no kinds to refill, takes the composer's top price
level, whose scores lean to dearer items: `BundleComposer.tiers`).
A tier that cannot be made (nothing cheaper fits; the budget is already used) is left out
and the answer says so. The shopper then takes one by name ("the premium one").
"""

from __future__ import annotations

import dataclasses

from assistant.compose.composer import TIERS
from assistant.compose.context import BundleContext
from assistant.compose.editor import BundleEditor
from assistant.compose.errors import BundleError
from assistant.compose.profiles import Profile
from assistant.records import Bundle
from assistant.write.answer_checks import format_price, item_label

TIER_ORDER = ("budget", "standard", "premium")
PREMIUM_STRETCH = 1.5


def bundle_tiers(editor: BundleEditor, bundle: Bundle, context: BundleContext, profile: Profile,
                 stated_budget: float | None) -> dict[str, Bundle]:
    """The tiers that can be made, in `TIER_ORDER`; "standard" is always the bundle itself."""
    tiers = {"standard": dataclasses.replace(bundle, tier="standard")}
    try:
        cheaper: Bundle | None = editor.cheaper(bundle, None, context=context, profile=profile)
    except BundleError:
        cheaper = None
    if cheaper is not None and cheaper.total < bundle.total:
        tiers["budget"] = dataclasses.replace(cheaper, tier="budget")
    cap = float(stated_budget) if stated_budget is not None else round(bundle.total * PREMIUM_STRETCH, 2)
    if cap > bundle.total + 0.01:
        try:
            nicer: Bundle | None = editor.set_budget(bundle, cap, context=context, profile=profile)
        except BundleError:
            nicer = None
        by_kinds = context.plan_text is not None and any(
            r.kind == "role" for bi in bundle.items for r in bi.reasons[:1])
        if not by_kinds and (nicer is None or set(nicer.item_ids) == set(bundle.item_ids)):
            nicer = _dearer_picks(editor, bundle, context, profile, cap)
        if nicer is not None and nicer.total > bundle.total and set(nicer.item_ids) != set(bundle.item_ids):
            tiers["premium"] = dataclasses.replace(nicer, tier="premium")
    return {name: tiers[name] for name in TIER_ORDER if name in tiers}


def _dearer_picks(editor: BundleEditor, bundle: Bundle, context: BundleContext, profile: Profile,
                  cap: float) -> Bundle | None:
    anchors = [bi.item.item_id for bi in bundle.items if bi.role == "anchor"]
    locked = [bi.item.item_id for bi in bundle.items if bi.locked and bi.role != "anchor"]
    need = bundle.need if bundle.need and not bundle.need.startswith("items that go with") else None
    if not anchors and need is None:
        return None
    try:
        levels = editor.composer.tiers(anchors, need, cap, exclude_ids=context.exclude_ids,
                                       exclude_terms=context.exclude_terms, size=len(bundle.items),
                                       profile=profile, locked=locked)
    except BundleError:
        return None
    return levels.get(TIERS[-1])


def tiers_text(tiers: dict[str, Bundle], stated_budget: float | None = None) -> str:
    """The answer listing the tiers (names and prices by code), and how to take one."""
    if len(tiers) == 1:
        return ("This bundle is the only version I can make at its price: nothing cheaper fits its "
                "items, and a nicer one would go over your budget. Say \"make it cheaper\" or give me "
                "a new budget to change it.")
    lines = [f"Your bundle at {len(tiers)} prices:"]
    for name, bundle in tiers.items():
        note = ", the one you have" if name == "standard" else ""
        items = "; ".join(item_label(bi) for bi in bundle.items)
        lines.append(f"{name.capitalize()}: {format_price(bundle.total)}{note} — {items}")
    if "premium" not in tiers:
        lines.append("No nicer version: " + (f"it would go over your {format_price(stated_budget)} budget."
                                             if stated_budget is not None else "nothing dearer fits its kinds."))
    if "budget" not in tiers:
        lines.append("No cheaper version: nothing cheaper fits its items.")
    choices = " or ".join(f'"the {name} one"' for name in tiers if name != "standard")
    lines.append(f"Say {choices} to take it.")
    return "\n".join(lines)
