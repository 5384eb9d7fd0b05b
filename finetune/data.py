"""Fine-tuning data from the real Online Retail shop's training period (before 2011-10-01).

Two kinds of chat examples, {"messages": [user, assistant], "meta": {...}}:

* parse: a shopper message (many phrasings, real item mentions, budgets in many money
  formats, edits, small talk, off-topic and prompt-injection attempts) rendered with the
  `parse` prompt; the target is `Request.to_json()`.
* write: a real invoice gives anchor item(s) and 2-4 real items bought with them; each
  item's evidence comes from candidate sources (association rules, item kNN, popularity)
  fitted on the training period only; the `write` prompt lists the items by slot and the
  target is one opening sentence plus "[n] reason" per item (no titles, no prices).

Every example comes from one source invoice, and the held-out split is by invoice, so no
invoice (nor the bundle built from it) feeds both sides. `build_dataset` is deterministic
for a seed; `data_hash` hashes the examples for the adapter manifest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assistant.records import Bundle, BundleItem, Request
from assistant.write.writer import item_fact, slot_text, write_prompt
from prompts import render
from retrieval.config import Config, check
from retrieval.records import Evidence, Query

from . import phrasings as P

CUTOFF = "2011-10-01"
ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
COLOURS = {"red", "pink", "blue", "green", "white", "black", "ivory", "cream", "gold", "silver",
           "purple", "yellow", "orange", "brown", "grey", "natural", "turquoise", "lilac"}
ANCHOR_EVIDENCE = Evidence("anchor", "you asked for this")


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """n_train / n_heldout: examples made from training / held-out invoices; parse_share:
    the share of parse examples (the rest are write examples); heldout_share: the share of
    eligible invoices held out; cutoff: invoices from this date on are never read."""

    n_train: int = 1200
    n_heldout: int = 300
    parse_share: float = 0.6
    heldout_share: float = 0.1
    seed: int = 7
    cutoff: str = CUTOFF
    min_invoice_items: int = 4

    def validate(self) -> None:
        check(self.n_train >= 1, "data.n_train", "must be >= 1")
        check(self.n_heldout >= 1, "data.n_heldout", "must be >= 1")
        check(0 <= self.parse_share <= 1, "data.parse_share", "must be within [0, 1]")
        check(0 < self.heldout_share < 1, "data.heldout_share", "must be between 0 and 1")
        check(self.min_invoice_items >= 3, "data.min_invoice_items", "must be >= 3")
        check(self.cutoff <= CUTOFF, "data.cutoff", f"must not reach into the test period ({CUTOFF})")


@dataclasses.dataclass
class Dataset:
    train: list[dict[str, Any]]
    heldout: list[dict[str, Any]]
    train_invoices: frozenset[str]
    heldout_invoices: frozenset[str]
    max_invoice_time: pd.Timestamp
    stats: dict[str, Any]

    @property
    def hash(self) -> str:
        return data_hash(self.train)


def data_hash(examples: Sequence[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for ex in examples:
        digest.update(json.dumps(ex["messages"], ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- shop


@dataclasses.dataclass
class Shop:
    """The training-period shop: catalog, invoices (basket -> item ids) and fitted sources."""

    catalog: Any
    baskets: dict[str, list[str]]
    basket_time: dict[str, pd.Timestamp]
    sources: dict[str, Any]


def load_training_shop(cutoff: str = CUTOFF) -> Shop:
    from retrieval.catalog import BasketData
    from retrieval.cf import make_source
    from retrieval.datasets import load_online_retail
    from retrieval.evaluate import SplitConfig, split_interactions

    catalog, interactions, _ = load_online_retail()
    split = split_interactions(catalog, interactions, SplitConfig(kind="time", date=cutoff))
    frame = split.train.frame
    assert frame["timestamp"].max() < pd.Timestamp(cutoff)
    data = BasketData.build(catalog, split.train)
    sources = {
        "rules": make_source("rules").fit(data),
        "item_knn": make_source("item_knn", {"use_history": False}).fit(data),
        "popularity": make_source("popularity").fit(data),
    }
    grouped = frame.groupby("basket_id", sort=True)
    baskets = {str(b): list(dict.fromkeys(g["item_id"].astype(str))) for b, g in grouped}
    times = grouped["timestamp"].min()
    return Shop(catalog, baskets, {str(b): t for b, t in times.items()}, sources)


# --------------------------------------------------------------------------- mentions


def mention(title: str, rng: random.Random) -> str:
    """How a shopper might name an item: lower-cased, often partial, sometimes a typo."""
    words = [w for w in re.sub(r"[^\w' -]", " ", title.lower()).split() if w]
    if not words:
        return title.lower()
    r = rng.random()
    if r < 0.35 or len(words) <= 2:
        out = words
    elif r < 0.6:
        out = [w for w in words if w not in COLOURS] or words
    elif r < 0.8:
        out = words[: max(2, len(words) - 1)]
    else:
        out = words[-2:] if rng.random() < 0.5 else words[:2]
    text = " ".join(out)
    if rng.random() < 0.06 and len(text) > 6:  # a typo: drop one letter
        i = rng.randrange(1, len(text) - 1)
        if text[i].isalpha():
            text = text[:i] + text[i + 1:]
    return text[:100]


def money(n: float, rng: random.Random) -> str:
    shown = f"{n:.2f}" if not float(n).is_integer() else str(int(n))
    return rng.choice(P.BUDGET_FORMATS).format(n=shown)


def _budget(rng: random.Random) -> float:
    if rng.random() < 0.15:
        return rng.choice((7.5, 12.5, 17.5, 22.5, 9.99, 14.99))
    return float(rng.choice((5, 8, 10, 12, 15, 20, 25, 30, 35, 40, 45, 50, 60, 75, 80, 100, 120, 150, 200)))


def _style(text: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.12:
        text = text.capitalize()
    elif r < 0.17:
        text = text.upper()
    if rng.random() < 0.12:
        text = rng.choice(("please ", "hey, ", "hi! ", "ok ", "hmm ")) + text
    if rng.random() < 0.08:
        text += rng.choice((" thanks", " 🙂", " x", "!!", " pls"))
    return text


def bundle_summary(titles: Sequence[str]) -> str:
    return "; ".join(f"[{i}] {t}" for i, t in enumerate(titles, 1)) if titles else "(none)"


# --------------------------------------------------------------------------- parse


def parse_example(shop: Shop, basket: list[str], rng: random.Random) -> tuple[str, str, Request]:
    """(message, bundle summary, target request) for one invoice."""
    cat = shop.catalog
    titles = [cat.get(i).title for i in basket]
    current = rng.sample(titles, k=min(len(titles), rng.randint(3, 5)))
    summary = bundle_summary(current)
    pos = rng.randint(1, len(current))
    pos_word = ORDINAL_WORDS.get(pos, str(pos))
    in_bundle = mention(current[pos - 1], rng)
    item = mention(rng.choice(titles), rng)
    other = mention(rng.choice([t for t in titles if t != current[pos - 1]] or titles), rng)
    need = rng.choice(P.OCCASIONS)
    intent = rng.choices(
        ["bundle_item", "bundle_need", "cheaper", "swap", "remove", "add", "lock", "more_like",
         "set_budget", "add_to_cart", "compare", "question", "smalltalk", "off_topic"],
        weights=[16, 14, 6, 9, 6, 7, 4, 5, 6, 6, 4, 5, 5, 9],
    )[0]
    fill: dict[str, Any] = {"item": item, "need": need, "pos": pos_word, "num": pos}
    req: dict[str, Any]
    if intent in ("bundle_item", "bundle_need"):
        summary = "(none)" if rng.random() < 0.7 else summary
        template = rng.choice(P.BUNDLE_ITEM if intent == "bundle_item" else P.BUNDLE_NEED)
        msg = template.format(**fill)
        req = {"intent": "bundle"}
        if intent == "bundle_item":
            req["items"] = [item]
            if rng.random() < 0.15:
                need2 = rng.choice(P.OCCASIONS)
                msg += f" for {need2}"
                req["need"] = need2
        else:
            req["need"] = need
        if rng.random() < 0.35:
            b = _budget(rng)
            msg += rng.choice(P.BUDGET_SUFFIX).format(budget=money(b, rng))
            req["budget"] = b
        if rng.random() < 0.12:
            size = rng.randint(2, 6)
            msg += rng.choice(P.SIZE_SUFFIX).format(size=size)
            req["size"] = size
        if rng.random() < 0.12:
            party = rng.choice((2, 4, 6, 8, 10, 12, 20))
            msg += rng.choice(P.PARTY_SUFFIX).format(party=party)
            req["party_size"] = party
        if rng.random() < 0.12:
            excl = rng.choice(("candles", "glass", "plastic", "pink", "christmas", "paper", "mugs", "bags"))
            msg += rng.choice(P.EXCLUDE_SUFFIX).format(excl=excl)
            req["exclude"] = [excl]
    elif intent == "cheaper":
        if rng.random() < 0.35:
            b = _budget(rng)
            # A stated amount is a budget change: one label for one meaning, so the model
            # is never asked to tell "down to £30" (cheaper) from "£30 instead" (set_budget).
            msg = rng.choice(P.CHEAPER_BUDGET).format(budget=money(b, rng))
            req = {"intent": "set_budget", "budget": b}
        else:
            msg = rng.choice(P.CHEAPER)
            req = {"intent": "cheaper"}
    elif intent == "swap":
        r = rng.random()
        if r < 0.45:
            msg = rng.choice(P.SWAP_POS).format(**fill)
            req = {"intent": "swap", "target": str(pos)}
        elif r < 0.8:
            msg = rng.choice(P.SWAP_ITEM).format(item=in_bundle)
            req = {"intent": "swap", "target": in_bundle}
        else:
            template = rng.choice(P.SWAP_WITH)
            msg = template.format(item=in_bundle, item2=other, pos=pos_word)
            req = {"intent": "swap", "target": str(pos) if "{pos}" in template else in_bundle, "items": [other]}
    elif intent in ("remove", "lock", "more_like"):
        bank = {"remove": P.REMOVE, "lock": P.LOCK, "more_like": P.MORE_LIKE}[intent]
        template = rng.choice(bank)
        msg = template.format(item=in_bundle, pos=pos_word, num=pos)
        req = {"intent": intent, "target": in_bundle if "{item}" in template else str(pos)}
    elif intent == "add":
        if rng.random() < 0.7:
            msg = rng.choice(P.ADD_ITEM).format(item=item)
            req = {"intent": "add", "items": [item]}
        else:
            msg = rng.choice(P.ADD_NEED).format(need=need)
            req = {"intent": "add", "need": need}
    elif intent == "set_budget":
        b = _budget(rng)
        msg = rng.choice(P.SET_BUDGET).format(budget=money(b, rng))
        req = {"intent": "set_budget", "budget": b}
    elif intent == "add_to_cart":
        if rng.random() < 0.6:
            msg = rng.choice(P.CART_ALL)
            req = {"intent": "add_to_cart"}
        else:
            template = rng.choice(P.CART_ONE)
            msg = template.format(item=in_bundle, pos=pos_word, num=pos)
            req = {"intent": "add_to_cart", "target": in_bundle if "{item}" in template else str(pos)}
    elif intent == "compare":
        msg = rng.choice(P.COMPARE).format(item=in_bundle, item2=other)
        req = {"intent": "compare", "items": [in_bundle, other]}
    elif intent == "question":
        msg = rng.choice(P.QUESTION).format(item=in_bundle)
        req = {"intent": "question", "target": in_bundle}
    elif intent == "smalltalk":
        msg = rng.choice(P.SMALLTALK)
        req = {"intent": "smalltalk"}
        summary = summary if rng.random() < 0.5 else "(none)"
    else:
        msg = rng.choice(P.OFF_TOPIC).format(item=in_bundle)
        req = {"intent": "off_topic"}
        summary = summary if rng.random() < 0.5 else "(none)"
    msg = _style(msg, rng) if intent not in ("smalltalk", "off_topic") or rng.random() < 0.5 else msg
    if msg.isupper():  # an all-caps message: the mentions in the target stay as written
        req = _upper_mentions(req)
    return msg, summary, Request.from_dict(req)


def _upper_mentions(req: dict[str, Any]) -> dict[str, Any]:
    out = dict(req)
    for key in ("items", "exclude"):
        if key in out:
            out[key] = [v.upper() for v in out[key]]
    for key in ("need", "target"):
        if key in out and isinstance(out[key], str):
            out[key] = out[key].upper()
    return out


def parse_messages(message: str, summary: str, request: Request | None = None) -> list[dict[str, str]]:
    msgs = [{"role": "user", "content": render("parse", bundle=summary, message=message)}]
    if request is not None:
        msgs.append({"role": "assistant", "content": request.to_json()})
    return msgs


# --------------------------------------------------------------------------- write


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
    need = rng.choice(P.OCCASIONS)
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
        need = rng.choice(P.OCCASIONS)
    else:
        need = "items that go with " + " and ".join(cat.get(a).title.lower() for a in anchors)
    return Bundle(tuple(ordered), need=need, budget=budget), need


def write_messages(bundle: Bundle, need: str, target: str | None = None) -> list[dict[str, str]]:
    msgs = [{"role": "user", "content": write_prompt(bundle, need)}]
    if target is not None:
        msgs.append({"role": "assistant", "content": target})
    return msgs


# --------------------------------------------------------------------------- dataset


def _example(kind: str, invoice: str, messages: list[dict[str, str]], **meta: Any) -> dict[str, Any]:
    return {"messages": messages, "meta": {"kind": kind, "invoice": invoice, **meta}}


def _make(shop: Shop, invoices: list[str], n: int, parse_share: float, rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n_parse = round(n * parse_share)
    n_write = n - n_parse
    order = list(invoices)
    rng.shuffle(order)
    it = iter(order * 3)
    made_parse = made_write = 0
    while made_write < n_write:
        inv = next(it)
        got = write_bundle(shop, shop.baskets[inv], rng)
        if got is None:
            continue
        bundle, need = got
        target = slot_text(bundle, need, variant=rng.randrange(1000))
        facts = [item_fact(bi) for bi in bundle.items]
        out.append(_example("write", inv, write_messages(bundle, need, target), need=need,
                            item_ids=list(bundle.item_ids), roles=[bi.role for bi in bundle.items],
                            locked=[bi.locked for bi in bundle.items],
                            facts=facts, budget=bundle.budget,
                            evidence=[[e.to_dict() for e in bi.reasons] for bi in bundle.items]))
        made_write += 1
    while made_parse < n_parse:
        inv = next(it)
        msg, summary, req = parse_example(shop, shop.baskets[inv], rng)
        out.append(_example("parse", inv, parse_messages(msg, summary, req), message=msg,
                            summary=summary, request=req.to_dict()))
        made_parse += 1
    rng.shuffle(out)
    return out


def build_dataset(config: DataConfig | None = None, shop: Shop | None = None) -> Dataset:
    config = config or DataConfig()
    shop = shop or load_training_shop(config.cutoff)
    cutoff = pd.Timestamp(config.cutoff)
    eligible = sorted(b for b, items in shop.baskets.items()
                      if len(items) >= config.min_invoice_items and shop.basket_time[b] < cutoff)
    rng = random.Random(config.seed)
    perm = np.random.default_rng(config.seed).permutation(len(eligible))
    n_held = max(1, round(len(eligible) * config.heldout_share))
    held = sorted(eligible[i] for i in perm[:n_held])
    train_inv = sorted(eligible[i] for i in perm[n_held:])
    train = _make(shop, train_inv, config.n_train, config.parse_share, rng)
    heldout = _make(shop, held, config.n_heldout, config.parse_share, random.Random(config.seed + 1))
    used = {ex["meta"]["invoice"] for ex in train + heldout}
    max_time = max(shop.basket_time[b] for b in used)
    stats = {
        "n_train": len(train),
        "n_heldout": len(heldout),
        "train_parse": sum(ex["meta"]["kind"] == "parse" for ex in train),
        "train_write": sum(ex["meta"]["kind"] == "write" for ex in train),
        "eligible_invoices": len(eligible),
        "max_invoice_time": str(max_time),
    }
    return Dataset(train, heldout, frozenset(train_inv), frozenset(held), max_time, stats)


def chat_only(examples: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The examples as train_lora wants them (messages only)."""
    return [{"messages": ex["messages"]} for ex in examples]
