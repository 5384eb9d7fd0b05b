"""Write examples: a bundle from one real invoice (anchor item(s) and 2-4 items bought with
them, each with evidence from sources fitted on the training period; an occasion bundle
shaped like the composer's word-matched need bundles; or a kind-by-kind bundle whose lines
carry their roles from the shipped needs book, with quantities for a party), listed by slot
in the `write` prompt; the target is the template writer's slot answer
(`assistant.write.template_writer.slot_text`), which tells each line's own role.
"""

from __future__ import annotations

import random
from typing import Any

from assistant.records import Bundle, BundleItem
from assistant.write.writer import write_prompt
from retrieval.records import Evidence, Query

from . import phrasings
from .training_shop import Shop

ANCHOR_EVIDENCE = Evidence("anchor", "you asked for this")


def _evidence(shop: Shop, anchors: tuple[str, ...], item_id: str, rng: random.Random) -> Evidence | None:
    idx = shop.catalog.index_of[item_id]
    query = Query(seed_items=anchors)
    found = []
    for name in ("rules", "item_knn"):
        ev = shop.sources[name].explain(query, idx)
        if ev:
            found.append(ev[0])
    if not found or rng.random() < 0.08:
        pop = shop.sources["popularity"].explain(Query(), idx)
        if pop and (not found or rng.random() < 0.5):
            return pop[0]
    return rng.choice(found) if found else None


NEED_BUNDLE_SHARE = 0.35


class _KindFits:
    """Per shop, the items sold in the training period whose titles fit each kind of the
    shipped needs book (computed on first use of a kind: the book has hundreds of kinds)."""

    def __init__(self, shop: Shop) -> None:
        from assistant.compose.need_records import title_words
        from assistant.compose.needs_book import NeedsBook, shipped_needs_path
        from assistant.understand.words import stem_set

        self.needs = [need for need in NeedsBook.load(shipped_needs_path()).needs
                      if sum(not kind.filler for kind in need.kinds) >= 2]
        sold = dict.fromkeys(item_id for basket in shop.baskets.values() for item_id in basket)
        # each title's words and stems once: a kind is then matched against all of them
        self.titles = [(item_id, title_words(title), stem_set(title))
                       for item_id, title in ((i, shop.catalog.get(i).title) for i in sold)]
        self._fits: dict[tuple[str, str], list[str]] = {}

    def items_for(self, need: str, kind: Any) -> list[str]:
        key = (need, kind.name)
        if key not in self._fits:
            self._fits[key] = [item_id for item_id, words, stems in self.titles if kind.fits_title_words(words, stems)]
        return self._fits[key]


_FITS: dict[int, _KindFits] = {}


def role_bundle(shop: Shop, rng: random.Random) -> tuple[Bundle, str] | None:
    """A bundle as the composer fills it from a need of the shipped book: 3-5 of the need's
    kinds, each with an item of the shop that fits it and the kind's role as its evidence
    (`kind_planner.role_evidence`: "tea party: cups and saucers for your guests (6 for 6
    guests)"), for a party of 2-12 now and then. The need is said as its name or one of the
    book's own example phrasings, never a shopper request of an eval set."""
    from assistant.compose.kind_planner import quantity_for, role_evidence

    fits = _FITS.setdefault(id(shop), _KindFits(shop))
    need = rng.choice(fits.needs)
    kinds = [kind for kind in need.kinds if not kind.filler]
    rng.shuffle(kinds)
    guests = rng.randint(2, 12) if rng.random() < 0.4 else None
    chosen: list[BundleItem] = []
    size = rng.randint(3, 5)
    for kind in kinds:
        if len(chosen) >= size:
            break
        taken = {bi.item.item_id for bi in chosen}
        options = [item_id for item_id in fits.items_for(need.name, kind) if item_id not in taken]
        if not options:
            continue
        item = shop.catalog.get(rng.choice(options))
        quantity = quantity_for(kind, guests, item.title)
        chosen.append(BundleItem(item, (role_evidence(kind, quantity, guests, item.title),),
                                 role="complement", quantity=quantity))
    if len(chosen) < 2:
        return None
    said = rng.choice([need.name, *need.examples])
    budget = None
    if rng.random() < 0.3:
        budget = float(int(sum((bi.item.price or 0) * bi.quantity for bi in chosen)) + rng.choice((1, 2, 5, 10)))
    return Bundle(tuple(chosen), need=said, budget=budget), said


