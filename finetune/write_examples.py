"""Write examples: a bundle from one real invoice (anchor item(s) and 2-4 items bought with
them, each with evidence from sources fitted on the training period; or an occasion bundle
shaped like the composer's need bundles), listed by slot in the `write` prompt; the target
is the template writer's slot answer (`assistant.write.writer.slot_text`).
"""

from __future__ import annotations

import random

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


def write_bundle(shop: Shop, basket: list[str], rng: random.Random) -> tuple[Bundle, str] | None:
    """A bundle from one real invoice: anchor(s) plus 2-4 co-bought items with evidence
    (or, for NEED_BUNDLE_SHARE of them, an occasion bundle: `need_bundle`)."""
    if rng.random() < NEED_BUNDLE_SHARE:
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
