"""Bundle composition: the shopper's words -> catalog items -> a complementary, diverse bundle
whose budget is met exactly.

`BundleComposer(index)` turns mentions into items (`resolve`) and composes bundles
(`compose`, `tiers`). Edits of a bundle the shopper already sees (cheaper, swap, remove, add,
lock, more like this, set budget) are `assistant.compose.editor.BundleEditor`'s, built on
the public steps below (`score`, `choose`, `reasons`, `remember`, `context_of`, ...).
Candidates come from the index's blended collaborative-filtering sources (seeded by the
anchors, locked items and the shopper's cart/likes) and from content similarity to the
need text (`assistant.compose.scoring`); words are matched to items by
`assistant.compose.matching` (its text search: `ComposerConfig.vector_search`). No language model.

Rules every bundle obeys:
  * anchors (items the shopper named) are in the bundle, role "anchor", and count towards
    the size and the total: the shopper buys them too;
  * no substitutes of an anchor, of a cart item or of each other (same product in another
    colour, size or design; see `Substitutes`) unless `allow_similar` ("more like this"),
    but for one design the shop's baskets show bought with it (`CompanionDesigns`);
  * at most `max_per_category` items per category, anchors included;
  * excluded ids, rejected items and items whose title matches an excluded word never enter;
  * under a budget the total is <= budget, solved exactly (`best_subset`): the largest
    feasible number of items up to `size`, then the highest total score. Unpriced items
    cannot enter a budgeted bundle.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from assistant.compose.config import ComposerConfig, Composition, Match
from assistant.compose.context import ANCHOR_EVIDENCE, LOCKED_EVIDENCE, BundleContext
from assistant.compose.errors import BundleError, NoMatchError, price_text
from assistant.compose.kind_planner import KindPlanner, KindRequest
from assistant.compose.matching import CatalogMatcher
from assistant.compose.need_kinds import KindPlan, guests_first, kinds_for_request
from assistant.compose.needs_book import NeedsBook
from assistant.compose.profiles import Profile
from assistant.compose.request_parts import gist
from assistant.compose.scoring import Scorer, Scores
from assistant.compose.selection import best_subset
from assistant.compose.substitutes import CompanionDesigns, Substitutes
from assistant.records import MAX_BUNDLE_SIZE, Bundle, BundleItem
from retrieval.content import ContentSource
from retrieval.records import Evidence, Item
from retrieval.shop_index import ShopIndex

__all__ = ["BundleComposer", "ComposerConfig", "Composition", "Match"]

TIERS = ("good", "better", "best")


class BundleComposer:
    """Composes bundles over one loaded `ShopIndex`. Thread-safe for reads; deterministic
    (same inputs, same bundle)."""

    def __init__(self, index: ShopIndex, config: ComposerConfig | None = None, *,
                 needs: NeedsBook | None = None) -> None:
        """`needs`: the shop's needs book (occasions, persons, themes -> kinds of things);
        without one, every need is matched by its words against item texts."""
        self.index = index
        self.needs = needs
        self.config = config or ComposerConfig()
        self.catalog = index.catalog
        content = index.sources.get("content")
        if not isinstance(content, ContentSource):
            content = ContentSource(np.load(index.folder / "embeddings.npy"), embedder=index.embedder)
            content.fit_catalog(index.catalog)
        self.content = content
        self.embeddings = content.embeddings
        self._prices = self.catalog.prices
        self._categories = self.catalog.categories
        self.matcher = CatalogMatcher(self.catalog, content, self.config, store=index.vector_store)
        self.scorer = Scorer(index, self.catalog, self.embeddings, self.config)
        self.substitutes = Substitutes(self.catalog, self.embeddings, self.config)
        self.companions = CompanionDesigns(index.sources.get("rules"), self.substitutes, self.config)
        self.planner = KindPlanner(self.catalog, self.embeddings, content.text_vector, index.blend,
                                   index.sources.get("popularity"))
        self._memory: dict[int, tuple[weakref.ref[Bundle], BundleContext]] = {}
        self._lock = threading.Lock()

    # -- words -> items (see CatalogMatcher) ----------------------------------------------
    def resolve(self, mentions: Sequence[str]) -> list[Match]:
        """Each mention as an item, or unresolved with the nearest items (`CatalogMatcher.resolve`)."""
        return self.matcher.resolve(mentions)

    def need_match(self, need: str) -> tuple[bool, float, np.ndarray]:
        """(does the shop have something for this need, best cosine, cosine per item); a need
        of several wants is matched part by part (`CatalogMatcher.need_match`); a need the
        needs book fills kind by kind ("a cat lover") is served whatever its words match."""
        ok, best, sims = self.matcher.need_match(need)
        return ok or len(self.kinds_for(need, need).kinds) >= 2, best, sims

    def need_wants(self, need: str) -> tuple[bool, float, np.ndarray, list[np.ndarray]]:
        """need_match, plus each served want's own cosines ([] when the need is one want)."""
        return self.matcher.need_wants(need)

    def nearest(self, sims: np.ndarray, exclude: Iterable[int] = ()) -> tuple[Item, ...]:
        """The items most like `sims` (cosine per item), rows in `exclude` left out: the
        alternatives offered when nothing matches."""
        return self.matcher.nearest(sims, exclude)

    def items_titled(self, title: str) -> list[int]:
        """Rows of the catalog items with exactly this title."""
        return self.matcher.items_titled(title)

    def term_excluded(self, i: int, context: BundleContext) -> bool:
        """Does one of the context's excluded words rule out item row i by its title?"""
        return self.matcher.term_excluded(i, context.exclude_terms)

    # -- scores (see Scorer) --------------------------------------------------------------
    def score(self, fixed_ids: Sequence[str], need: str | None, sims: np.ndarray | None,
              user_id: str | None, profile: Profile | None,
              similar_to: int | None = None, wants: Sequence[np.ndarray] = ()) -> Scores:
        """Candidate scores for complements of `fixed_ids` (`Scorer.score`): `sims` and
        `wants` as `need_wants` returns them; `similar_to` (a row) for "more like this"."""
        return self.scorer.score(fixed_ids, need, sims, user_id, profile, similar_to, wants)

    def reasons(self, scores: Scores, i: int, profile: Profile | None) -> tuple[Evidence, ...]:
        """Why item row i was picked: its evidence, strongest first."""
        return self.scorer.reasons_for(scores, [i], profile)[i]

    # -- composing ------------------------------------------------------------------------
    def compose(self, anchors: Sequence[str] = (), need: str | None = None,
                budget: float | None = None, *, exclude_ids: Iterable[str] = (),
                exclude_terms: Iterable[str] = (), size: int | None = None,
                user_id: str | None = None, profile: Profile | None = None,
                locked: Sequence[str] = (), allow_similar: bool = False, guests: int | None = None,
                item_cap: float | None = None, cheapest: bool = False,
                request_text: str | None = None) -> Composition:
        """A bundle for anchor item ids and/or a need, within a budget (hard).

        Anchors are included (role "anchor") and count towards `size` and the total, since
        the shopper buys them. `size` defaults to `config.size` (at least one more than the
        anchors and locked items). Unknown ids come back in `unresolved`.

        A need the needs book knows (an occasion, a person, a theme; matched on
        `request_text`, the shopper's words, when given) is filled kind by kind
        (`KindPlanner`): `guests` sets quantities of per-guest kinds, a budget is a target,
        `cheapest` asks for the cheapest sensible bundle. `item_cap` bounds every unit price.
        """
        if need and need.strip() and not anchors and not locked and self.needs is not None:
            by_kinds = self._compose_by_kinds(need.strip(), request_text, budget, exclude_ids, exclude_terms,
                                              size, user_id, profile, guests, item_cap, cheapest)
            if by_kinds is not None:
                return by_kinds
        plan = self._plan(anchors, need, budget, exclude_ids, exclude_terms, size, user_id,
                          profile, locked, allow_similar)
        if isinstance(plan, Composition):
            return plan
        fixed, scores, size_total, ctx, extra = plan
        ctx = dataclasses.replace(ctx, item_cap=item_cap) if item_cap is not None else ctx
        items = self.choose(fixed, scores, ctx, profile, budget, size_total,
                            allow_similar=allow_similar)
        assert items is not None  # _plan checked the budget against the fixed items
        bundle = self.remember(Bundle(tuple(items), need=scores.need, budget=budget),
                                ctx.seen(*(bi.item.item_id for bi in items)))
        return Composition(bundle, context=self.context_of(bundle), **extra)

    def kinds_for(self, text: str, need: str | None = None, guests: int | None = None) -> KindPlan:
        """The kinds this shop can fill for what the shopper said, the needs' style words and
        the leading kinds it lacks (`need_kinds.kinds_for_request`); empty without a book."""
        if self.needs is None:
            return KindPlan()
        return kinds_for_request(self.needs, self.planner, self.matcher, self.index.embedder.encode,
                                 text, need, self.config.size, guests)

    def _compose_by_kinds(self, need: str, request_text: str | None, budget: float | None,
                          exclude_ids: Iterable[str], exclude_terms: Iterable[str], size: int | None,
                          user_id: str | None, profile: Profile | None, guests: int | None,
                          item_cap: float | None, cheapest: bool) -> Composition | None:
        if budget is not None and not (budget > 0 and math.isfinite(budget)):
            raise BundleError(f"a budget must be a positive amount, got {budget}")
        if len((plan := self.kinds_for(request_text or need, need, guests)).kinds) < 2:
            return None
        user_id = user_id if user_id is not None else (profile.user_id if profile else None)
        ctx = BundleContext(frozenset(exclude_ids), tuple(t for t in exclude_terms if t.strip()),
                            user_id, False, item_cap=item_cap, plan_text=request_text or need, guests=guests)
        banned, items_of = ctx.banned(profile), self.catalog.items

        def allowed(row: int) -> bool:
            return items_of[row].item_id not in banned and not self.term_excluded(row, ctx)

        wanted = self.config.size if size is None else max(int(size), 1)
        # kinds' items are ranked against the whole request ("a bowl" for a new kitten: a cat bowl)
        request = KindRequest(guests_first(plan.kinds, guests), (gist(request_text) if request_text else "") or need,
                              min(wanted, MAX_BUNDLE_SIZE), budget, guests, item_cap, cheapest, plan.style_words,
                              profile.seed_items() if profile else (), user_id, plan.foreign_marks, plan.colours,
                              plan.tables)
        if (chosen := self.planner.plan(request, allowed)) is None:
            return None
        bundle = self.remember(Bundle(tuple(chosen), need=need, budget=budget),
                               ctx.seen(*(bi.item.item_id for bi in chosen)))
        return Composition(bundle, context=self.context_of(bundle), lacking=plan.lacking)

    def tiers(self, anchors: Sequence[str] = (), need: str | None = None,
              budget: float | None = None, *, exclude_ids: Iterable[str] = (),
              exclude_terms: Iterable[str] = (), size: int | None = None,
              user_id: str | None = None, profile: Profile | None = None,
              locked: Sequence[str] = ()) -> dict[str, Bundle]:
        """Good / better / best bundles at three price levels, totals non-decreasing.

        The reference R is the budget left after anchors (or, without a budget, the price of
        the complements of the best unbudgeted bundle); tier t may spend
        `tier_budget_multipliers[t]` x R (never above the budget) and scores items as
        score + tilt_t x price / median pool price, with increasing tilts. Each selection is
        exact, which makes the totals ordered. Raises NoMatchError/BundleError when no bundle.
        """
        plan = self._plan(anchors, need, budget, exclude_ids, exclude_terms, size, user_id,
                          profile, locked, False)
        if isinstance(plan, Composition):
            if plan.no_match or plan.bundle is None:
                raise NoMatchError("; ".join(plan.notes) or "nothing to build tiers from",
                                   plan.alternatives, plan.best_similarity)
            raise BundleError("; ".join(plan.notes))
        fixed, scores, size_total, ctx, _ = plan
        fixed_cost = sum(bi.cost for bi in fixed)
        pool = self._pool(scores, fixed, ctx, profile, budgeted=True, allow_similar=False)
        if budget is not None:
            reference = budget - fixed_cost
        else:
            base = self.choose(fixed, scores, ctx, profile, None, size_total, pool=pool) or fixed
            reference = sum(bi.cost for bi in base) - fixed_cost
        prices = self._prices[pool] if pool else np.zeros(0)
        unit = float(np.median(prices)) if len(prices) else 1.0
        out: dict[str, Bundle] = {}
        for name, mult, tilt in zip(TIERS, self.config.tier_budget_multipliers,
                                    self.config.tier_price_tilt, strict=True):
            cap = fixed_cost + mult * max(reference, 0.0)
            cap = math.floor((min(cap, budget) if budget is not None else cap) * 100 + 1e-6) / 100
            utility = scores.total.copy()
            utility[pool] += tilt * self._prices[pool] / max(unit, 0.01)
            items = self.choose(fixed, scores, ctx, profile, cap, size_total, pool=pool,
                                utility=utility) or list(fixed)
            bundle = Bundle(tuple(items), need=scores.need, budget=cap, tier=name)
            out[name] = self.remember(bundle, ctx.seen(*bundle.item_ids))
        return out

    def _plan(self, anchors: Sequence[str], need: str | None, budget: float | None,
              exclude_ids: Iterable[str], exclude_terms: Iterable[str], size: int | None,
              user_id: str | None, profile: Profile | None, locked: Sequence[str],
              allow_similar: bool) -> Composition | tuple:
        if budget is not None and not (budget > 0 and math.isfinite(budget)):
            raise BundleError(f"a budget must be a positive amount, got {budget}")
        if isinstance(anchors, str):
            anchors = [anchors]
        user_id = user_id if user_id is not None else (profile.user_id if profile else None)
        ctx = BundleContext(frozenset(exclude_ids), tuple(t for t in exclude_terms if t.strip()),
                            user_id, allow_similar)
        unresolved = [a for a in dict.fromkeys([*anchors, *locked]) if a not in self.catalog]
        anchor_ids = [a for a in dict.fromkeys(anchors) if a in self.catalog]
        locked_ids = [i for i in dict.fromkeys(locked) if i in self.catalog and i not in anchor_ids]
        get = self.catalog.get
        fixed = [BundleItem(get(a), (ANCHOR_EVIDENCE,), role="anchor", locked=a in locked)
                 for a in anchor_ids]
        fixed += [BundleItem(get(i), (LOCKED_EVIDENCE,), locked=True) for i in locked_ids]
        notes: list[str] = []
        if unresolved:
            notes.append(f"not in the catalog: {', '.join(unresolved)}")
        need_text = need.strip() if need and need.strip() else None
        no_match, best, sims = False, None, None
        wants: list[np.ndarray] = []
        alternatives: tuple[Item, ...] = ()
        if need_text:
            matched, best, sims, wants = self.need_wants(need_text)
            if not matched:
                no_match = True
                alternatives = self.nearest(sims, self.catalog.indices(ctx.exclude_ids, strict=False))
                notes.append(f"the shop has nothing close to \u201c{need_text}\u201d")
                need_text, sims = None, None
        extra: dict[str, Any] = {"no_match": no_match, "alternatives": alternatives,
                                 "best_similarity": None if best is None else round(best, 4),
                                 "unresolved": tuple(unresolved), "notes": tuple(notes)}
        has_seeds = bool(fixed) or bool(profile and profile.seed_items()) or bool(user_id)
        if not fixed and (no_match or not (need_text or has_seeds)):
            if not no_match:
                extra["notes"] = (*notes, "nothing to build a bundle from: name an item or a need")
            return Composition(None, context=ctx, **extra)
        fixed_cost = sum(bi.cost for bi in fixed)
        if budget is not None and fixed_cost > budget + 1e-9:
            extra["notes"] = (*notes, f"the items you asked for cost {price_text(round(fixed_cost, 2))}, "
                                      f"over the {price_text(budget)} budget")
            return Composition(None, over_budget=True, context=ctx, **extra)
        wanted = max(self.config.size, len(fixed) + 1) if size is None else max(int(size), 1)
        size_total = min(wanted, MAX_BUNDLE_SIZE)
        scores = self.score([bi.item.item_id for bi in fixed], need_text, sims, user_id, profile, wants=wants)
        return fixed, scores, size_total, ctx, extra

    def _pool(self, scores: Scores, fixed: Sequence[BundleItem], ctx: BundleContext,
              profile: Profile | None, *, budgeted: bool, allow_similar: bool) -> list[int]:
        """The ranked candidate pool: allowed, priced when budgeted, free of substitutes of the
        fixed items, the cart and each other (best-scored member of each group kept), but for
        a companion design (`CompanionDesigns`)."""
        banned = ctx.banned(profile) | {bi.item.item_id for bi in fixed}
        refs = self.catalog.indices([bi.item.item_id for bi in fixed], strict=False)
        if profile is not None:
            refs += self.catalog.indices(profile.cart, strict=False)
        pool: list[int] = []
        asked = self._asked_for(scores)
        companions = 0
        for i in scores.ranked():
            i = int(i)
            if self.catalog.items[i].item_id in banned or self.term_excluded(i, ctx):
                continue
            if budgeted and not np.isfinite(self._prices[i]):
                continue
            if ctx.item_cap is not None and (not np.isfinite(self._prices[i]) or ctx.over_cap(self._prices[i])):
                continue
            if self.substitutes.conflicts_in_pool(i, refs, pool, asked, allow_similar):
                if companions >= self.config.companion_designs or not self.companions.allowed(i, refs, pool):
                    continue
                companions += 1
            pool.append(i)
            if len(pool) >= self.config.pool_depth:
                break
        return pool

    def _asked_for(self, scores: Scores) -> np.ndarray | None:
        """Per item: does the need's text ask for it (see ComposerConfig.need_variants)."""
        text = scores.parts.get("text")
        cfg = self.config
        if text is None or cfg.need_variants <= 1 or cfg.text_weight <= 0:
            return None
        return text >= cfg.need_variant_text * cfg.text_weight

    def choose(self, fixed: Sequence[BundleItem], scores: Scores, ctx: BundleContext,
               profile: Profile | None, budget: float | None, size: int, *,
               keep: Iterable[str] = (), allow_similar: bool = False, cap: int | None = None,
               pool: list[int] | None = None, utility: np.ndarray | None = None,
               ) -> list[BundleItem] | None:
        """Fixed items + the exact best complements up to `size` items in all; None when the
        fixed items break the budget. `keep` ids get `keep_bonus` (an edit changes little),
        `cap` replaces `max_per_category`, `pool`/`utility` replace the candidate pool and
        the scores the selection maximises."""
        fixed = list(fixed)
        fixed_cost = sum(bi.cost for bi in fixed)
        if budget is not None and fixed_cost > budget + 1e-9:
            return None
        n_free = size - len(fixed)
        if n_free <= 0:
            return fixed
        if pool is None:
            pool = self._pool(scores, fixed, ctx, profile, budgeted=budget is not None,
                              allow_similar=allow_similar)
        values = (scores.total if utility is None else utility)[pool].astype(np.float64)
        keep = set(keep)
        if keep and self.config.keep_bonus:
            values += self.config.keep_bonus * np.array(
                [self.catalog.items[i].item_id in keep for i in pool], dtype=np.float64)
        pennies = None
        if budget is not None:
            pennies = math.floor((budget - fixed_cost) * 100 + 1e-6)
        prices = self._prices[pool]
        # pennies, rounded up so a sub-penny price can never slip past the budget
        costs = np.where(np.isfinite(prices), np.ceil(np.nan_to_num(prices) * 100 - 1e-6), 0
                         ).astype(np.int64)
        cap = self.config.max_per_category if cap is None else cap
        groups = [self._categories[i] or None for i in pool]
        used = Counter(bi.item.category for bi in fixed if bi.item.category)
        caps = {g: max(0, cap - used[g]) for g in set(groups) if g is not None}
        chosen = [pool[p] for p in best_subset(values, costs, groups, n_free, pennies, caps)]
        chosen.sort(key=lambda i: (-scores.total[i], i))
        reasons = self.scorer.reasons_for(scores, chosen, profile)
        return fixed + [BundleItem(self.catalog.items[i], reasons[i], role="complement",
                                   score=round(float(scores.total[i]), 4)) for i in chosen]

    # -- memory of contexts ---------------------------------------------------------------
    def remember(self, bundle: Bundle, context: BundleContext) -> Bundle:
        """Keep `context` for `context_of(bundle)` while the bundle object lives; returns it."""
        key = id(bundle)

        def forget(ref: weakref.ref[Bundle], key: int = key) -> None:
            with self._lock:
                entry = self._memory.get(key)
                if entry is not None and entry[0] is ref:
                    del self._memory[key]

        with self._lock:
            self._memory[key] = (weakref.ref(bundle, forget), context)
        return bundle

    def context_of(self, bundle: Bundle) -> BundleContext:
        """The context remembered for a bundle this composer made (default when unknown)."""
        with self._lock:
            entry = self._memory.get(id(bundle))
        if entry is not None and entry[0]() is bundle:
            return entry[1]
        return BundleContext()
