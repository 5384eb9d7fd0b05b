"""Bundle composition: the shopper's words -> catalog items -> a complementary, diverse bundle
whose budget is met exactly.

`BundleComposer(index)` turns mentions into items (`resolve`), composes bundles
(`compose`, `tiers`) and edits them (`cheaper`, `swap`, `remove`, `add`, `lock`,
`more_like`, `set_budget`, from `assistant.compose.editor`). Candidates come from the index's
blended collaborative-filtering sources (seeded by the anchors, locked items and the
shopper's cart/likes) and from content similarity to the need text; no language model.

Rules every bundle obeys:
  * anchors (items the shopper named) are in the bundle, role "anchor", and count towards
    the size and the total: the shopper buys them too;
  * no substitutes of an anchor, of a cart item or of each other (same product in another
    colour, size or design; see `Substitutes`) unless `allow_similar` ("more like this");
  * at most `max_per_category` items per category, anchors included;
  * excluded ids, rejected items and items whose title matches an excluded word never enter;
  * under a budget the total is <= budget, solved exactly (`best_subset`): the largest
    feasible number of items up to `size`, then the highest total score. Unpriced items
    cannot enter a budgeted bundle.
"""

from __future__ import annotations

import dataclasses
import math
import re
import statistics
import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from assistant.compose.blas_threads import one_blas_thread
from assistant.compose.config import ComposerConfig, Composition, Match
from assistant.compose.editor import (
    ANCHOR_EVIDENCE,
    BundleContext,
    BundleEdits,
    BundleError,
    NoMatchError,
    TargetNotFoundError,
    price_text,
)
from assistant.compose.profiles import Profile
from assistant.compose.selection import best_subset
from assistant.compose.substitutes import Substitutes
from assistant.records import MAX_BUNDLE_SIZE, Bundle, BundleItem
from assistant.understand.need_text import GENERIC_HEADS, need_core, need_head, need_parts
from assistant.understand.words import content_stems, mentions_all, stem, stem_set, tokens
from retrieval.content import ContentSource, seed_evidence, text_evidence
from retrieval.records import Evidence, Item, Query
from retrieval.shop_index import ShopIndex

__all__ = ["BundleComposer", "BundleContext", "BundleError", "ComposerConfig", "Composition",
           "Match", "NoMatchError", "Substitutes", "TargetNotFoundError", "best_subset"]

TIERS = ("good", "better", "best")
LOCKED_EVIDENCE = Evidence("locked", "you kept this")


# -- scores ------------------------------------------------------------------------------
@dataclasses.dataclass
class _Scores:
    """Per-catalog-item candidate scores and the parts that explain them."""

    total: np.ndarray
    parts: dict[str, np.ndarray]
    queries: dict[str, Query]
    need: str | None = None
    text_sims: np.ndarray | None = None
    similar_to: tuple[str, np.ndarray] | None = None


def _normalised(scores: np.ndarray, masked: Sequence[int]) -> np.ndarray:
    out = np.where(np.isfinite(scores) & (scores > 0), scores, 0.0).astype(np.float64)
    out[list(masked)] = 0.0
    top = out.max(initial=0.0)
    return out / top if top > 0 else out


