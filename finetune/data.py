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
invoice (nor the bundle built from it) feeds both sides. The shop is `training_shop`'s;
the examples are made by `parse_examples` and `write_examples`. `build_dataset` is deterministic
for a seed; `data_hash` hashes the examples for the adapter manifest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assistant.write.writer import item_fact, slot_text
from retrieval.config import Config, check

# Re-exported: the examples' makers and the shop they read, through this one module.
from .parse_examples import bundle_summary, mention, money, parse_example, parse_messages
from .training_shop import CUTOFF, Shop, load_training_shop
from .write_examples import need_bundle, write_bundle, write_messages

__all__ = [
    "CUTOFF", "DataConfig", "Dataset", "Shop", "build_dataset", "bundle_summary", "chat_only",
    "data_hash", "load_training_shop", "mention", "money", "need_bundle", "parse_example",
    "parse_messages", "write_bundle", "write_messages",
]


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """n_train / n_heldout: examples made from training / held-out invoices; parse_share:
    the share of parse examples (the rest are write examples); heldout_share: the share of
    eligible invoices held out; cutoff: invoices from this date on are never read;
    role_share: the share of occasion write examples built kind by kind with roles from the
    needs book (`write_examples.role_bundle`). 0 (the default) rebuilds the shipped adapter's
    data exactly, which the test-set independence checks read; the next training run sets it."""

    n_train: int = 1200
    n_heldout: int = 300
    parse_share: float = 0.6
    heldout_share: float = 0.1
    seed: int = 7
    cutoff: str = CUTOFF
    min_invoice_items: int = 4
    role_share: float = 0.0

    def validate(self) -> None:
        check(self.n_train >= 1, "data.n_train", "must be >= 1")
        check(self.n_heldout >= 1, "data.n_heldout", "must be >= 1")
        check(0 <= self.parse_share <= 1, "data.parse_share", "must be within [0, 1]")
        check(0 < self.heldout_share < 1, "data.heldout_share", "must be between 0 and 1")
        check(self.min_invoice_items >= 3, "data.min_invoice_items", "must be >= 3")
        check(0 <= self.role_share <= 1, "data.role_share", "must be within [0, 1]")
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


# --------------------------------------------------------------------------- dataset


def _example(kind: str, invoice: str, messages: list[dict[str, str]], **meta: Any) -> dict[str, Any]:
    return {"messages": messages, "meta": {"kind": kind, "invoice": invoice, **meta}}


def _make(shop: Shop, invoices: list[str], n: int, parse_share: float, rng: random.Random,
          role_share: float = 0.0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n_parse = round(n * parse_share)
    n_write = n - n_parse
    order = list(invoices)
    rng.shuffle(order)
    it = iter(order * 3)
    made_parse = made_write = 0
    while made_write < n_write:
        inv = next(it)
        got = write_bundle(shop, shop.baskets[inv], rng, role_share)
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
    train = _make(shop, train_inv, config.n_train, config.parse_share, rng, config.role_share)
    heldout = _make(shop, held, config.n_heldout, config.parse_share, random.Random(config.seed + 1),
                    config.role_share)
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