def need_bundle(shop: Shop, basket: list[str], rng: random.Random) -> tuple[Bundle, str] | None:
    """A bundle for an occasion, shaped like the ones the assistant composes from a need:
    no anchor, 3-5 real items of one invoice, most of them found by text retrieval (shown
    as "a close match in style"), some by popularity or the shopper's taste, now and then
    one the shopper kept."""
    cat = shop.catalog
    items = list(dict.fromkeys(basket))
    rng.shuffle(items)
    chosen: list[BundleItem] = []
    need = rng.choice(phrasings.OCCASIONS)
    for item_id in items[: rng.randint(3, 5)]:
        roll = rng.random()
        ev: Evidence | None
        if roll < 0.65:
            ev = Evidence("similar_text", f"matches '{need}'", {})
        elif roll < 0.85:
            pop = shop.sources["popularity"].explain(Query(), cat.index_of[item_id])
            ev = pop[0] if pop else None
        else:
            ev = Evidence("taste_profile", "matches the taste of shoppers like you", {})
        locked = rng.random() < 0.08
        if ev is None and not locked:
            continue
        chosen.append(BundleItem(cat.get(item_id), (ev,) if ev is not None else (), role="complement",
                                 locked=locked))
    if len(chosen) < 2:
        return None
    budget = None
    if rng.random() < 0.3:
        budget = float(int(sum(bi.item.price or 0 for bi in chosen)) + rng.choice((1, 2, 5, 10)))
    return Bundle(tuple(chosen), need=need, budget=budget), need


def write_bundle(shop: Shop, basket: list[str], rng: random.Random,
                 role_share: float = 0.0) -> tuple[Bundle, str] | None:
    """A bundle from one real invoice: anchor(s) plus 2-4 co-bought items with evidence
    (or, for NEED_BUNDLE_SHARE of them, an occasion bundle: for `role_share` of those a
    `role_bundle`, else a `need_bundle`)."""
    if rng.random() < NEED_BUNDLE_SHARE:
        # role_share 0 draws nothing more, so the shipped adapter's data rebuilds exactly
        if role_share > 0 and rng.random() < role_share and (made := role_bundle(shop, rng)) is not None:
            return made
        return need_bundle(shop, basket, rng)
    cat = shop.catalog
    items = list(basket)
    rng.shuffle(items)
    n_anchor = 1 if rng.random() < 0.8 else 2
    anchors = tuple(items[:n_anchor])
    complements: list[BundleItem] = []
    want = rng.randint(2, 4 if n_anchor == 1 else 3)
    for item_id in items[n_anchor:]:
        if len(complements) >= want:
            break
        title = cat.get(item_id).title
        if any(title == cat.get(a).title for a in anchors):
            continue
        ev = _evidence(shop, anchors, item_id, rng)
        if ev is None:
            continue
        complements.append(BundleItem(cat.get(item_id), (ev,), role="complement"))
    if len(complements) < 2:
        return None
    fixed = [BundleItem(cat.get(a), (ANCHOR_EVIDENCE,), role="anchor") for a in anchors]
    ordered = fixed + complements
    if rng.random() < 0.2:  # anchors are not always listed first
        rng.shuffle(ordered)
    budget = None
    total = sum(bi.item.price or 0 for bi in ordered)
    if rng.random() < 0.25:
        budget = float(int(total) + rng.choice((1, 2, 5, 10)))
    if rng.random() < 0.5:
        need = rng.choice(phrasings.OCCASIONS)
    else:
        need = "items that go with " + " and ".join(cat.get(a).title.lower() for a in anchors)
    return Bundle(tuple(ordered), need=need, budget=budget), need


def write_messages(bundle: Bundle, need: str, target: str | None = None) -> list[dict[str, str]]:
    msgs = [{"role": "user", "content": write_prompt(bundle, need)}]
    if target is not None:
        msgs.append({"role": "assistant", "content": target})
    return msgs
