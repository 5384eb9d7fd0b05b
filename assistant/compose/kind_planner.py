"""A bundle filled kind by kind: the things an occasion, a person or a theme takes.

"A tea party for six, £40" is not served by the items whose titles say "tea party" (a card,
wrapping paper) but by a cake stand, six cups and saucers, plates and napkins. The needs
book (`needs_book`) says which kinds of things serve a need; this module fills them from the
catalog:

  * each kind's candidates are the titles that fit it (its synonyms, `Kind.fits_title`),
    ranked by how well the item suits the need (embedding cosine to "kind for need" plus
    the need's style words), how often the shop sells it (popularity) and how often it is
    bought with the centrepiece's best match (collaborative filtering);
  * a kind worn per guest gets a quantity: six guests, six cups, or one "set of 6";
  * the selection is exact under the budget (`best_subset`, costs = quantity x price, at most
    one item per kind); a stated budget is a target, not only a ceiling, so pricier fits
    gain a little, and "the cheapest" turns that round; a per-item cap filters the pool;
  * every line carries its role for the need as its first reason, then real evidence.

No language model: the kinds come from data, the items and quantities from code.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from assistant.compose.blas_threads import one_blas_thread
from assistant.compose.line_quantities import (
    ASKED_NEED,
    ROLE_EVIDENCE_KIND,
    pieces_per_unit,
    quantity_for,
    role_evidence,
    role_for_need,
    tables_for,
)
from assistant.compose.needs_match import Kind, title_words
from assistant.compose.scoring import normalised
from assistant.compose.selection import best_subset
from assistant.records import BundleItem
from assistant.understand.words import stem, stem_set
from retrieval.blend import BlendSource
from retrieval.catalog import Catalog
from retrieval.records import Query

__all__ = ["ASKED_NEED", "ROLE_EVIDENCE_KIND", "KindPlanner", "KindRequest", "PlannerWeights", "pieces_per_unit",
           "quantity_for", "role_evidence", "role_for_need", "tables_for"]


@dataclasses.dataclass(frozen=True)
class KindRequest:
    """What the shopper asked for, as the planner needs it."""

    kinds: tuple[Kind, ...]
    need: str
    size: int
    budget: float | None = None
    guests: int | None = None
    item_cap: float | None = None
    cheapest: bool = False
    style_words: tuple[str, ...] = ()
    # what the shopper already picked (cart, liked items) and who they are: collaborative
    # filtering ranks each kind's items by what is bought with those too
    seeds: tuple[str, ...] = ()
    user_id: str | None = None
    # title words that tie an item to another need ("christmas" napkins at a halloween party)
    foreign_marks: tuple[str, ...] = ()
    # colours the shopper asked for ("the red polka dot range"): titles in them rank first
    colours: tuple[str, ...] = ()
    # tables the shopper counted ("10 tables"): per-table kinds dress that many
    tables: int | None = None


@dataclasses.dataclass(frozen=True)
class PlannerWeights:
    """How candidates of a kind are ranked, and how much a stated budget pulls the total up.

    relevance (cosine to "kind for need", 0..1 within the kind) carries most weight; a
    style word of the need in the title (a cat on a cat lover's mug) adds `style`, a colour
    the shopper asked for `colour`; the
    shop's best sellers add up to `popularity`; items bought with the centrepiece's best
    match add up to `co_purchase`. `centrepiece` keeps the centrepiece in the bundle.
    `spend`: a budgeted bundle gains spend x cost / budget, so between two fits the fuller
    one wins and the total lands between about half and all of the budget; "the cheapest"
    loses it instead.
    """

    relevance: float = 1.0
    style: float = 0.25
    colour: float = 0.5
    popularity: float = 0.3
    co_purchase: float = 0.4
    centrepiece: float = 1.0
    # a kind the shopper named outright ("party bags", "a dog bowl") stays in the bundle
    asked: float = 2.0
    # the kinds' order (what the bundle is for before who it is for): the first kind gains
    # `order`, the last nothing, so a short bundle keeps the leading kinds
    order: float = 0.5
    # without a budget, an item priced at e times its kind's median loses this much
    outlier: float = 0.3
    # a budget the usual size leaves less than half used takes up to this many kinds
    spend: float = 2.5
    per_kind: int = 10
    fuller_size: int = 6
    # an item marked for another need (Christmas napkins for Halloween) loses this much
    foreign: float = 1.0


@dataclasses.dataclass(frozen=True)
class _Candidate:
    row: int
    kind: int
    quantity: int
    cost: float
    value: float


# Title words that say no product: "Ceramic Strawberry Design Mug" is a mug
_NOT_A_HEAD = frozenset({"design", "set", "pack", "large", "small", "mini", "medium", "big", "colour", "assorted",
                         "vintage", "and", "with", "in", "of", "the", "a"})


class KindPlanner:
    """Fills the kinds of a need from one catalog (see the module's docstring)."""

    def __init__(self, catalog: Catalog, embeddings: np.ndarray, text_vector: Callable[[str], np.ndarray],
                 blend: BlendSource, popularity: object | None,
                 weights: PlannerWeights | None = None) -> None:
        self.catalog = catalog
        self.embeddings = embeddings
        self.text_vector = text_vector
        self.blend = blend
        self.weights = weights or PlannerWeights()
        self._prices = catalog.prices
        self._titles = [item.title for item in catalog.items]
        self._title_stems = [stem_set(title) for title in self._titles]
        self._title_words = [title_words(title) for title in self._titles]
        self._rows_of_kind: dict[Kind, list[int]] = {}
        self._popularity = self._popularity_scores(popularity)

    def _popularity_scores(self, popularity: object | None) -> np.ndarray:
        score = getattr(popularity, "score", None)
        if score is None:  # a shop without a popularity source ranks by fit alone
            return np.zeros(len(self.catalog))
        with one_blas_thread():
            raw = np.asarray(score(Query()), dtype=np.float64)
        return normalised(raw, [])

    def kind_rows(self, kind: Kind) -> list[int]:
        """Catalog rows whose titles fit the kind (computed once per kind)."""
        rows = self._rows_of_kind.get(kind)
        if rows is None:
            rows = [row for row, (words, stems) in enumerate(zip(self._title_words, self._title_stems, strict=True))
                    if kind.fits_title_words(words, stems)]
            self._rows_of_kind[kind] = rows  # a plain dict write: safe to race, same value
        return rows

    def motif_kinds(self, kind: Kind, most: int = 2) -> list[Kind]:
        """The kinds of product that carry a motif kind's word ("owls": an owl bag, an owl
        cushion), one per product its titles name beside it (the title's last other word),
        the best-selling first, `most` of them; [kind] when the titles name none."""
        motif = stem_set(kind.name)
        heads: dict[str, float] = {}
        for row in self.kind_rows(kind):
            words = [w for w in self._title_words[row] if w.isalpha() and stem(w) not in motif and w not in _NOT_A_HEAD]
            if words:
                heads[words[-1]] = max(heads.get(words[-1], 0.0), float(self._popularity[row]))
        best = sorted(heads, key=lambda head: -heads[head])[:most]
        return [dataclasses.replace(kind, name=f"{kind.name} {head}", synonyms=(f"{kind.name} {head}",))
                for head in best] or [kind]

    def fillable(self, kinds: Sequence[Kind]) -> list[Kind]:
        """The kinds this catalog has at least one item of."""
        return [kind for kind in kinds if self.kind_rows(kind)]

    def plan(self, request: KindRequest, allowed: Callable[[int], bool],
             fixed_cost: float = 0.0) -> list[BundleItem] | None:
        """The chosen items, kind by kind, in the kinds' order; None when fewer than two
        kinds can be filled (the caller composes the usual way)."""
        candidates, seed = self._candidates(request, allowed)
        filled = sorted({c.kind for c in candidates})
        if len(filled) < 2:
            return None
        # The kinds come in order (what the bundle is for first): a bundle of n items fills
        # the first n kinds, and looks further down the list only for a kind it cannot fill.
        kinds_filled = len(filled)
        size = min(request.size, kinds_filled)
        considered = size
        chosen = self._select(candidates, request, fixed_cost, size, considered)
        while len(chosen) < size and considered < len(request.kinds):
            considered += 1
            chosen = self._select(candidates, request, fixed_cost, size, considered)
        # A budget is a target: while the bundle leaves more than half of it unspent and kinds
        # are left, a fuller bundle serves the need better than pricier picks of the same few.
        while (request.budget is not None and not request.cheapest and size < self.weights.fuller_size
               and considered < len(request.kinds)
               and fixed_cost + sum(c.cost for c in chosen) < 0.5 * request.budget):
            size += 1
            considered += 1
            chosen = self._select(candidates, request, fixed_cost, size, considered)
        if len(chosen) < 2:
            return None
        return self._bundle_items(chosen, request, seed)

    def alternative(self, kind: Kind, need: str, guests: int | None, allowed: Callable[[int], bool],
                    room: float | None, item_cap: float | None = None, *, style_words: tuple[str, ...] = (),
                    foreign_marks: tuple[str, ...] = (), colours: tuple[str, ...] = (),
                    tables: int | None = None) -> BundleItem | None:
        """The best allowed item of one kind whose line fits in `room` (a swap), ranked as the
        bundle was: the need's look, the colours asked for, no children's gloves for a dad."""
        request = KindRequest((kind,), need, 1, room, guests, item_cap, style_words=style_words,
                              foreign_marks=foreign_marks, colours=colours, tables=tables)
        candidates, _ = self._candidates(request, allowed)
        fitting = [c for c in candidates if room is None or c.cost <= room + 1e-9]
        if not fitting:
            return None
        best = max(fitting, key=lambda c: (c.value, -c.row))
        item = self.catalog.items[best.row]
        return BundleItem(item, (role_evidence(kind, best.quantity, guests, item.title, tables),),
                          role="complement", score=round(best.value, 4), quantity=best.quantity)

    # -- candidates ------------------------------------------------------------------------
    def _candidates(self, request: KindRequest, allowed: Callable[[int], bool]
                    ) -> tuple[list[_Candidate], int | None]:
        """Each kind's best candidates, and the row whose co-purchases rank them (the
        first filled kind's best fit: the centrepiece when there is one)."""
        weights = self.weights
        taken: set[int] = set()
        per_kind: list[list[tuple[int, float]]] = []
        earlier: set[int] = set()  # a row fits the first kind it fits only: no two cake stands
        # a mark of several words ties a title only whole: "st george", not "St Tropez"
        foreign = [marked for mark in request.foreign_marks if (marked := stem_set(mark))]
        for kind in request.kinds:
            fits = self.kind_rows(kind)
            rows = [row for row in fits if row not in earlier and row not in taken and allowed(row)]
            earlier.update(fits)
            if request.budget is not None or request.item_cap is not None:
                rows = [row for row in rows if np.isfinite(self._prices[row])]
            if request.item_cap is not None:
                rows = [row for row in rows if self._prices[row] <= request.item_cap + 1e-9]
            if not rows:
                per_kind.append([])
                continue
            # the kind's own rows (titles that fit it), not a catalog scan: numpy over these
            # rows ranks every fit, which a top-n vector search could leave out
            cosine = self.embeddings[rows] @ self.text_vector(f"{kind.name} for {request.need}")
            low, high = float(cosine.min()), float(cosine.max())
            relevance = (cosine - low) / (high - low) if high > low else np.ones(len(rows))
            prices = self._prices[rows]
            typical = float(np.nanmedian(prices)) if np.isfinite(prices).any() else 0.0
            scored = []
            for position, row in enumerate(rows):
                value = weights.relevance * float(relevance[position])
                price = float(self._prices[row])
                if request.budget is None and typical > 0 and np.isfinite(price) and price > typical:
                    # no budget said: a kind's outliers (a £125 chest among £3 candles) lose
                    value -= weights.outlier * math.log(price / typical)
                value += weights.popularity * float(self._popularity[row])
                if request.style_words and _has_style(self._titles[row], request.style_words):
                    value += weights.style
                if request.colours and _has_style(self._titles[row], request.colours):
                    value += weights.colour
                if foreign and any(marked <= self._title_stems[row] for marked in foreign):
                    value -= weights.foreign
                scored.append((row, value))
            scored.sort(key=lambda pair: (-pair[1], pair[0]))
            best = scored[: weights.per_kind] + self._fuller_fits(kind, scored, request)
            taken.update(row for row, _ in best)
            per_kind.append(best)
        seed = next((scored[0][0] for scored in per_kind if scored), None)
        co_bought = self._co_purchase(seed, request.seeds, request.user_id)
        out: list[_Candidate] = []
        for kind_index, (kind, scored) in enumerate(zip(request.kinds, per_kind, strict=True)):
            for row, value in scored:
                quantity = quantity_for(kind, request.guests, self._titles[row], request.tables)
                price = float(self._prices[row]) if np.isfinite(self._prices[row]) else 0.0
                value += weights.co_purchase * float(co_bought[row])
                if kind.centrepiece:
                    value += weights.centrepiece
                if kind.asked:
                    value += weights.asked
                value += weights.order * (1.0 - kind_index / max(len(request.kinds), 1))
                out.append(_Candidate(row, kind_index, quantity, round(quantity * price, 2), value))
        return out, seed

    def _fuller_fits(self, kind: Kind, scored: list[tuple[int, float]], request: KindRequest
                     ) -> list[tuple[int, float]]:
        """With a budget to use, the fits that rank best once their line's share of it is
        counted too (ten porcelain holders for ten tables of an £80 wedding, not only the
        £0.29 votive that fits best): the solver weighs them; otherwise none."""
        budget = request.budget
        if budget is None or request.cheapest or budget <= 0:
            return []
        per_kind = self.weights.per_kind
        # only among the kind's good fits (the next few after the best): price alone
        # must not bring in a poor fit (a pink £25 candle set for "something red")
        near = scored[per_kind: 3 * per_kind]

        def fuller(pair: tuple[int, float]) -> float:
            row, value = pair
            price = float(self._prices[row])
            line = quantity_for(kind, request.guests, self._titles[row], request.tables) * price
            return value + self.weights.spend * min(line, budget) / budget

        return sorted(near, key=lambda pair: (-fuller(pair), pair[0]))[: per_kind // 2]

    def _co_purchase(self, seed: int | None, picked: Sequence[str] = (),
                     user_id: str | None = None) -> np.ndarray:
        """How often each item is bought with the seed row and the shopper's own picks, for
        this shopper (CF blend, normalised)."""
        seeds = [*([self.catalog.items[seed].item_id] if seed is not None else []),
                 *(item_id for item_id in picked if item_id in self.catalog)]
        if not seeds and user_id is None:
            return np.zeros(len(self.catalog))
        query = Query(seed_items=tuple(dict.fromkeys(seeds)), user_id=user_id)
        with one_blas_thread():
            raw = np.asarray(self.blend.score(query), dtype=np.float64)
        return normalised(raw, self.catalog.indices(query.seed_items, strict=False))

    def _seed_query(self, row: int) -> Query:
        return Query(seed_items=(self.catalog.items[row].item_id,))

    # -- selection -------------------------------------------------------------------------
    def _select(self, candidates: Sequence[_Candidate], request: KindRequest, fixed_cost: float,
                size: int, considered: int) -> list[_Candidate]:
        """The exact best choice of at most one candidate for each of the first `considered`
        kinds, `size` items at most, within the budget."""
        weights = self.weights
        candidates = [c for c in candidates if c.kind < considered]
        values = np.array([c.value for c in candidates], dtype=np.float64)
        costs_money = np.array([c.cost for c in candidates], dtype=np.float64)
        pennies = None
        if request.budget is not None:
            pennies = math.floor((request.budget - fixed_cost) * 100 + 1e-6)
            if pennies <= 0:
                return []
        if request.cheapest and len(costs_money):
            # the cheapest sensible bundle: cost weighs as much as fit, item against item
            values = values - weights.spend * costs_money / max(float(np.median(costs_money)), 0.01)
        elif request.budget is not None:
            values = values + weights.spend * costs_money / max(request.budget - fixed_cost, 0.01)
        costs = np.ceil(costs_money * 100 - 1e-6).astype(np.int64)
        groups = [f"kind-{c.kind}" for c in candidates]
        caps = {group: 1 for group in groups}
        picked = best_subset(values, costs, groups, min(size, len(caps)), pennies, caps)
        chosen = [candidates[p] for p in picked]
        chosen.sort(key=lambda c: (c.kind, c.row))
        return chosen

    def _bundle_items(self, chosen: Sequence[_Candidate], request: KindRequest,
                      seed: int | None) -> list[BundleItem]:
        # evidence speaks of an item the shopper sees: the seed when it made the bundle,
        # otherwise the bundle's leading item ("bought with" a thing not shown says nothing)
        rows = [candidate.row for candidate in chosen]
        if seed not in rows:
            seed = rows[0] if rows else None
        query = self._seed_query(seed) if seed is not None else None
        items = []
        for candidate in chosen:
            kind = request.kinds[candidate.kind]
            reasons = [role_evidence(kind, candidate.quantity, request.guests,
                                     self.catalog.items[candidate.row].title, request.tables)]
            if query is not None and candidate.row != seed:
                with one_blas_thread():
                    evidence = self.blend.explain(query, candidate.row)
                reasons.extend(ev for ev in evidence if ev.numbers)
            items.append(BundleItem(self.catalog.items[candidate.row], tuple(reasons[:3]),
                                    role="complement", score=round(candidate.value, 4),
                                    quantity=candidate.quantity))
        return items


def _has_style(title: str, style_words: Sequence[str]) -> bool:
    lowered = title.lower()
    return any(re.search(rf"\b{re.escape(word.lower())}", lowered) for word in style_words)
