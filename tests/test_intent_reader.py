"""The intent reader: the shipped artifact and its manifest, the shortlist it gives the
parser, the guide and the remote schema narrowed to it, its data, and its errors."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from independence import normalise, training_messages

from assistant.dialogue.service import AssistantConfig
from assistant.records import INTENTS, Request
from assistant.understand.intent_reader import (
    FEATURES,
    MANIFEST_FILE,
    SHIPPED_INTENT_READER,
    WEIGHTS_FILE,
    WORD_BITS,
    IntentReader,
    features,
    reader_text,
    word_features,
)
from assistant.understand.parser import RequestParser, request_json_schema
from assistant.understand.request_guide import RequestJsonGuide
from retrieval.errors import ConfigError

BUNDLE = "[1] Lunch Bag Red Retrospot; [2] Jumbo Bag Pink Polkadot; [3] Pack Of 72 Retrospot Cake Cases"

# Written for this test, one by one (never generated; checked against the training rows below).
READ_RIGHT = [
    ("many thanks for all your help, ttyl", False, "smalltalk"),
    ("hello again, how are things with you", False, "smalltalk"),
    ("will the trains be running on boxing day", False, "off_topic"),
    ("could you squeeze some paper napkins in with these too", True, "add"),
    ("the lunch bag is exactly right, leave it just as it is", True, "lock"),
    ("we already own loads of cake cases so take them away", True, "remove"),
    ("this is more than I can afford right now, anything less dear?", True, "cheaper"),
    ("a present for my nephew who loves dinosaurs, around £15", False, "bundle"),
]


@pytest.fixture(scope="module")
def reader(shop_index) -> IntentReader:
    embedder = shop_index.embedder
    return IntentReader.load(SHIPPED_INTENT_READER, embedder.encode, embedder.model_id)


def test_the_shipped_reader_describes_itself(reader: IntentReader, shop_index) -> None:
    manifest = reader.manifest
    assert manifest["features"] == FEATURES
    assert manifest["embedding_model"] == shop_index.embedder.model_id
    assert set(manifest["classes"]) == set(INTENTS)
    assert manifest["heldout_accuracy"] >= 0.9
    assert manifest["n_train"] >= 15_000 and len(manifest["data_hash"]) == 16
    assert (SHIPPED_INTENT_READER / WEIGHTS_FILE).stat().st_size < 1_000_000  # hashed words, float16: 0.65 MB


def test_these_test_messages_are_not_training_rows() -> None:
    known = training_messages()
    assert not [say for say, _, _ in READ_RIGHT if normalise(say) in known]


@pytest.mark.parametrize(("say", "on_screen", "intent"), READ_RIGHT)
def test_the_reader_shortlists_what_the_shopper_asks_for(reader: IntentReader, say: str, on_screen: bool,
                                                          intent: str) -> None:
    probabilities = reader.probabilities(say, on_screen)
    assert abs(sum(probabilities.values()) - 1) < 1e-4
    assert intent in reader.shortlist(say, on_screen), sorted(probabilities.items(), key=lambda kv: -kv[1])[:3]


def _toy_reader(tmp_path: Path, **manifest_changes: object) -> Path:
    """A three-intent reader over a 2-number embedding: one weight per class."""
    coef = np.zeros((3, 5 + (2 << WORD_BITS)), dtype=np.float32)
    coef[0, 0], coef[1, 1], coef[2, 4] = 4.0, 4.0, 4.5  # smalltalk <- x0, off_topic <- x1, swap <- bundle
    np.savez(tmp_path / WEIGHTS_FILE, classes=np.asarray(["smalltalk", "off_topic", "swap"]), coef=coef,
             intercept=np.zeros(3, dtype=np.float32))
    manifest = {"features": FEATURES, "embedding_model": "toy", **manifest_changes}
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    return tmp_path


def _toy_encode(texts):
    return np.asarray([[1.0, 0.0] if "hi" in t else [0.0, 1.0] for t in texts], dtype=np.float32)


def test_the_shortlist_holds_the_mass_with_the_fewest_intents(tmp_path: Path) -> None:
    reader = IntentReader.load(_toy_reader(tmp_path), _toy_encode, "toy")
    assert reader.shortlist("hi", False, mass=0.9) == ("smalltalk",)  # e^4 / (e^4 + 2) = 0.96
    assert reader.shortlist("hi", False, mass=0.99) == ("smalltalk", "off_topic", "swap")
    assert reader.shortlist("hi", False, mass=0.99, most=2) == ("smalltalk", "off_topic")
    # the bundle on screen is a feature of its own, and its interaction with the words
    assert reader.shortlist("hi", True, mass=0.9) == ("swap", "smalltalk")
    assert reader.shortlist("hi", True) == ("swap",)  # the majority decides by default
    assert features(np.ones((1, 2)), [True], [""])[0, :5].tolist() == [1, 1, 1, 1, 1]


def test_the_words_are_hashed_the_same_in_every_process_and_split_by_the_bundle_on_screen() -> None:
    words = word_features(["Swap the mug instead", "swap the MUG instead"], [False, True])
    size = 1 << WORD_BITS
    assert np.flatnonzero(words[0]).tolist() == np.flatnonzero(words[1][:size]).tolist()  # casing is read away
    assert words[0, size:].sum() == 0 and words[1, size:].sum() > 0
    assert abs(float(np.linalg.norm(words[0])) - 1) < 1e-6
    # crc32 is fixed: a bucket never depends on Python's per-process hash seed
    assert int(np.flatnonzero(word_features(["instead"], [False])[0])[0]) == zlib.crc32(b"instead") & (size - 1)


def test_typography_and_capitals_read_the_same() -> None:
    assert reader_text("I DON’T  want “candles”") == "i don't want \"candles\""


@pytest.mark.parametrize(("change", "needle"), [
    ({"features": "words/v0"}, "refit it"),
    ({"embedding_model": "another-model"}, "trained on embeddings of 'another-model'"),
])
def test_a_reader_of_another_kind_is_refused_with_the_fix(tmp_path: Path, change: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=r"assistant\.intent_reader") as caught:
        IntentReader.load(_toy_reader(tmp_path, **change), _toy_encode, "toy")
    assert needle in str(caught.value)


def test_a_missing_reader_names_the_files_and_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no intent reader in .*intent_reader\.npz.*intent_reader = \"none\""):
        IntentReader.load(tmp_path, _toy_encode)


def test_the_config_checks_the_mass_and_can_do_without_a_reader(shop_index) -> None:
    with pytest.raises(ConfigError, match=r"assistant\.intent_shortlist_mass"):
        AssistantConfig(intent_shortlist_mass=0)
    assert AssistantConfig(intent_reader="none").load_intent_reader(shop_index.embedder) is None
    with pytest.raises(ConfigError, match="no intent reader in"):
        AssistantConfig(intent_reader="/nowhere").load_intent_reader(shop_index.embedder)


def test_the_parser_may_only_spell_an_intent_of_the_shortlist(tmp_path: Path, monkeypatch) -> None:
    import assistant.llm.generation as llm

    calls: list[dict] = []

    def fake_generate(loaded, messages, **kwargs):
        calls.append(kwargs)
        guide = kwargs["guide"]
        assert not guide.allows('{"intent": "', "bundle")  # outside the shortlist
        assert guide.allows('{"intent": "', "swap")
        return type("Gen", (), {"text": kwargs["prefill"] + 'swap", "target": "2"', "finish_reason": "stop", "n_new_tokens": 5,
                                "n_prompt_tokens": 40})()

    monkeypatch.setattr(llm, "generate", fake_generate)
    reader = IntentReader.load(_toy_reader(tmp_path), _toy_encode, "toy")
    parser = RequestParser(object(), intent_reader=reader, shortlist_mass=0.9)
    result = parser.parse("not the second one", BUNDLE)
    assert result.request == Request("swap", target="2")
    assert isinstance(calls[0]["guide"], RequestJsonGuide) and calls[0]["guide"].intents == ("swap", "off_topic")
    assert parser.intents_for("hi", "(none)") == (("smalltalk",), "smalltalk")  # 0.96: alone, and sure
    assert RequestParser(object()).intents_for("hi", "(none)") == (INTENTS, None)


def test_the_remote_schema_names_only_the_shortlist() -> None:
    schema = request_json_schema(("swap", "remove"))
    assert schema["properties"]["intent"]["enum"] == ["swap", "remove"]
    assert request_json_schema()["properties"]["intent"]["enum"] == list(INTENTS)


def test_the_readers_own_rows_cover_every_intent_about_real_items() -> None:
    from finetune.data import DataConfig, build_dataset, load_training_shop
    from finetune.intent_data import intent_rows

    config = DataConfig(n_train=200, n_heldout=40)
    shop = load_training_shop(config.cutoff)
    dataset = build_dataset(config, shop)
    train, held = intent_rows(dataset, shop, 600, 3)
    own = train[-600:]
    assert {r.intent for r in own} == set(INTENTS) - {"bundle"}
    assert all(r.message.strip() for r in own)
    assert all(r.has_bundle for r in own if r.intent in ("swap", "remove", "lock", "add", "cheaper"))
    assert len(held) >= 50
    assert not [r.message for r in own if "{" in r.message or "}" in r.message]  # every placeholder filled


@pytest.mark.parametrize(("say", "parsed", "sure", "served"), [
    # no cart words: a cart request the reader is not sure of is a bundle request (nothing is added)
    ("I'll grab the third one, just that for now", Request("add_to_cart", target="3"), None, "bundle"),
    ("I'll grab the third one, just that for now", Request("add_to_cart", target="3"), "add_to_cart", "add_to_cart"),
    # cart words in a question the reader is sure of: still a question
    ("which things did I put in my basket earlier?", Request("question"), "question", "question"),
    ("put them in my basket", Request("bundle"), None, "add_to_cart"),
    ("put them in my basket", Request("bundle"), "bundle", "bundle"),
])
def test_a_sure_reader_outweighs_the_cart_words(say: str, parsed: Request, sure: str | None, served: str) -> None:
    from assistant.dialogue.chain import served_request

    assert served_request(parsed, say, sure).intent == served


def test_the_shipped_reader_was_fitted_on_the_rows_its_config_rebuilds(reader: IntentReader) -> None:
    from finetune.data import build_dataset, load_training_shop
    from finetune.intent_data import intent_rows
    from finetune.intent_reader_fit import rows_hash
    from finetune.run import DEFAULT_CONFIG, load_configs, load_intent_reader_config

    data_config, _, _ = load_configs(DEFAULT_CONFIG)
    reader_config = load_intent_reader_config(DEFAULT_CONFIG)
    shop = load_training_shop(data_config.cutoff)
    dataset = build_dataset(data_config, shop)
    train, _ = intent_rows(dataset, shop, reader_config.n_own, reader_config.seed)
    assert reader.manifest["data_hash"] == rows_hash(train)
    assert reader.manifest["adapter_data_hash"] == dataset.hash
