"""What a bundle carries from one edit to the next: its `BundleContext` (exclusions, the
user, what was already shown), the evidence of items the shopper chose, and the `diff` an
edit reports. Shared by the composer and its editor; imports neither."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from assistant.compose.profiles import Profile
from assistant.records import Bundle, BundleDiff, BundleItem
from retrieval.records import Evidence

ANCHOR_EVIDENCE = Evidence("anchor", "you asked for this")
LOCKED_EVIDENCE = Evidence("locked", "you kept this")


@dataclasses.dataclass(frozen=True)
class BundleContext:
    """What edits must keep from the request: exclusions, the user, what was already shown.

    `shown` grows with every edit (swapped-out and offered items), so a swap never offers
    the same thing twice.
    """

    exclude_ids: frozenset[str] = frozenset()
    exclude_terms: tuple[str, ...] = ()
    user_id: str | None = None
    allow_similar: bool = False
    shown: frozenset[str] = frozenset()
    # "nothing over £10 each": no pick may cost more per unit (edits keep it too)
    item_cap: float | None = None
    # a bundle filled kind by kind: the words its kinds were read from, and the guests, so
    # "cheaper" or a new budget re-fills the same kinds (six cheaper cups, not six cards)
    plan_text: str | None = None
    guests: int | None = None

    def seen(self, *item_ids: str) -> BundleContext:
        return dataclasses.replace(self, shown=self.shown | frozenset(item_ids))

    def over_cap(self, price: float) -> bool:
        """Does a unit price break the shopper's per-item cap?"""
        return self.item_cap is not None and price > self.item_cap + 1e-9

    def banned(self, profile: Profile | None) -> set[str]:
        """Item ids no pick may be: the excluded ones, and the profile's rejected and cart
        items (the shopper said no, or has them already)."""
        banned = set(self.exclude_ids)
        if profile is not None:
            banned.update(profile.rejected)
            banned.update(profile.cart)
        return banned

    def to_dict(self) -> dict[str, Any]:
        return {"exclude_ids": sorted(self.exclude_ids), "exclude_terms": list(self.exclude_terms),
                "user_id": self.user_id, "allow_similar": self.allow_similar,
                "shown": sorted(self.shown), "item_cap": self.item_cap, "plan_text": self.plan_text,
                "guests": self.guests}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BundleContext:
        return cls(frozenset(data.get("exclude_ids", ())), tuple(data.get("exclude_terms", ())),
                   data.get("user_id"), bool(data.get("allow_similar", False)),
                   frozenset(data.get("shown", ())), data.get("item_cap"), data.get("plan_text"),
                   data.get("guests"))


def bundle_diff(before: Bundle, after_items: Sequence[BundleItem]) -> BundleDiff:
    """What changed from `before` to `after_items`: titles added and removed, old total."""
    old = {bi.item.item_id for bi in before.items}
    new = {bi.item.item_id for bi in after_items}
    return BundleDiff(
        added=tuple(bi.item.title for bi in after_items if bi.item.item_id not in old),
        removed=tuple(bi.item.title for bi in before.items if bi.item.item_id not in new),
        total_before=before.total,
    )
