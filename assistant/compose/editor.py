"""Edits of a composed bundle: cheaper, swap, remove, add, lock, more like this, set budget.

`BundleEditor(composer)` changes a bundle the shopper already sees, through the
`BundleComposer`'s public steps only (scores, exact selection, evidence, the remembered
context). Every edit returns a new `Bundle` whose `diff` says what was added and removed
and what the total was before. Anchors (what the shopper named) and locked items survive
cheaper, swap, more-like and budget changes; only an explicit `remove` drops them.

What an edit must remember from the original request (excluded ids and words such as
"no candles", the user, "more like this") travels in a `BundleContext`. The composer
remembers the context of every bundle it or an editor produced while that bundle object
is alive, so in-process callers may omit it; callers that persist bundles (JSON, SQLite)
pass it back. The editor holds no state of its own: any number may share one composer.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from assistant.compose.composer import BundleComposer
from assistant.compose.context import ANCHOR_EVIDENCE, BundleContext, bundle_diff
from assistant.compose.errors import AlreadyInBundle, BundleError, NoMatchError, price_text
from assistant.compose.kind_planner import role_for_need
from assistant.compose.profiles import Profile
from assistant.compose.scoring import Scores
from assistant.compose.targets import resolve_target
from assistant.records import MAX_BUNDLE_SIZE, Bundle, BundleItem
from assistant.understand.words import content_stems, mentions_all, stem_set
from retrieval.content import seed_evidence
from retrieval.records import Item

# Words of an "add" that ask for more without saying what ("one more thing", "something else").
_MORE_OF_THE_SAME = frozenset({"more", "thing", "another", "else", "extra", "one", "something", "anything",
                               "bit", "other", "item", "idea", "just"})


class BundleEditor:
    """Edit operations on bundles of one `BundleComposer`. Thread-safe as the composer is."""

    def __init__(self, composer: BundleComposer) -> None:
        self.composer = composer
        self.catalog = composer.catalog
        self.config = composer.config
        self.substitutes = composer.substitutes

    def position(self, bundle: Bundle, target: str) -> int:
        """The 0-based position `target` names ("2", "the candles", or a paraphrase close
        enough to one title by embedding); raises TargetNotFoundError."""
        return resolve_target(bundle, target,
                              lambda text, positions: self._similar_position(text, bundle, positions))

    def _finish(self, before: Bundle, items: Sequence[BundleItem], context: BundleContext, *,
                budget: float | None) -> Bundle:
        bundle = Bundle(items=tuple(items), need=before.need, budget=budget,
                        diff=bundle_diff(before, items), tier=before.tier)
        shown = [bi.item.item_id for bi in items]
        return self.composer.remember(bundle, context.seen(*shown))

    @staticmethod
    def _fixed(bundle: Bundle) -> list[BundleItem]:
        return [bi for bi in bundle.items if bi.role == "anchor" or bi.locked]

    def _context(self, bundle: Bundle, context: BundleContext | None) -> BundleContext:
        """The caller's context (a persisted bundle's), or the one the composer remembers;
        what either has shown counts as shown."""
        remembered = self.composer.context_of(bundle)
        if context is None:
            return remembered
        return dataclasses.replace(context, shown=context.shown | remembered.shown)

    def cheaper(self, bundle: Bundle, budget: float | None = None, *,
                context: BundleContext | None = None, profile: Profile | None = None) -> Bundle:
        """The same idea for less: total <= `budget`, or <= `cheaper_ratio` x the current
        total by default; anchors and locked items stay, the rest is re-chosen exactly."""
        ctx = self._context(bundle, context)
        current = bundle.total
        fixed = self._fixed(bundle)
        fixed_cost = round(sum(bi.cost for bi in fixed), 2)
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
        refilled = self._refill_kinds(bundle, ctx, profile, target, fixed)
        items = refilled if refilled is not None else self._rebuild(
            bundle, context=ctx, profile=profile, budget=target, size=len(bundle.items), fixed=fixed,
            keep=[bi.item.item_id for bi in bundle.items])
        if items is None or round(sum(bi.cost for bi in items), 2) >= current:
            raise BundleError(f"nothing cheaper fits: every alternative costs more than "
                              f"{price_text(target)}")
        return self._finish(bundle, items, ctx, budget=target)

    def swap(self, bundle: Bundle, target: str, *, wanted: Sequence[str] = (), context: BundleContext | None = None,
             profile: Profile | None = None) -> Bundle:
        """Replace one item: by the thing the shopper `wanted` in its place ("gloves rather
        than the trowel"), else by the best candidate not shown before that is no substitute
        of what stays (nor of the item swapped out). Swapping an anchor offers a variant of it
        (another colour or design); a locked item cannot be swapped."""
        ctx = self._context(bundle, context)
        pos = self.position(bundle, target)
        old = bundle.items[pos]
        if old.locked:
            raise BundleError(f"{old.item.title} is locked; remove it instead, or swap another item")
        keep = [bi for p, bi in enumerate(bundle.items) if p != pos]
        # "swap the mug for a different mug": a mention of the item going out is no new thing
        wanted = [m for m in wanted if not mentions_all(stem_set(old.item.title), content_stems(m))]
        if wanted:
            new: BundleItem | None = self._wanted_instead(bundle, old, wanted)
        elif old.role == "anchor":
            new = self._variant_of(bundle, old, ctx, profile)
        elif ctx.plan_text is not None and old.reasons[:1] and old.reasons[0].kind == "role":
            new = self._same_kind(bundle, old, ctx, profile)  # another teapot, not "a close match"
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
                raise AlreadyInBundle([it.title for it in unique.values()])
            added = [BundleItem(it, (ANCHOR_EVIDENCE,), role="anchor") for it in new_items]
        else:
            assert need is not None
            if bundle.need and set(content_stems(need)) <= _MORE_OF_THE_SAME:
                need = bundle.need  # "add one more thing": more for the bundle's own need
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
        total = sum(bi.cost for bi in items)
        if bundle.budget is not None and total > bundle.budget + 1e-9:
            fixed = [*self._fixed(bundle), *added]
            fixed_cost = sum(bi.cost for bi in fixed)
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
        fixed_cost = round(sum(bi.cost for bi in fixed), 2)
        if fixed_cost > budget:
            raise BundleError(f"the items you asked for or locked already cost "
                              f"{price_text(fixed_cost)}, over {price_text(budget)}")
        items = self._refill_kinds(bundle, ctx, profile, budget, fixed)
        if items is None:
            items = self._rebuild(bundle, context=ctx, profile=profile, budget=budget,
                                  size=len(bundle.items), fixed=fixed, keep=bundle.item_ids)
        return self._finish(bundle, items if items is not None else fixed, ctx, budget=budget)

    def _same_kind(self, bundle: Bundle, old: BundleItem, ctx: BundleContext,
                   profile: Profile | None) -> BundleItem | None:
        """The best other item of the swapped item's kind (a bundle filled kind by kind):
        not shown before, allowed, and within what the budget leaves."""
        plan = self.composer.kinds_for(ctx.plan_text or "", bundle.need)
        kind = next((k for k in plan.kinds if old.reasons[0].text.startswith(role_for_need(k))), None)
        if kind is None:
            return None
        banned = ctx.banned(profile) | set(bundle.item_ids) | ctx.shown
        items = self.catalog.items

        def allowed(row: int) -> bool:
            return items[row].item_id not in banned and not self.composer.term_excluded(row, ctx)

        room = None if bundle.budget is None else round(bundle.budget - (bundle.total - old.cost), 2)
        return self.composer.planner.alternative(kind, bundle.need or "", ctx.guests, allowed, room,
                                                 ctx.item_cap, style_words=plan.style_words,
                                                 foreign_marks=plan.foreign_marks, colours=plan.colours,
                                                 tables=plan.tables)

    def _refill_kinds(self, bundle: Bundle, ctx: BundleContext, profile: Profile | None, budget: float,
                      fixed: Sequence[BundleItem]) -> list[BundleItem] | None:
        """A bundle filled kind by kind, re-filled for a new budget: the same kinds and
        quantities from cheaper picks. None when the bundle was not such a bundle, or the
        shopper fixed items in it (then the complements are re-chosen as usual)."""
        if ctx.plan_text is None or fixed or bundle.need is None:
            return None
        composition = self.composer.compose(
            need=bundle.need, budget=budget, exclude_ids=ctx.exclude_ids, exclude_terms=ctx.exclude_terms,
            size=len(bundle.items), user_id=ctx.user_id, profile=profile, guests=ctx.guests,
            item_cap=ctx.item_cap, request_text=ctx.plan_text)
        refilled = composition.bundle
        if refilled is None or not any(r.kind == "role" for bi in refilled.items for r in bi.reasons[:1]):
            return None
        return list(refilled.items)

    # -- helpers -------------------------------------------------------------------------
    def _similar_position(self, text: str, bundle: Bundle, positions: list[int]
                          ) -> tuple[int, float] | None:
        if not positions:
            return None
        rows = self.catalog.indices([bundle.items[p].item.item_id for p in positions], strict=False)
        if len(rows) != len(positions):
            return None
        # the bundle's own few rows, scored exactly: no catalog scan, so no vector search
        sims = self.composer.embeddings[rows] @ self.composer.content.text_vector(text)
        best = int(np.argmax(sims))
        if sims[best] < self.config.target_threshold:
            return None
        return positions[best], float(sims[best])

    def _score_for(self, bundle: Bundle, context: BundleContext, profile: Profile | None,
                   need: str | None = None) -> Scores:
        need = need or bundle.need
        fixed = [bi.item.item_id for bi in self._fixed(bundle)]
        if not need:
            return self.composer.score(fixed, None, None, context.user_id, profile)
        _, _, sims, wants = self.composer.need_wants(need)  # scored as the bundle was composed
        return self.composer.score(fixed, need, sims, context.user_id, profile, wants=wants)

    def _rebuild(self, bundle: Bundle, *, context: BundleContext, profile: Profile | None,
                 budget: float | None, size: int, fixed: Sequence[BundleItem],
                 keep: Iterable[str] = (), seed_item: int | None = None) -> list[BundleItem] | None:
        if seed_item is None:
            scores = self._score_for(bundle, context, profile)
            cap = None
        else:
            target = self.catalog.index_of[bundle.items[seed_item].item.item_id]
            scores = self.composer.score([bi.item.item_id for bi in fixed], None, None,
                                         context.user_id, profile, similar_to=target)
            cap = MAX_BUNDLE_SIZE
        return self.composer.choose(fixed, scores, context, profile, budget, size, keep=keep,
                                    allow_similar=context.allow_similar, cap=cap)

    def _next_candidate(self, bundle: Bundle, scores: Scores, keep: Sequence[BundleItem],
                        removed: BundleItem | None, context: BundleContext,
                        profile: Profile | None, budget: float | None) -> BundleItem | None:
        banned = context.banned(profile) | set(bundle.item_ids) | set(context.shown)
        banned.update(self.catalog.items[i].item_id for t in bundle.diff.removed
                      for i in self.composer.items_titled(t))
        refs = self.catalog.indices([bi.item.item_id for bi in keep], strict=False)
        gone = self.catalog.index_of.get(removed.item.item_id) if removed is not None else None
        room = None if budget is None else budget - sum(bi.cost for bi in keep)
        used = Counter(bi.item.category for bi in keep if bi.item.category)
        for i in scores.ranked():
            i = int(i)
            item = self.catalog.items[i]
            if item.item_id in banned or self.composer.term_excluded(i, context):
                continue
            if room is not None and (item.price is None or item.price > room + 1e-9):
                continue
            if item.category and used[item.category] >= self.config.max_per_category:
                continue
            if gone is not None and self.substitutes.pair(i, gone):
                continue
            if self.substitutes.conflicts(i, refs, context.allow_similar):
                continue
            return BundleItem(item, self.composer.reasons(scores, i, profile), role="complement",
                              score=round(float(scores.total[i]), 4))
        return None

    def _variant_of(self, bundle: Bundle, anchor: BundleItem, context: BundleContext,
                    profile: Profile | None) -> BundleItem | None:
        pos = self.catalog.index_of[anchor.item.item_id]
        banned = context.banned(profile) | set(bundle.item_ids) | set(context.shown)
        others = self.catalog.indices([bi.item.item_id for bi in bundle.items
                                       if bi.item.item_id != anchor.item.item_id], strict=False)
        # a companion design of the anchor's line already beside it leaves the line open
        line = [j for j in others if self.substitutes.pair(j, pos)]
        rest = [j for j in others if j not in line]
        room = None if bundle.budget is None else (
            bundle.budget - bundle.total + anchor.cost)
        for i, sim in self.composer.content.similar_to_item(pos, k=200):
            item = self.catalog.items[i]
            if item.item_id in banned or self.composer.term_excluded(i, context):
                continue
            if room is not None and (item.price is None or item.price > room + 1e-9):
                continue
            if not self.substitutes.pair(i, pos) or self.substitutes.conflicts(i, rest) \
                    or self.substitutes.conflicts(i, line, True):
                continue
            return BundleItem(item, (seed_evidence(anchor.item.title, sim), ANCHOR_EVIDENCE),
                              role="anchor")
        return None

    def _wanted_instead(self, bundle: Bundle, old: BundleItem, wanted: Sequence[str]) -> BundleItem:
        """The item the shopper named to go in `old`'s place (an anchor: they asked for it)."""
        found, missing = self._resolve_items(list(wanted)[:1])
        if missing:
            raise NoMatchError(f"I couldn't find {missing[0]!r} in the shop")
        if found[0].item_id in bundle.item_ids:
            raise BundleError(f"{found[0].title} is already in the bundle")
        return BundleItem(found[0], (ANCHOR_EVIDENCE,), role="anchor")

    def _resolve_items(self, mentions: Sequence[str]) -> tuple[list[Item], list[str]]:
        found, missing = [], []
        for match in self.composer.resolve(mentions):
            if match.item is None:
                missing.append(match.mention)
            else:
                found.append(match.item)
        return found, missing

    def _need_no_match(self, need: str, context: BundleContext) -> NoMatchError | None:
        matched, best, sims = self.composer.need_match(need)
        if matched:
            return None
        near = self.composer.nearest(sims, self.catalog.indices(context.exclude_ids, strict=False))
        return NoMatchError(f"the shop has nothing close to \u201c{need}\u201d", near, round(best, 4))