class BundleComposer(BundleEdits):
    """Composes and edits bundles over one loaded `ShopIndex`. Thread-safe for reads;
    deterministic (same inputs, same bundle)."""

    def __init__(self, index: ShopIndex, config: ComposerConfig | None = None) -> None:
        self.index = index
        self.config = config or ComposerConfig()
        self.catalog = index.catalog
        content = index.sources.get("content")
        if not isinstance(content, ContentSource):
            content = ContentSource(np.load(index.folder / "embeddings.npy"), embedder=index.embedder)
            content.fit_catalog(index.catalog)
        self.content = content
        self.embeddings = content.embeddings
        items = self.catalog.items
        self._prices = self.catalog.prices
        self._categories = self.catalog.categories
        self._title_stems = [stem_set(it.title) for it in items]
        vocab: dict[str, list[int]] = defaultdict(list)
        for i, it in enumerate(items):
            for s in self._title_stems[i] | stem_set(f"{it.description} {it.category}"):
                vocab[s].append(i)
        self._vocab = {s: np.array(v, dtype=np.int64) for s, v in vocab.items()}
        self._by_title: dict[str, list[int]] = defaultdict(list)
        for i, it in enumerate(items):
            self._by_title[" ".join(tokens(it.title))].append(i)
        self._id_lower = {it.item_id.lower(): i for i, it in enumerate(items)}
        self.substitutes = Substitutes(self.catalog, self.embeddings, self.config)
        self._memory: dict[int, tuple[weakref.ref[Bundle], BundleContext]] = {}
        self._lock = threading.Lock()

    # -- words -> items -------------------------------------------------------------------
    def resolve(self, mentions: Sequence[str]) -> list[Match]:
        """Each mention as an item: exact id, exact title, all its words in a title (the
        closest such title by embedding), else the nearest item by embedding if its cosine
        >= resolve_threshold; otherwise unresolved, with the nearest items as alternatives."""
        return [self._resolve_one(m) for m in ([mentions] if isinstance(mentions, str) else mentions)]

    def _resolve_one(self, mention: str) -> Match:
        text = (mention or "").strip()
        if not text:
            return Match(mention, None, 0.0, "none")
        items = self.catalog.items
        pos = self.catalog.index_of.get(text, self._id_lower.get(text.lower()))
        if pos is not None:
            return Match(mention, items[pos], 1.0, "id")
        sims = self._text_sims(text)
        words = tokens(text)
        exact = self._by_title.get(" ".join(words)) or self._by_title.get(
            " ".join(words[1:] if words and words[0] in ("the", "a", "an", "my", "that", "this") else words), [])
        if exact:
            return Match(mention, items[min(exact)], 1.0, "title")
        wanted = content_stems(text)
        attempts = [wanted, [w for w in wanted if not re.search(r"\d", w)]]
        attempts += [[*wanted[:k], stem(wanted[k] + wanted[k + 1]), *wanted[k + 2:]]
                     for k in range(len(wanted) - 1)]  # "tea pot" -> "teapot"
        for attempt in attempts:
            if not attempt:
                continue
            sets = [set(self._vocab_titles(w)) for w in attempt]
            hits = sorted(set.intersection(*sets)) if sets else []
            if hits:
                best = max(hits, key=lambda i: (sims[i], -i))
                return Match(mention, items[best], round(float(sims[best]), 4), "words")
        best = int(np.argmax(sims))
        if sims[best] >= self.config.resolve_threshold:
            return Match(mention, items[best], round(float(sims[best]), 4), "similar")
        return Match(mention, None, round(float(sims[best]), 4), "none", self._nearest(sims))

    def _vocab_titles(self, word: str) -> list[int]:
        return [int(i) for i in self._vocab.get(word, ()) if word in self._title_stems[int(i)]]

    def _text_sims(self, text: str) -> np.ndarray:
        return self.embeddings @ self.content.text_vector(text)

    def _nearest(self, sims: np.ndarray, exclude: Iterable[int] = ()) -> tuple[Item, ...]:
        k = self.config.alternatives
        masked = sims.astype(np.float64).copy()
        masked[list(exclude)] = -np.inf
        order = np.lexsort((np.arange(len(masked)), -masked))[:k]
        return tuple(self.catalog.items[i] for i in order if np.isfinite(masked[i]))

    def need_match(self, need: str) -> tuple[bool, float, np.ndarray]:
        """(does the shop have something for this need, best cosine, cosine per item).

        A need may list several wants ("something gingham and something star", "candles,
        napkins"; `need_parts`). Its parts are matched one by one and served together when
        the whole matches nothing, or when every part matches and the parts, on average,
        match the catalog at least as well as the whole does: "gingham and lace" is two
        wants, while "black and white photo frames" matches better as one."""
        ok, best, sims, _ = self._need_wants(need)
        return ok, best, sims

    def _need_wants(self, need: str) -> tuple[bool, float, np.ndarray, list[np.ndarray]]:
        """need_match, plus each served want's own cosines ([] when the need is one want)."""
        whole = self._match_one(need)
        parts = need_parts(need)
        if not parts or parts == [need.strip(" .!?-")] or (len(parts) < 2 and whole[0]):
            return (*whole, [])
        each = [self._match_one(p) for p in parts]
        matched = [m for m in each if m[0]]
        if not matched:
            return (*whole, [])
        if whole[0] and (len(matched) < len(each) or statistics.fmean(m[1] for m in matched) < whole[1]):
            return (*whole, [])
        best = max(m[1] for m in matched)
        # Each part's cosines shifted so its own best item sits at the overall best: an item
        # near any part's best scores as a match, whichever part is the easier one.
        sims = np.max(np.stack([m[2] - (m[1] - best) for m in matched]), axis=0)
        return True, best, sims, [m[2] for m in matched]

    def _match_one(self, need: str) -> tuple[bool, float, np.ndarray]:
        sims = self._text_sims(need_core(need))
        best = float(sims.max(initial=-1.0))
        cfg = self.config
        if best >= cfg.no_match_threshold:
            return True, best, sims
        head = need_head(need)
        if head is None or head in GENERIC_HEADS:
            return best >= cfg.lexical_match_threshold, best, sims
        having = self._vocab.get(head)
        ok = having is not None and float(sims[having].max()) >= cfg.lexical_match_threshold
        return ok, best, sims

    # -- composing ------------------------------------------------------------------------
    def compose(self, anchors: Sequence[str] = (), need: str | None = None,
                budget: float | None = None, *, exclude_ids: Iterable[str] = (),
                exclude_terms: Iterable[str] = (), size: int | None = None,
                user_id: str | None = None, profile: Profile | None = None,
                locked: Sequence[str] = (), allow_similar: bool = False) -> Composition:
        """A bundle for anchor item ids and/or a need, within a budget (hard).

        Anchors are included (role "anchor") and count towards `size` and the total, since
        the shopper buys them. `size` defaults to `config.size` (at least one more than the
        anchors and locked items). Unknown ids come back in `unresolved`.
        """
        plan = self._plan(anchors, need, budget, exclude_ids, exclude_terms, size, user_id,
                          profile, locked, allow_similar)
        if isinstance(plan, Composition):
            return plan
        fixed, scores, size_total, ctx, extra = plan
        items = self._choose(fixed, scores, ctx, profile, budget, size_total,
                             allow_similar=allow_similar)
        assert items is not None  # _plan checked the budget against the fixed items
        bundle = self._remember(Bundle(tuple(items), need=scores.need, budget=budget),
                                ctx.seen(*(bi.item.item_id for bi in items)))
        return Composition(bundle, context=self.context_of(bundle), **extra)

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
        fixed_cost = sum(bi.item.price or 0.0 for bi in fixed)
        pool = self._pool(scores, fixed, ctx, profile, budgeted=True, allow_similar=False)
        if budget is not None:
            reference = budget - fixed_cost
        else:
            base = self._choose(fixed, scores, ctx, profile, None, size_total, pool=pool) or fixed
            reference = sum(bi.item.price or 0.0 for bi in base) - fixed_cost
        prices = self._prices[pool] if pool else np.zeros(0)
        unit = float(np.median(prices)) if len(prices) else 1.0
        out: dict[str, Bundle] = {}
        for name, mult, tilt in zip(TIERS, self.config.tier_budget_multipliers,
                                    self.config.tier_price_tilt, strict=True):
            cap = fixed_cost + mult * max(reference, 0.0)
            cap = math.floor((min(cap, budget) if budget is not None else cap) * 100 + 1e-6) / 100
            utility = scores.total.copy()
            utility[pool] += tilt * self._prices[pool] / max(unit, 0.01)
            items = self._choose(fixed, scores, ctx, profile, cap, size_total, pool=pool,
                                 utility=utility) or list(fixed)
            bundle = Bundle(tuple(items), need=scores.need, budget=cap, tier=name)
            out[name] = self._remember(bundle, ctx.seen(*bundle.item_ids))
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
            matched, best, sims, wants = self._need_wants(need_text)
            if not matched:
                no_match = True
                alternatives = self._nearest(sims, self.catalog.indices(ctx.exclude_ids, strict=False))
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
        fixed_cost = sum(bi.item.price or 0.0 for bi in fixed)
        if budget is not None and fixed_cost > budget + 1e-9:
            extra["notes"] = (*notes, f"the items you asked for cost {price_text(round(fixed_cost, 2))}, "
                                      f"over the {price_text(budget)} budget")
            return Composition(None, over_budget=True, context=ctx, **extra)
        wanted = max(self.config.size, len(fixed) + 1) if size is None else max(int(size), 1)
        size_total = min(wanted, MAX_BUNDLE_SIZE)
        scores = self._score([bi.item.item_id for bi in fixed], need_text, sims, user_id, profile, wants=wants)
        return fixed, scores, size_total, ctx, extra

    def _score(self, fixed_ids: Sequence[str], need: str | None, sims: np.ndarray | None,
               user_id: str | None, profile: Profile | None,
               similar_to: int | None = None, wants: Sequence[np.ndarray] = ()) -> _Scores:
        cfg = self.config
        blend = self.index.blend
        seeds = list(dict.fromkeys([*fixed_ids, *(profile.seed_items(cfg.profile_history_seeds)
                                                   if profile else ())]))
        seeds = [s for s in seeds if s in self.catalog]
        seed_pos = self.catalog.indices(seeds)
        parts: dict[str, np.ndarray] = {}
        queries: dict[str, Query] = {}
        if similar_to is not None:
            sim = self.embeddings @ self.embeddings[similar_to]
            parts["similar"] = _normalised(sim, [*seed_pos, similar_to])
            title = self.catalog.items[similar_to].title
            total = parts["similar"].copy()
            return _Scores(total, parts, queries, None, None, (title, sim))
        if (seeds or user_id) and cfg.cf_weight > 0:
            query = Query(seed_items=tuple(seeds), user_id=user_id)
            with one_blas_thread():
                parts["cf"] = cfg.cf_weight * _normalised(blend.score(query), seed_pos)
            queries["cf"] = query
        if need and sims is not None:
            best = float(sims.max())
            floor = best - cfg.text_window
            text = np.clip((sims - floor) / max(best - floor, 1e-9), 0.0, 1.0)
            text[seed_pos] = 0.0
            parts["text"] = cfg.text_weight * text
            if cfg.need_seed_count and cfg.need_cf_weight > 0:
                order = np.lexsort((np.arange(len(sims)), -sims))
                need_seeds = [int(i) for i in order[: cfg.need_seed_count + len(seed_pos)]
                              if i not in set(seed_pos)][: cfg.need_seed_count]
                query = Query(seed_items=tuple(self.catalog.items[i].item_id for i in need_seeds),
                              user_id=user_id)
                with one_blas_thread():
                    # a need seed is no complement of itself (content scores it 1.0)
                    parts["need_cf"] = cfg.need_cf_weight * _normalised(
                        blend.score(query), [*seed_pos, *need_seeds])
                queries["need_cf"] = query
        total = np.zeros(len(self.catalog))
        for part in parts.values():
            total += part
        if need and sims is not None and len(wants) >= 2:
            self._cover_wants(total, wants, seed_pos)
        if profile is not None:
            total *= profile.score_factors(self._prices, self._categories,
                                           price_weight=cfg.profile_price_weight,
                                           category_weight=cfg.profile_category_weight)
        return _Scores(total, parts, queries, need, sims)

    @staticmethod
    def _cover_wants(total: np.ndarray, wants: Sequence[np.ndarray], seed_pos: Sequence[int]) -> None:
        """A need of several wants (each want's cosines, from `_need_wants`) gets the best
        match of each want ranked first (in the order the shopper named them), so every want
        is in the bundle when it fits, not only the want with the most co-bought neighbours."""
        top = float(total.max(initial=0.0))
        taken = set(seed_pos)
        for rank, want in enumerate(wants):
            order = np.lexsort((np.arange(len(want)), -want))
            first = next((int(i) for i in order if int(i) not in taken), None)
            if first is None:
                continue
            taken.add(first)
            total[first] = top + 1e-3 * (len(wants) - rank)

    def _reasons(self, scores: _Scores, i: int, profile: Profile | None) -> tuple[Evidence, ...]:
        return self._reasons_for(scores, [i], profile)[i]

    def _reasons_for(self, scores: _Scores, indices: Sequence[int], profile: Profile | None
                     ) -> dict[int, tuple[Evidence, ...]]:
        """Evidence per item, strongest part first (at most one of each kind, four in all).
        Explanations are asked query by query, the last-scored first, so the blend's
        one-query cache is recomputed at most once."""
        explained: dict[tuple[str, int], tuple[Evidence, ...]] = {}
        with one_blas_thread():
            for key in reversed(list(scores.queries)):
                for i in indices:
                    if scores.parts[key][i] > 0:
                        explained[key, i] = self.index.blend.explain(scores.queries[key], i)
        return {i: self._assemble(scores, i, profile, explained) for i in indices}

    def _assemble(self, scores: _Scores, i: int, profile: Profile | None,
                  explained: Mapping[tuple[str, int], tuple[Evidence, ...]]) -> tuple[Evidence, ...]:
        ranked = sorted(((float(p[i]), k) for k, p in scores.parts.items() if p[i] > 0),
                        key=lambda t: -t[0])
        found: list[Evidence] = []
        for _, key in ranked:
            if key in scores.queries:
                found.extend(explained.get((key, i), ()))
            elif key == "text" and scores.need and scores.text_sims is not None:
                found.append(text_evidence(scores.need, float(scores.text_sims[i])))
            elif key == "similar" and scores.similar_to is not None:
                found.append(seed_evidence(scores.similar_to[0], float(scores.similar_to[1][i])))
        if profile is not None:
            taste = profile.taste_evidence(self.catalog.items[i])
            if taste is not None:
                found.append(taste)
        out: dict[str, Evidence] = {}
        for ev in found:
            out.setdefault(ev.kind, ev)
        return tuple(out.values())[:4]

    def _banned(self, ctx: BundleContext, profile: Profile | None) -> set[str]:
        banned = set(ctx.exclude_ids)
        if profile is not None:
            banned.update(profile.rejected)
            banned.update(profile.cart)
        return banned

    def _term_excluded(self, i: int, ctx: BundleContext) -> bool:
        return any(mentions_all(self._title_stems[i], content_stems(term)) for term in ctx.exclude_terms)

    def _ranked(self, scores: _Scores) -> np.ndarray:
        idx = np.flatnonzero(np.isfinite(scores.total) & (scores.total > 0))
        return idx[np.lexsort((idx, -scores.total[idx]))]

    def _pool(self, scores: _Scores, fixed: Sequence[BundleItem], ctx: BundleContext,
              profile: Profile | None, *, budgeted: bool, allow_similar: bool) -> list[int]:
        """The ranked candidate pool: allowed, priced when budgeted, free of substitutes of the
        fixed items, the cart and each other (best-scored member of each group kept)."""
        banned = self._banned(ctx, profile) | {bi.item.item_id for bi in fixed}
        refs = self.catalog.indices([bi.item.item_id for bi in fixed], strict=False)
        if profile is not None:
            refs += self.catalog.indices(profile.cart, strict=False)
        pool: list[int] = []
        asked = self._asked_for(scores)
        for i in self._ranked(scores):
            i = int(i)
            if self.catalog.items[i].item_id in banned or self._term_excluded(i, ctx):
                continue
            if budgeted and not np.isfinite(self._prices[i]):
                continue
            if self._conflicts(i, refs, pool, asked, allow_similar):
                continue
            pool.append(i)
            if len(pool) >= self.config.pool_depth:
                break
        return pool

    def _asked_for(self, scores: _Scores) -> np.ndarray | None:
        """Per item: does the need's text ask for it (see ComposerConfig.need_variants)."""
        text = scores.parts.get("text")
        cfg = self.config
        if text is None or cfg.need_variants <= 1 or cfg.text_weight <= 0:
            return None
        return text >= cfg.need_variant_text * cfg.text_weight

    def _conflicts(self, i: int, refs: Sequence[int], pool: Sequence[int], asked: np.ndarray | None,
                   allow_similar: bool) -> bool:
        """Item i is a substitute of a fixed/cart item or an earlier pool item; an item the
        need asks for may be one of need_variants designs of its line (exact duplicates never)."""
        if asked is None or allow_similar or not asked[i]:
            return self.substitutes.conflicts(i, [*refs, *pool], allow_similar)
        if self.substitutes.conflicts(i, [*refs, *pool], True):
            return True
        same_line = sum(1 for j in [*refs, *pool] if self.substitutes.pair(i, j))
        return same_line >= self.config.need_variants

    def _choose(self, fixed: Sequence[BundleItem], scores: _Scores, ctx: BundleContext,
                profile: Profile | None, budget: float | None, size: int, *,
                keep: Iterable[str] = (), allow_similar: bool = False, cap: int | None = None,
                pool: list[int] | None = None, utility: np.ndarray | None = None,
                ) -> list[BundleItem] | None:
        """Fixed items + the exact best complements; None when the fixed items break the budget."""
        fixed = list(fixed)
        fixed_cost = sum(bi.item.price or 0.0 for bi in fixed)
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
        reasons = self._reasons_for(scores, chosen, profile)
        return fixed + [BundleItem(self.catalog.items[i], reasons[i], role="complement",
                                   score=round(float(scores.total[i]), 4)) for i in chosen]

    # -- memory of contexts ---------------------------------------------------------------
    def _remember(self, bundle: Bundle, context: BundleContext) -> Bundle:
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

    def _context(self, bundle: Bundle, context: BundleContext | None) -> BundleContext:
        remembered = self.context_of(bundle)
        if context is None:
            return remembered
        return dataclasses.replace(context, shown=context.shown | remembered.shown)
