"""How much each catalog item suits a bundle, and why: collaborative filtering seeded by the
fixed items and the shopper's history, text similarity to the need (each want of a need of
several served first), or likeness to one item ("more like this"); a profile's taste
nudges the total. `Scores` holds the parts so every pick can cite its evidence."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from assistant.compose.blas_threads import one_blas_thread
from assistant.compose.config import ComposerConfig
from assistant.compose.profiles import Profile
from retrieval.blend import BlendSource
from retrieval.catalog import Catalog
from retrieval.content import seed_evidence, text_evidence
from retrieval.records import Evidence, Query
from retrieval.shop_index import ShopIndex

MAX_REASONS = 4


@dataclasses.dataclass
class Scores:
    """Per-catalog-item candidate scores and the parts that explain them.

    total: the score each item row is ranked by (0 or less: not a candidate).
    parts: each source's share of the total ("cf", "text", "need_cf", "similar").
    queries: the collaborative-filtering query behind each "cf"-like part, to explain it.
    need / text_sims: the need's text and its cosine per item, for text evidence.
    similar_to: (title, cosine per item) of the item a "more like this" bundle is like.
    """

    total: np.ndarray
    parts: dict[str, np.ndarray]
    queries: dict[str, Query]
    need: str | None = None
    text_sims: np.ndarray | None = None
    similar_to: tuple[str, np.ndarray] | None = None

    def ranked(self) -> np.ndarray:
        """Rows of the candidates (finite, positive total), best first, ties by row."""
        idx = np.flatnonzero(np.isfinite(self.total) & (self.total > 0))
        return idx[np.lexsort((idx, -self.total[idx]))]


def normalised(scores: np.ndarray, masked: Sequence[int]) -> np.ndarray:
    """Positive finite scores scaled to a maximum of 1; the rest and `masked` rows 0."""
    out = np.where(np.isfinite(scores) & (scores > 0), scores, 0.0).astype(np.float64)
    out[list(masked)] = 0.0
    top = out.max(initial=0.0)
    return out / top if top > 0 else out


class Scorer:
    """Scores and explains candidates over one loaded `ShopIndex`."""

    def __init__(self, index: ShopIndex, catalog: Catalog, embeddings: np.ndarray,
                 config: ComposerConfig) -> None:
        self.index = index
        self.catalog = catalog
        self.embeddings = embeddings
        self.config = config
        self._prices = catalog.prices
        self._categories = catalog.categories  # a property that builds a new list each call

    def score(self, fixed_ids: Sequence[str], need: str | None, sims: np.ndarray | None,
              user_id: str | None, profile: Profile | None,
              similar_to: int | None = None, wants: Sequence[np.ndarray] = ()) -> Scores:
        """Scores for the complements of `fixed_ids`. `sims` is the need's cosine per item
        and `wants` each want's (see `CatalogMatcher.need_wants`); with `similar_to` (a row)
        only likeness to that item counts."""
        cfg = self.config
        blend = self.index.blend
        # the shopper's favourites from earlier visits seed a bundle for a need, not the
        # complements of an item they named now (their taste still nudges: user factors, profile)
        history = 0 if fixed_ids else cfg.profile_history_seeds
        seeds = list(dict.fromkeys([*fixed_ids, *(profile.seed_items(history) if profile else ())]))
        seeds = [s for s in seeds if s in self.catalog]
        seed_pos = self.catalog.indices(seeds)
        parts: dict[str, np.ndarray] = {}
        queries: dict[str, Query] = {}
        if similar_to is not None:
            sim = self.embeddings @ self.embeddings[similar_to]
            parts["similar"] = normalised(sim, [*seed_pos, similar_to])
            title = self.catalog.items[similar_to].title
            total = parts["similar"].copy()
            return Scores(total, parts, queries, None, None, (title, sim))
        if (seeds or user_id) and cfg.cf_weight > 0:
            query = Query(seed_items=tuple(seeds), user_id=user_id)
            if opens_from_history(blend, fixed_ids, need, user_id, profile):
                # a known customer's empty cart: their earlier orders, read in order by the
                # sequence model, say what comes next better than their favourites as seeds
                query = Query(user_id=user_id)
            with one_blas_thread():
                parts["cf"] = cfg.cf_weight * normalised(blend.score(query), seed_pos)
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
                    parts["need_cf"] = cfg.need_cf_weight * normalised(
                        blend.score(query), [*seed_pos, *need_seeds])
                queries["need_cf"] = query
        total = np.zeros(len(self.catalog))
        for part in parts.values():
            total += part
        if need and sims is not None and len(wants) >= 2:
            _cover_wants(total, wants, seed_pos)
        if profile is not None:
            total *= profile.score_factors(self._prices, self._categories,
                                           price_weight=cfg.profile_price_weight,
                                           category_weight=cfg.profile_category_weight)
        return Scores(total, parts, queries, need, sims)

    def reasons_for(self, scores: Scores, indices: Sequence[int], profile: Profile | None
                    ) -> dict[int, tuple[Evidence, ...]]:
        """Evidence per item row, strongest part first (at most one of each kind, four in
        all). Explanations are asked query by query, the last-scored first, so the blend's
        one-query cache is recomputed at most once."""
        explained: dict[tuple[str, int], tuple[Evidence, ...]] = {}
        with one_blas_thread():
            for key in reversed(list(scores.queries)):
                for i in indices:
                    if scores.parts[key][i] > 0:
                        explained[key, i] = self.index.blend.explain(scores.queries[key], i)
        return {i: self._assemble(scores, i, profile, explained) for i in indices}

    def _assemble(self, scores: Scores, i: int, profile: Profile | None,
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
        return tuple(out.values())[:MAX_REASONS]


def _cover_wants(total: np.ndarray, wants: Sequence[np.ndarray], seed_pos: Sequence[int]) -> None:
    """A need of several wants (each want's cosines) gets the best match of each want ranked
    first (in the order the shopper named them), so every want is in the bundle when it
    fits, not only the want with the most co-bought neighbours."""
    top = float(total.max(initial=0.0))
    taken = set(seed_pos)
    for rank, want in enumerate(wants):
        order = np.lexsort((np.arange(len(want)), -want))
        first = next((int(i) for i in order if int(i) not in taken), None)
        if first is None:
            continue
        taken.add(first)
        total[first] = top + 1e-3 * (len(wants) - rank)


def opens_from_history(blend: BlendSource, fixed_ids: Sequence[str], need: str | None, user_id: str | None,
                       profile: Profile | None) -> bool:
    """True for the opening bundle of a known customer: nothing named, no need, nothing in the
    cart or liked yet, and the blend has a sequence model with something to say for them."""
    if fixed_ids or need or user_id is None or (profile is not None and (profile.cart or profile.liked)):
        return False
    return blend.next_purchase_component(Query(user_id=user_id)) is not None
