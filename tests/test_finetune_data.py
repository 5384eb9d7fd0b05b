"""The fine-tuning data: training period only, split by invoice, valid targets."""

from __future__ import annotations

import json
import random
import re

import pandas as pd
import pytest

from assistant.records import Request
from assistant.write.answer_checks import (
    ANY_SLOT,
    MONEY,
    check_reasons,
    check_slots,
    parse_slot_lines,
)
from finetune.data import (
    CUTOFF,
    DataConfig,
    build_dataset,
    data_hash,
    load_training_shop,
    mention,
    money,
)
from retrieval.errors import ConfigError


@pytest.fixture(scope="module")
def shop():
    return load_training_shop()


@pytest.fixture(scope="module")
def dataset(shop):
    return build_dataset(DataConfig(n_train=150, n_heldout=50, seed=3), shop)


def test_only_training_period_invoices(shop, dataset):
    cutoff = pd.Timestamp(CUTOFF)
    assert all(t < cutoff for t in shop.basket_time.values())
    used = {ex["meta"]["invoice"] for ex in dataset.train + dataset.heldout}
    assert all(shop.basket_time[b] < cutoff for b in used)
    assert dataset.max_invoice_time < cutoff


def test_config_refuses_the_test_period():
    with pytest.raises(ConfigError):
        DataConfig(cutoff="2011-11-01")


def test_split_by_invoice_has_no_overlap(dataset):
    assert not dataset.train_invoices & dataset.heldout_invoices
    train_used = {ex["meta"]["invoice"] for ex in dataset.train}
    held_used = {ex["meta"]["invoice"] for ex in dataset.heldout}
    assert train_used <= dataset.train_invoices and held_used <= dataset.heldout_invoices
    assert not train_used & held_used


def test_mix_and_determinism(shop, dataset):
    kinds = [ex["meta"]["kind"] for ex in dataset.train]
    assert kinds.count("parse") == 90 and kinds.count("write") == 60
    again = build_dataset(DataConfig(n_train=150, n_heldout=50, seed=3), shop)
    assert data_hash(again.train) == data_hash(dataset.train) == dataset.hash


def test_parse_targets_round_trip(dataset):
    intents = set()
    for ex in dataset.train + dataset.heldout:
        if ex["meta"]["kind"] != "parse":
            continue
        user, assistant = ex["messages"]
        assert user["role"] == "user" and "Shopper: " in user["content"]
        data = json.loads(assistant["content"])
        request = Request.from_dict(data)
        assert request.to_json() == assistant["content"]
        assert assistant["content"].startswith('{"intent": "')
        intents.add(request.intent)
    assert {"bundle", "swap", "off_topic"} <= intents


def test_write_targets_have_no_titles_or_prices_and_one_line_per_slot(shop, dataset):
    titles = {item.title.lower() for item in shop.catalog.items}
    for ex in dataset.train + dataset.heldout:
        if ex["meta"]["kind"] != "write":
            continue
        target = ex["messages"][1]["content"]
        n = len(ex["meta"]["item_ids"])
        assert 3 <= n <= 6
        assert check_slots(target, n), target
        assert check_reasons(target, ex["meta"]["facts"]), target
        assert MONEY.search(target) is None
        lowered = target.lower()
        assert not any(t in lowered for t in titles if len(t) > 8), target
        opening, _slots = parse_slot_lines(target)
        assert opening and not ANY_SLOT.search(opening)
        for item_id in ex["meta"]["item_ids"]:
            assert shop.catalog.get(item_id).title in ex["messages"][0]["content"]


def test_mentions_and_money_formats():
    rng = random.Random(0)
    for _ in range(50):
        text = mention("Lunch Bag Red Retrospot", rng)
        assert text == text.lower() and 0 < len(text) <= 100
    shown = {money(20.0, random.Random(i)) for i in range(60)}
    assert any("quid" in s for s in shown) and any("£20" in s for s in shown)
    assert all(re.search(r"20", s) for s in shown)


@pytest.fixture(scope="module")
def dataset_with_roles(shop):
    return build_dataset(DataConfig(n_train=150, n_heldout=50, seed=3, role_share=0.5), shop)


def test_occasion_bundles_with_roles_teach_each_line_its_own_role(shop, dataset, dataset_with_roles):
    """Some write examples are kind-by-kind bundles as the composer serves them: each line's
    evidence is its kind's role from the shipped needs book, and the target tells that role,
    passing the words check served replies must pass (`answer_words`)."""
    from assistant.records import Bundle, BundleItem
    from assistant.write.writer import claims_of, numbers_of, words_of
    from retrieval.records import Evidence

    def role_examples(data):
        return [ex for ex in data.train + data.heldout if ex["meta"]["kind"] == "write"
                and all(evs and evs[0]["kind"] == "role" for evs in ex["meta"]["evidence"])]

    assert not role_examples(dataset)  # role_share 0: the shipped adapter's data, rebuilt as it was
    with_roles = role_examples(dataset_with_roles)
    assert len(with_roles) >= 5
    for ex in with_roles:
        bundle = Bundle(tuple(
            BundleItem(shop.catalog.get(item_id), (Evidence(evs[0]["kind"], evs[0]["text"], evs[0]["numbers"]),))
            for item_id, evs in zip(ex["meta"]["item_ids"], ex["meta"]["evidence"], strict=True)))
        target = ex["messages"][-1]["content"]
        need = ex["meta"]["need"]
        assert check_reasons(target, numbers_of(bundle), claims_of(bundle), words_of(bundle, need)), target
        _, slots = parse_slot_lines(target)
        for n, evs in enumerate(ex["meta"]["evidence"], 1):
            role = evs[0]["text"]
            assert slots[n][0] == role[:1].lower() + role[1:] + "."
