"""Simulated shoppers (`cartsmith eval simulate`): the shopper's policy on a hand-made basket,
the metrics on hand-built transcripts, the JSON shape, and one real run through the product."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from evals.shopper import ShopperConfig, ShopperItem, SimulatedShopper, TextStats, title_words
from evals.sim_metrics import (
    VIOLATIONS,
    Transcript,
    TurnLog,
    difference,
    paired_recall,
    report_lines,
    summarise,
)
from evals.simulate import Answer, SimConfig, violations_of, write_outputs
from retrieval.catalog import Catalog
from retrieval.records import Item

# A tiny shop: a tea-party basket hidden among other goods. Words such as "teapot" or
# "floral" name a kind of product (several titles), so they can be hints.
CATALOG = [
    Item("t1", "Floral Teapot Blue", 12.0, category="tea things"),
    Item("t2", "Floral Teacup and Saucer", 4.0, category="tea things"),
    Item("t3", "Cake Stand Three Tier Floral", 9.5, category="baking"),
    Item("t4", "Lace Doily Paper Napkins", 1.5, category="party paper"),
    Item("t5", "Teapot Cosy Knitted", 6.0, category="tea things"),
    Item("x1", "Garden Trowel Green", 3.0, category="garden"),
    Item("x2", "Garden Gloves Green", 2.5, category="garden"),
    Item("x3", "Teacup Candle Green", 2.0, category="candles"),
    Item("x4", "Knitted Scarf Grey", 8.0, category="clothes"),
    Item("x5", "Paper Napkins Robot", 1.0, category="party paper"),
    Item("x6", "Cake Tin Robot", 5.0, category="baking"),
    Item("x7", "Lace Curtain Grey", 15.0, category="home"),
    Item("x8", "Three Tier Shelf Grey", 20.0, category="home"),
    Item("x9", "Doily Coasters Robot", 2.0, category="party paper"),
]
BASKET = tuple(ShopperItem(it.item_id, it.title, it.category, it.price) for it in CATALOG[:5])
CONFIG = ShopperConfig(min_word_titles=2, max_word_share=0.5)


def stats() -> TextStats:
    return TextStats((it.title for it in CATALOG), CONFIG)


def talk(shopper: SimulatedShopper, answers: list[list[str]]) -> list[str]:
    """Run the shopper against fixed answers (one list of shown ids per turn)."""
    texts = [shopper.opening().text]
    titles = {it.item_id: it.title for it in CATALOG}
    for shown in answers:
        shopper.react(shown)
        nxt = shopper.next_utterance(titles)
        if nxt is None:
            break
        texts.append(nxt.text)
    return texts


def test_shopper_reveals_at_most_two_new_hints_about_unfound_items_and_stops_after_five_turns() -> None:
    for seed in range(20):
        shopper = SimulatedShopper("b1", BASKET, stats(), CONFIG, seed)
        texts = talk(shopper, [["x1", "x2"], ["x5", "x6"], ["x7"], ["x9"], ["x8"], ["x3"]])
        assert len(texts) == 5 and shopper.done and shopper.next_utterance({}) is None
        given: set[tuple[str, str]] = set()
        for utterance in shopper.utterances[1:]:
            assert len(utterance.hints) <= 2
            for hint in utterance.hints:
                assert hint.kind in ("words", "category") and hint.item_id in shopper.targets
                assert (hint.kind, hint.text) not in given  # a hint is never repeated
                given.add((hint.kind, hint.text))
        assert not shopper.accepted
        assert sum(len(u.hints) for u in shopper.utterances[1:]) >= 4  # it does give hints


def test_shopper_accepts_only_hidden_items_and_stops_when_all_are_found() -> None:
    shopper = SimulatedShopper("b1", BASKET, stats(), CONFIG, seed=3)
    opening = shopper.opening()
    named = set(opening.named)
    targets = set(shopper.targets)
    assert targets == {it.item_id for it in BASKET} - named
    assert shopper.react(["x1", "t5", "t5", *named, "zz"]) == (("t5",) if "t5" in targets else ())
    assert set(shopper.accepted) <= targets and not (set(shopper.rejected) & {it.item_id for it in BASKET})
    assert shopper.react(["t5", "x2"]) == ()  # found already: not accepted twice
    shopper.react(sorted(targets))
    assert set(shopper.accepted) == targets and shopper.done and shopper.next_utterance({}) is None


def test_same_seed_gives_the_same_transcript_and_seeds_vary_it() -> None:
    answers = [["x1", "x4"], ["t4", "x7"], ["x8"], [], ["x9"]]
    runs = [talk(SimulatedShopper("b1", BASKET, stats(), CONFIG, seed), answers) for seed in (5, 5)]
    assert runs[0] == runs[1]
    others = {tuple(talk(SimulatedShopper("b1", BASKET, stats(), CONFIG, seed), answers)) for seed in range(8)}
    assert len(others) > 1


def test_openings_budget_and_refusals_follow_the_basket() -> None:
    kinds, budgets, refusals = set(), 0, 0
    for seed in range(30):
        shopper = SimulatedShopper("b1", BASKET, stats(), CONFIG, seed)
        opening = shopper.opening()
        kinds.add(shopper.opening_kind)
        if shopper.opening_kind == "item":
            assert opening.named and shopper.items[opening.named[0]].title in opening.text
        else:  # a need made of words the basket's titles share
            words = opening.hints[0].text.split()
            assert all(sum(w in [s for _, s in title_words(it.title)] for it in BASKET) >= 2 for w in words)
        if shopper.budget is not None:
            dearest = sorted((shopper.items[i].price or 0.0 for i in shopper.targets), reverse=True)[:4]
            assert shopper.budget >= sum(dearest) and f"£{shopper.budget:.0f}" in opening.text
            budgets += 1
        shopper.react(["x4", "x7", "x8"])  # grey things it does not want
        titles = {it.item_id: it.title for it in CATALOG}
        for _ in range(4):
            if shopper.next_utterance(titles) is None:
                break
        if shopper.excluded:  # a word of the unwanted grey things, never of its own basket
            refusals += 1
            assert not any(shopper.refuses(it.title) for it in BASKET)
            assert any(shopper.refuses(CATALOG[i].title) for i in (8, 11, 12))
            assert any(f"but no {u.exclude[0]}" in u.text for u in shopper.utterances if u.exclude)
    assert kinds == {"item", "need"} and 0 < budgets < 30 and refusals > 0


def turn(n: int, accepted: tuple[str, ...] = (), seconds: float = 1.0, **violations: int) -> TurnLog:
    return TurnLog(n, f"turn {n}", "bundle", ("a", "b"), 2, accepted, 0, 10.0, seconds,
                   {**dict.fromkeys(VIOLATIONS, 0), **violations})


def transcripts() -> list[Transcript]:
    return [
        Transcript("s", "1", None, "item", ("n",), ("p", "q", "r", "s"), None,
                   [turn(1, ("p",)), turn(2), turn(3, ("q", "r"), over_budget=1)]),
        Transcript("s", "2", None, "need", (), ("p", "q"), None,
                   [turn(1), turn(2), turn(3, ("q",), seconds=3.0, excluded_shown=2), turn(4), turn(5)]),
        Transcript("s", "3", None, "need", (), ("p", "q", "r"), None,
                   [turn(k, unknown_ids=1 if k == 5 else 0) for k in range(1, 6)]),
        Transcript("s", "4", None, "item", ("n",), ("p", "q"), None, [turn(1), turn(2, ("p", "q"))]),
    ]


def test_metrics_on_constructed_transcripts() -> None:
    r = summarise(transcripts())
    assert [r[f"hit@{k}"] for k in range(1, 6)] == [0.25, 0.5, 0.75, 0.75, 0.75]
    assert r["avg_turns_to_hit"] == pytest.approx((1 + 3 + 2) / 3, abs=1e-4)
    assert r["no_hit_share"] == 0.25
    assert r["final_cart_recall"] == pytest.approx((3 / 4 + 1 / 2 + 0 + 1) / 4, abs=1e-4)
    assert r["constraint_violations"] == {"over_budget": 1, "excluded_shown": 2, "reshown_rejected": 0,
                                          "unknown_ids": 1, "total": 4}
    assert r["turns_per_shopper"] == 15 / 4 and r["n_shoppers"] == 4
    assert r["turn_latency_s"]["p50"] == 1.0 and r["turn_latency_s"]["p95"] == 3.0
    assert "parsed_intents" not in r  # no language model behind these turns
    none = summarise(transcripts()[2:3])
    assert none["avg_turns_to_hit"] is None and none["hit@5"] == 0.0 and none["no_hit_share"] == 1.0


def test_paired_recall_compares_the_same_shoppers() -> None:
    ours = transcripts()
    theirs = [dataclasses.replace(t, turns=[]) for t in ours]  # the baseline found nothing
    paired = paired_recall(ours, theirs)
    assert paired["n"] == 4 and paired["assistant_better"] == 3 and paired["baseline_better"] == 0
    assert paired["mean_difference"] == pytest.approx((3 / 4 + 1 / 2 + 0 + 1) / 4, abs=1e-4)
    assert paired_recall(ours, ours)["mean_difference"] == 0.0


def test_violations_budget_refused_words_and_unknown_ids() -> None:
    catalog = Catalog(CATALOG)
    shopper = SimulatedShopper("b1", BASKET, stats(), CONFIG, seed=1)
    shopper.opening()
    shopper.budget = 20.0
    shopper.react(["x4"])  # seen, then refused by word
    shopper.excluded.append("grey")
    found = violations_of(shopper, Answer(("x4", "x7", "t1", "nope"), 20.5, "bundle", 0.1), catalog)
    assert found == {"over_budget": 1, "excluded_shown": 1, "reshown_rejected": 1, "unknown_ids": 1}
    clean = violations_of(shopper, Answer(("t1", "t2"), 16.0, "bundle", 0.1), catalog)
    assert not any(clean.values())


def test_json_shape_and_report(tmp_path: Path) -> None:
    a, b = summarise(transcripts()), summarise(transcripts()[1:])
    out = tmp_path / "sim.json"
    write_outputs({"assistant": a, "baseline": b}, {"assistant": transcripts()}, out,
                  tmp_path / "transcripts.jsonl")
    data = json.loads(out.read_text())
    assert set(data) == {"assistant", "baseline"}
    for r in data.values():
        for key in [f"hit@{k}" for k in range(1, 6)] + ["avg_turns_to_hit", "final_cart_recall"]:
            assert key in r and (r[key] is None or 0 <= r[key] <= 5)
    lines = (tmp_path / "transcripts.jsonl").read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["basket_id"] == "1"
    assert difference(a, b)["hit@1"] == pytest.approx(a["hit@1"] - b["hit@1"])
    assert "final-cart recall: the assistant is" in report_lines({"assistant": a, "baseline": b})[-1]


def test_sim_config_refuses_bad_values() -> None:
    from retrieval.errors import ConfigError

    with pytest.raises(ConfigError, match=r"simulate\.writer"):
        SimConfig(writer="poet")
    with pytest.raises(ConfigError, match=r"shopper\.max_hints"):
        ShopperConfig(max_hints=3)


@pytest.mark.slow
def test_real_run_with_two_shoppers(tmp_path: Path) -> None:
    from assistant.dialogue.service import Assistant, AssistantConfig
    from evals.simulate import check_training_only, run, training_index
    from retrieval.errors import IndexStateError
    from retrieval.shop_index import ShopIndex, ensure_default_index

    config = SimConfig(n=2)
    folder, _ = training_index(config, echo=lambda _: None)
    index = ShopIndex.load(folder)
    with pytest.raises(IndexStateError, match="would leak"):  # the default index saw the test period
        check_training_only(ShopIndex.load(ensure_default_index()), config.split_date)
    assistant = Assistant(AssistantConfig(sessions=str(tmp_path / "s.sqlite3"), writer="template"), index=index)
    outcome = run(config, echo=lambda _: None, assistant=assistant)
    assert set(outcome.results) == {"assistant", "baseline"}
    assert [t.basket_id for t in outcome.transcripts["assistant"]] == \
        [t.basket_id for t in outcome.transcripts["baseline"]]
    for name, ts in outcome.transcripts.items():
        assert len(ts) == 2 and outcome.results[name]["n_shoppers"] == 2
        for t in ts:
            assert 1 <= len(t.turns) <= 5 and set(t.accepted) <= set(t.targets)
            assert all(i in index.catalog for turn in t.turns for i in turn.shown)
    for a, b in zip(outcome.transcripts["assistant"], outcome.transcripts["baseline"], strict=True):
        assert a.turns[0].text == b.turns[0].text  # one shopper, one opening, both systems
    assert outcome.results["baseline"]["new_items_per_turn"] == 4.0
    assert assistant.store.count() == 0  # every simulated session was deleted


def test_reports_are_written_whole_into_new_folders(tmp_path: Path) -> None:
    from retrieval.storage import write_json

    target = tmp_path / "new" / "report.json"
    write_json(target, {"pass_rate": 0.5})
    assert json.loads(target.read_text(encoding="utf-8")) == {"pass_rate": 0.5}
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temporary file left
