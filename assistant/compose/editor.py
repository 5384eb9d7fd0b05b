"""Edits of a composed bundle, and the word helpers that composition shares with them.

`BundleEdits` is the half of `assistant.compose.composer.BundleComposer` that changes a bundle the
shopper already sees: cheaper, swap, remove, add, lock, more like this, set budget. Every
edit returns a new `Bundle` whose `diff` says what was added and removed and what the total
was before. Anchors (what the shopper named) and locked items survive cheaper, swap,
more-like and budget changes; only an explicit `remove` drops them.

What an edit must remember from the original request (excluded ids and words such as
"no candles", the user, "more like this") travels in a `BundleContext`. The composer
remembers the context of every bundle it produced while that bundle object is alive, so
in-process callers may omit it; callers that persist bundles (JSON, SQLite) pass it back.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.records import MAX_BUNDLE_SIZE, Bundle, BundleDiff, BundleItem
from assistant.understand.words import (
    FILLER,
    ORDINALS,
    content_stems,
    mentions_all,
    stem_set,
    tokens,
)
from retrieval.content import seed_evidence
from retrieval.errors import CartsmithError
from retrieval.records import Evidence, Item

if TYPE_CHECKING:
    from assistant.compose.composer import _Scores
    from assistant.compose.config import ComposerConfig, Match
    from assistant.compose.profiles import Profile
    from assistant.compose.substitutes import Substitutes
    from retrieval.catalog import Catalog
    from retrieval.content import ContentSource

_POSITION = re.compile(r"(?:item|number|no\.?|#)?\s*(\d{1,2})(?:st|nd|rd|th)?(?:\s+one)?")
ANCHOR_EVIDENCE = Evidence("anchor", "you asked for this")


def price_text(value: float | None) -> str:
    return "no price" if value is None else f"£{value:.2f}"


# -- errors and context ------------------------------------------------------------------
class BundleError(CartsmithError):
    """An edit or composition cannot be done; the message says why and what to try."""


class TargetNotFoundError(BundleError):
    """A target ("the candles", "3") names nothing in the bundle."""

    def __init__(self, target: str, bundle: Bundle) -> None:
        self.target = target
        self.titles = [bi.item.title for bi in bundle.items]
        listing = "; ".join(f"{n}. {t}" for n, t in enumerate(self.titles, 1)) or "nothing yet"
        super().__init__(f"I couldn't find \u201c{target}\u201d in this bundle. It has: {listing}.")


class NoMatchError(BundleError):
    """The shop has nothing close to a need or mention; `alternatives` are the nearest items."""

    def __init__(self, message: str, alternatives: Sequence[Item] = (),
                 best_similarity: float | None = None) -> None:
        self.alternatives = tuple(alternatives)
        self.best_similarity = best_similarity
        super().__init__(message)


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

    def seen(self, *item_ids: str) -> BundleContext:
        return dataclasses.replace(self, shown=self.shown | frozenset(item_ids))

    def to_dict(self) -> dict[str, Any]:
        return {"exclude_ids": sorted(self.exclude_ids), "exclude_terms": list(self.exclude_terms),
                "user_id": self.user_id, "allow_similar": self.allow_similar,
                "shown": sorted(self.shown)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BundleContext:
        return cls(frozenset(data.get("exclude_ids", ())), tuple(data.get("exclude_terms", ())),
                   data.get("user_id"), bool(data.get("allow_similar", False)),
                   frozenset(data.get("shown", ())))


def bundle_diff(before: Bundle, after_items: Sequence[BundleItem]) -> BundleDiff:
    old = {bi.item.item_id for bi in before.items}
    new = {bi.item.item_id for bi in after_items}
    return BundleDiff(
        added=tuple(bi.item.title for bi in after_items if bi.item.item_id not in old),
        removed=tuple(bi.item.title for bi in before.items if bi.item.item_id not in new),
        total_before=before.total,
    )


def resolve_target(bundle: Bundle, target: str,
                   similar: Callable[[str, list[int]], tuple[int, float] | None]) -> int:
    """The 0-based position in `bundle` that `target` names: "2", "#2", "the second one",
    "last", an item id, words of a title ("the candles"), or a close paraphrase (via
    `similar(text, positions) -> (position, cosine) | None`). Raises TargetNotFoundError."""
    text = (target or "").strip()
    n = len(bundle.items)
    words = [t for t in tokens(text) if t not in FILLER]
    number = _POSITION.fullmatch(" ".join(words)) if words else None
    if number:
        pos = int(number.group(1))
        if 1 <= pos <= n:
            return pos - 1
        raise TargetNotFoundError(text, bundle)
    if len(words) == 1 and words[0] in ORDINALS:
        pos = ORDINALS[words[0]]
        if pos == -1 and n:
            return n - 1
        if 1 <= pos <= n:
            return pos - 1
        raise TargetNotFoundError(text, bundle)
    for pos, bi in enumerate(bundle.items):
        if bi.item.item_id == text or bi.item.item_id.lower() == text.lower():
            return pos
    wanted = content_stems(text)
    if wanted:
        title_stems = [stem_set(bi.item.title) for bi in bundle.items]
        full = [p for p, s in enumerate(title_stems) if mentions_all(s, wanted)]
        if len(full) == 1:
            return full[0]
        overlap = [sum(w in s for w in wanted) for s in title_stems]
        pool = full or [p for p, k in enumerate(overlap) if k and k == max(overlap)]
        if len(pool) == 1 and (full or 2 * overlap[pool[0]] >= len(wanted)):
            return pool[0]
        hit = similar(text, pool or list(range(n)))
        if hit is not None:
            return hit[0]
    raise TargetNotFoundError(text or "(nothing)", bundle)


# -- the edits ---------------------------------------------------------------------------
class BundleEdits:
    """Edit operations; mixed into `BundleComposer`, which supplies the underscore methods."""

    config: ComposerConfig

    if TYPE_CHECKING:  # provided by BundleComposer
        catalog: Catalog
        content: ContentSource
        embeddings: np.ndarray
        substitutes: Substitutes
        _by_title: dict[str, list[int]]

        def _context(self, bundle: Bundle, context: BundleContext | None) -> BundleContext: ...
        def _remember(self, bundle: Bundle, context: BundleContext) -> Bundle: ...
        def resolve(self, mentions: Sequence[str]) -> list[Match]: ...
        def need_match(self, need: str) -> tuple[bool, float, np.ndarray]: ...
        def _need_wants(self, need: str) -> tuple[bool, float, np.ndarray, list[np.ndarray]]: ...
        def _nearest(self, sims: np.ndarray, exclude: Iterable[int] = ()) -> tuple[Item, ...]: ...
        def _score(self, fixed_ids: Sequence[str], need: str | None, sims: np.ndarray | None,
                   user_id: str | None, profile: Profile | None,
                   similar_to: int | None = None, wants: Sequence[np.ndarray] = ()) -> _Scores: ...
        def _choose(self, fixed: Sequence[BundleItem], scores: _Scores, ctx: BundleContext,
                    profile: Profile | None, budget: float | None, size: int, *,
                    keep: Iterable[str] = (), allow_similar: bool = False, cap: int | None = None,
                    ) -> list[BundleItem] | None: ...
        def _banned(self, ctx: BundleContext, profile: Profile | None) -> set[str]: ...
        def _term_excluded(self, i: int, ctx: BundleContext) -> bool: ...
        def _ranked(self, scores: _Scores) -> np.ndarray: ...
        def _reasons(self, scores: _Scores, i: int, profile: Profile | None
                     ) -> tuple[Evidence, ...]: ...

    def position(self, bundle: Bundle, target: str) -> int:
        return resolve_target(bundle, target,
                              lambda text, positions: self._similar_position(text, bundle, positions))

    def _finish(self, before: Bundle, items: Sequence[BundleItem], context: BundleContext, *,
                budget: float | None) -> Bundle:
        bundle = Bundle(items=tuple(items), need=before.need, budget=budget,
                        diff=bundle_diff(before, items), tier=before.tier)
        shown = [bi.item.item_id for bi in items]
        return self._remember(bundle, context.seen(*shown))

    @staticmethod
    def _fixed(bundle: Bundle) -> list[BundleItem]:
        return [bi for bi in bundle.items if bi.role == "anchor" or bi.locked]

    def cheaper(self, bundle: Bundle, budget: float | None = None, *,
                context: BundleContext | None = None, profile: Profile | None = None) -> Bundle:
        """The same idea for less: total <= `budget`, or <= `cheaper_ratio` x the current
        total by default; anchors and locked items stay, the rest is re-chosen exactly."""
        ctx = self._context(bundle, context)
        current = bundle.total
        fixed = self._fixed(bundle)
        fixed_cost = round(sum(bi.item.price or 0.0 for bi in fixed), 2)
        if budget is None:
            target = math.floor(current * self.config.cheaper_ratio * 100 + 1e-6) / 100
            if fixed_cost > target:  # cannot reach the ratio: anything strictly cheaper will do
                target = round(current - 0.01, 2)
        else:
            target = float(budget)
        if target >= current and budget is not None:
            raise BundleError(f"the bundle already costs {price_text(current)}, within "
                              f"{price_text(target)}; ask for a lower amount")
        if fixed_cost > target or fixed_cost >= current:
            names = ", ".join(bi.item.title for bi in fixed) or "the bundle"
            raise BundleError(f"I can't make it cheaper: {names} (kept because you asked for or "
                              f"locked them) already cost {price_text(fixed_cost)}")
        items = self._rebuild(bundle, context=ctx, profile=profile, budget=target,
                              size=len(bundle.items), fixed=fixed,
                              keep=[bi.item.item_id for bi in bundle.items])
        if items is None or round(sum(bi.item.price or 0.0 for bi in items), 2) >= current:
            raise BundleError(f"nothing cheaper fits: every alternative costs more than "
                              f"{price_text(target)}")
        return self._finish(bundle, items, ctx, budget=target)

    def swap(self, bundle: Bundle, target: str, *, context: BundleContext | None = None,
             profile: Profile | None = None) -> Bundle:
        """Replace one item by the best candidate not shown before that is no substitute of
        what stays (nor of the item swapped out). Swapping an anchor offers a variant of it
        (another colour or design); a locked item cannot be swapped."""
        ctx = self._context(bundle, context)
        pos = self.position(bundle, target)
        old = bundle.items[pos]
        if old.locked:
            raise BundleError(f"{old.item.title} is locked; remove it instead, or swap another item")
        keep = [bi for p, bi in enumerate(bundle.items) if p != pos]
        if old.role == "anchor":
            new = self._variant_of(bundle, old, ctx, profile)
        else:
            scores = self._score_for(bundle, ctx, profile)
            new = self._next_candidate(bundle, scores, keep, old, ctx, profile, bundle.budget)
        if new is None:
            limit = f" within {price_text(bundle.budget)}" if bundle.budget is not None else ""
            raise BundleError(f"I have nothing else to offer instead of {old.item.title}{limit}; "
                              "you could remove it instead")
        if profile is not None:
            profile.observe("rejected", old.item.item_id)
        items = [*keep[:pos], new, *keep[pos:]]
        return self._finish(bundle, items, ctx.seen(old.item.item_id), budget=bundle.budget)

    def remove(self, bundle: Bundle, target: str, *, context: BundleContext | None = None,
               profile: Profile | None = None) -> Bundle:
        """Drop one item (anchors and locked items too: the shopper said so)."""
        ctx = self._context(bundle, context)
        pos = self.position(bundle, target)
        old = bundle.items[pos]
        if profile is not None:
            profile.observe("rejected", old.item.item_id)
        items = [bi for p, bi in enumerate(bundle.items) if p != pos]
        return self._finish(bundle, items, ctx.seen(old.item.item_id), budget=bundle.budget)

    def add(self, bundle: Bundle, mentions: Sequence[str] = (), need: str | None = None, *,
            context: BundleContext | None = None, profile: Profile | None = None) -> Bundle:
        """Add named items (as anchors: the shopper asked for them) or the best item for a
        need. Under a budget, named items may push lower-scored complements out; when the
        named items alone break the budget, BundleError says so."""
        ctx = self._context(bundle, context)
        if isinstance(mentions, str):
            mentions = [mentions]
        if not mentions and not (need and need.strip()):
            raise BundleError("tell me what to add: an item or what it is for")
        present = set(bundle.item_ids)
        if mentions:
            found, missing = self._resolve_items(mentions)
            if missing:
                raise NoMatchError(f"I couldn't find {', '.join(repr(m) for m in missing)} in the "
                                   "shop")
            unique = {it.item_id: it for it in found}  # Items are unhashable (attributes dict)
            new_items = [it for i, it in unique.items() if i not in present]
            if not new_items:
                raise BundleError("that is already in the bundle")
            added = [BundleItem(it, (ANCHOR_EVIDENCE,), role="anchor") for it in new_items]
        else:
            assert need is not None
            failure = self._need_no_match(need, ctx)
            if failure is not None:
                raise failure
            scores = self._score_for(bundle, ctx, profile, need=need)
            relevant = scores.parts["text"] + scores.parts.get("need_cf", 0.0)
            scores.total = scores.total * (relevant > 0)  # for this need, not just the anchors
            pick = self._next_candidate(bundle, scores, list(bundle.items), None, ctx, profile,
                                        bundle.budget)
            if pick is None:
                raise BundleError(f"nothing more for \u201c{need}\u201d fits this bundle")
            added = [pick]
        size = len(bundle.items) + len(added)
        if size > MAX_BUNDLE_SIZE:
            raise BundleError(f"a bundle holds at most {MAX_BUNDLE_SIZE} items; remove one first")
        items = [*bundle.items, *added]
        total = sum(bi.item.price or 0.0 for bi in items)
        if bundle.budget is not None and total > bundle.budget + 1e-9:
            fixed = [*self._fixed(bundle), *added]
            fixed_cost = sum(bi.item.price or 0.0 for bi in fixed)
            if fixed_cost > bundle.budget + 1e-9:
                raise BundleError(
                    f"adding {', '.join(bi.item.title for bi in added)} takes the items you chose to "
                    f"{price_text(round(fixed_cost, 2))}, over your {price_text(bundle.budget)} "
                    "budget; raise the budget or remove something")
            rebuilt = self._rebuild(bundle, context=ctx, profile=profile, budget=bundle.budget,
                                    size=size, fixed=fixed, keep=bundle.item_ids)
            items = rebuilt if rebuilt is not None else fixed
        return self._finish(bundle, items, ctx, budget=bundle.budget)

    def lock(self, bundle: Bundle, target: str, *, context: BundleContext | None = None) -> Bundle:
        """Keep one item through later edits (cheaper, swap, more like, budget)."""
        ctx = self._context(bundle, context)
        pos = self.position(bundle, target)
        items = list(bundle.items)
        items[pos] = dataclasses.replace(items[pos], locked=True)
        return self._finish(bundle, items, ctx, budget=bundle.budget)

    def more_like(self, bundle: Bundle, target: str, *, context: BundleContext | None = None,
                  profile: Profile | None = None) -> Bundle:
        """Keep the target (and anchors and locked items); replace the others with the items
        most like the target, similar ones allowed, within the budget."""
        ctx = self._context(bundle, context)
        pos = self.position(bundle, target)
        keep_item = bundle.items[pos]
        fixed = [bi for p, bi in enumerate(bundle.items) if p == pos or bi.role == "anchor" or bi.locked]
        size = max(len(bundle.items), len(fixed) + 1)
        items = self._rebuild(bundle, context=dataclasses.replace(ctx, allow_similar=True),
                              profile=profile, budget=bundle.budget, size=size, fixed=fixed,
                              seed_item=pos)
        if items is None or len(items) <= len(fixed):
            raise BundleError(f"I found nothing more like {keep_item.item.title}"
                              + (f" within {price_text(bundle.budget)}" if bundle.budget else ""))
        return self._finish(bundle, items, ctx, budget=bundle.budget)

    def set_budget(self, bundle: Bundle, budget: float, *, context: BundleContext | None = None,
                   profile: Profile | None = None) -> Bundle:
        """Re-choose the complements for a new budget (a hard limit on the total)."""
        ctx = self._context(bundle, context)
        if not (budget > 0 and math.isfinite(budget)):
            raise BundleError(f"a budget must be a positive amount, got {budget}")
        fixed = self._fixed(bundle)
        fixed_cost = round(sum(bi.item.price or 0.0 for bi in fixed), 2)
        if fixed_cost > budget:
            raise BundleError(f"the items you asked for or locked already cost "
                              f"{price_text(fixed_cost)}, over {price_text(budget)}")
        items = self._rebuild(bundle, context=ctx, profile=profile, budget=budget,
                              size=len(bundle.items), fixed=fixed, keep=bundle.item_ids)
        return self._finish(bundle, items if items is not None else fixed, ctx, budget=budget)

    # -- helpers -------------------------------------------------------------------------
    def _similar_position(self, text: str, bundle: Bundle, positions: list[int]
                          ) -> tuple[int, float] | None:
        if not positions:
            return None
        rows = self.catalog.indices([bundle.items[p].item.item_id for p in positions], strict=False)
        if len(rows) != len(positions):
            return None
        sims = self.embeddings[rows] @ self.content.text_vector(text)
        best = int(np.argmax(sims))
        if sims[best] < self.config.target_threshold:
            return None
        return positions[best], float(sims[best])

    def _score_for(self, bundle: Bundle, context: BundleContext, profile: Profile | None,
                   need: str | None = None) -> _Scores:
        need = need or bundle.need
        fixed = [bi.item.item_id for bi in self._fixed(bundle)]
        if not need:
            return self._score(fixed, None, None, context.user_id, profile)
        _, _, sims, wants = self._need_wants(need)  # the need scored as the bundle was composed
        return self._score(fixed, need, sims, context.user_id, profile, wants=wants)

    def _rebuild(self, bundle: Bundle, *, context: BundleContext, profile: Profile | None,
                 budget: float | None, size: int, fixed: Sequence[BundleItem],
                 keep: Iterable[str] = (), seed_item: int | None = None) -> list[BundleItem] | None:
        if seed_item is None:
            scores = self._score_for(bundle, context, profile)
            cap = None
        else:
            target = self.catalog.index_of[bundle.items[seed_item].item.item_id]
            scores = self._score([bi.item.item_id for bi in fixed], None, None, context.user_id,
                                 profile, similar_to=target)
            cap = MAX_BUNDLE_SIZE
        return self._choose(fixed, scores, context, profile, budget, size, keep=keep,
                            allow_similar=context.allow_similar, cap=cap)

    def _next_candidate(self, bundle: Bundle, scores: _Scores, keep: Sequence[BundleItem],
                        removed: BundleItem | None, context: BundleContext,
                        profile: Profile | None, budget: float | None) -> BundleItem | None:
        banned = self._banned(context, profile) | set(bundle.item_ids) | set(context.shown)
        banned.update(self.catalog.items[i].item_id for t in bundle.diff.removed
                      for i in self._by_title.get(" ".join(tokens(t)), []))
        refs = self.catalog.indices([bi.item.item_id for bi in keep], strict=False)
        gone = self.catalog.index_of.get(removed.item.item_id) if removed is not None else None
        room = None if budget is None else budget - sum(bi.item.price or 0.0 for bi in keep)
        used = Counter(bi.item.category for bi in keep if bi.item.category)
        for i in self._ranked(scores):
            i = int(i)
            item = self.catalog.items[i]
            if item.item_id in banned or self._term_excluded(i, context):
                continue
            if room is not None and (item.price is None or item.price > room + 1e-9):
                continue
            if item.category and used[item.category] >= self.config.max_per_category:
                continue
            if gone is not None and self.substitutes.pair(i, gone):
                continue
            if self.substitutes.conflicts(i, refs, context.allow_similar):
                continue
            return BundleItem(item, self._reasons(scores, i, profile), role="complement",
                              score=round(float(scores.total[i]), 4))
        return None

    def _variant_of(self, bundle: Bundle, anchor: BundleItem, context: BundleContext,
                    profile: Profile | None) -> BundleItem | None:
        pos = self.catalog.index_of[anchor.item.item_id]
        banned = self._banned(context, profile) | set(bundle.item_ids) | set(context.shown)
        others = self.catalog.indices([bi.item.item_id for bi in bundle.items
                                       if bi.item.item_id != anchor.item.item_id], strict=False)
        room = None if bundle.budget is None else (
            bundle.budget - bundle.total + (anchor.item.price or 0.0))
        for i, sim in self.content.similar_to_item(pos, k=200):
            item = self.catalog.items[i]
            if item.item_id in banned or self._term_excluded(i, context):
                continue
            if room is not None and (item.price is None or item.price > room + 1e-9):
                continue
            if not self.substitutes.pair(i, pos) or self.substitutes.conflicts(i, others):
                continue
            return BundleItem(item, (seed_evidence(anchor.item.title, sim), ANCHOR_EVIDENCE),
                              role="anchor")
        return None

    def _resolve_items(self, mentions: Sequence[str]) -> tuple[list[Item], list[str]]:
        found, missing = [], []
        for match in self.resolve(mentions):
            if match.item is None:
                missing.append(match.mention)
            else:
                found.append(match.item)
        return found, missing

    def _need_no_match(self, need: str, context: BundleContext) -> NoMatchError | None:
        matched, best, sims = self.need_match(need)
        if matched:
            return None
        near = self._nearest(sims, self.catalog.indices(context.exclude_ids, strict=False))
        return NoMatchError(f"the shop has nothing close to \u201c{need}\u201d", near, round(best, 4))
