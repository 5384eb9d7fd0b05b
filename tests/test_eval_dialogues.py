"""Scripted dialogue evals: the YAML format's errors, every checker on hand-built replies,
the summary and report files, and one real run of shipped scripts through the Assistant."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from assistant.records import Bundle, BundleDiff, BundleItem, CartLine, Reply, Request
from evals.dialogue_format import (
    SHIPPED_DIR,
    Expect,
    Script,
    ScriptError,
    ScriptTurn,
    load_script,
    load_scripts,
)
from evals.dialogues import DialogueRunner, RunResult, ScriptResult, cli_main
from evals.expectations import EXPECTATIONS, CheckContext, Observation, Rejection, evaluate
from evals.judge import CatalogFile, PromptTemplates, money_amounts, ungrounded
from evals.report import summarize, write_json, write_report
from retrieval.records import Item

KINDS = ", ".join(sorted(EXPECTATIONS))


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> tuple[str, Path]:
    path = _write(tmp_path, text)
    with pytest.raises(ScriptError) as info:
        load_script(path)
    return str(info.value), path


# --------------------------------------------------------------------------- the format


def test_unknown_expectation_names_file_turn_and_key(tmp_path: Path) -> None:
    message, path = _error(tmp_path, """
        name: x
        description: d
        turns:
          - say: hello
            expect: {kind: smalltalk}
          - say: tea party
            expect: {itmes: 3}
    """)
    assert message == f"{path}, turn 2, key 'expect.itmes': unknown expectation kind; known kinds: {KINDS}"


def test_missing_say_names_the_turn(tmp_path: Path) -> None:
    message, path = _error(tmp_path, """
        name: x
        description: d
        turns:
          - say: hello
            expect: {kind: smalltalk}
          - expect: {kind: bundle}
    """)
    assert message == f"{path}, turn 2, key 'say': missing; a turn needs one of say, say_repeat, restart, cart_add"


def test_bad_type_says_what_was_expected(tmp_path: Path) -> None:
    message, path = _error(tmp_path, """
        name: x
        description: d
        turns:
          - say: tea party
            expect: {items: three}
    """)
    assert message == f"{path}, turn 1, key 'expect.items': expected a whole number >= 0 or {{min, max}}, got 'three'"


@pytest.mark.parametrize(("body", "expected"), [
    ("name: x\ndescription: d\nturn: []\n", "key 'turn': unknown key; known keys: name, description, catalog, "
                                          "user_id, turns"),
    ("name: x\nturns: [{say: hi, expect: {kind: smalltalk}}]\n", "key 'description': missing"),
    ("name: x\ndescription: d\nturns: [{say: hi}]\n", "turn 1, key 'expect': missing; every message needs "
                                                      "expectations"),
    ("name: x\ndescription: d\nturns: [{say: hi, expect: {kind: happy}}]\n",
     "turn 1, key 'expect.kind': expected one of bundle, clarify, answer, refusal, smalltalk, no_match, cart, "
     "error (or a list of them), got 'happy'"),
    ("name: x\ndescription: d\nturns: [{say: hi, expect: {kind: bundle}}, {restart: true, expect: {kind: bundle}}]\n",
     "turn 2, key 'expect.kind': a restart turn has no reply; it may only expect cart"),
    ("name: x\ndescription: d\nturns: [{say: hi, restart: true, expect: {kind: bundle}}]\n",
     "turn 1, key 'restart': a turn has exactly one of say, say_repeat, restart, cart_add; got say, restart"),
    ("name: x\ndescription: d\nturns: [{say: hi, expect: {cart: {count: 1, holds: [a]}}}]\n",
     "turn 1, key 'expect.cart': unknown key(s) holds; known: count, contains, lacks, same_as_bundle"),
    ("name: x\ndescription: d\nturns: [{say_repeat: {text: ab, times: 0}, expect: {rejected: true}}]\n",
     "turn 1, key 'say_repeat.times': expected a whole number from 1 to 5,000,000 (at most 10,000,000 "
     "characters), got 0"),
    ("name: x\ndescription: d\ncatalog: no/such/index\nturns: [{say: hi, expect: {kind: bundle}}]\n",
     "key 'catalog': no index folder at no/such/index"),
    ("name: x\ndescription: d\nturns: [{say: hi, expect: {latency_max_s: -1}}]\n",
     "turn 1, key 'expect.latency_max_s': expected a number > 0, got -1"),
])
def test_format_errors(tmp_path: Path, body: str, expected: str) -> None:
    message, path = _error(tmp_path, body)
    assert message.startswith(f"{path}, {expected}"), message


def test_say_repeat_builds_the_long_text_and_values_are_normalised(tmp_path: Path) -> None:
    script = load_script(_write(tmp_path, """
        name: long
        description: d
        user_id: 12347
        turns:
          - say_repeat: {text: "ab ", times: 40000, end: "!"}
            expect: {rejected: {field: text, limit: 2000}, items: {min: 1}, contains_item: 22727}
          - restart: true
          - cart_add: 22727
            expect: {cart: 1}
    """))
    first = script.turns[0]
    assert len(first.text) == 120_001 and first.text.endswith("ab !")
    values = {e.kind: e.value for e in first.expect}
    assert values == {"rejected": {"rejected": True, "field": "text", "limit": 2000}, "items": (1, None),
                      "contains_item": ("22727",)}
    assert script.user_id == "12347" and script.turns[2].item == "22727"
    assert [t.action for t in script.turns] == ["say", "restart", "cart_add"]


def test_duplicate_names_and_a_bad_script_make_the_command_exit_2(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    body = "name: same\ndescription: d\nturns: [{say: hi, expect: {kind: smalltalk}}]\n"
    _write(tmp_path, body, "a.yaml")
    _write(tmp_path, body, "b.yaml")
    with pytest.raises(ScriptError, match=r"b\.yaml, key 'name': 'same' is also the name of .*a\.yaml"):
        load_scripts([tmp_path])
    args = argparse.Namespace(paths=[tmp_path], report=None, json_out=None, writer="template")
    assert cli_main(args) == 2
    assert "bad script:" in capsys.readouterr().err


def test_shipped_scripts_cover_the_brief() -> None:
    scripts = load_scripts([])
    assert len(scripts) >= 40 and all(s.path.parent == SHIPPED_DIR for s in scripts)
    turns = [t for s in scripts for t in s.turns]
    kinds = {e.kind for t in turns for e in t.expect}
    assert kinds == set(EXPECTATIONS)  # every expectation kind is used by some script
    assert any(t.action == "restart" for t in turns) and any(t.action == "cart_add" for t in turns)
    assert any(len(t.text) >= 100_000 for t in turns) and any(t.action == "say" and t.text == "" for t in turns)
    assert max(sum(t.action == "say" for t in s.turns) for s in scripts) >= 6


# --------------------------------------------------------------------------- checkers

RED = Item("1", "Lunch Bag Red Retrospot", 1.65, category="bag & handbag")
JUMBO = Item("2", "Jumbo Bag Red Retrospot", 2.08, category="bag & handbag")
NAPKINS = Item("3", "Set/20 Red Retrospot Paper Napkins", 0.85, category="paper napkins & tins")
CANDLE = Item("4", "Set of 6 Girls Celebration Candles", 1.25, category="t-light candles")
CLOCK = Item("5", "Alarm Clock Bakelike Red", 3.75, category="drawer knob & clock")
ITEMS = {it.item_id: it for it in (RED, JUMBO, NAPKINS, CANDLE, CLOCK)}


def _bundle(*items: Item, budget: float | None = None, locked: tuple[str, ...] = (),
            diff: BundleDiff | None = None) -> Bundle:
    return Bundle(tuple(BundleItem(it, locked=it.item_id in locked) for it in items), "lunch", budget,
                  diff or BundleDiff())


def _obs(kind: str = "bundle", bundle: Bundle | None = None, text: str | None = None, intent: str = "bundle",
         budget: float | None = None, cart: tuple[CartLine, ...] = (), latency: float = 0.5,
         constraints: dict[str, Any] | None = None) -> Observation:
    if text is None:
        text = "\n".join(f"{n}. {bi.item.title} (£{bi.item.price:.2f}) — good" for n, bi in
                         enumerate(bundle.items, 1)) + f"\nTotal: £{bundle.total:.2f}" if bundle else "Hello!"
    reply = Reply(text=text, kind=kind, request=Request(intent=intent, budget=budget), bundle=bundle, cart=cart)
    return Observation(1, "say", "msg", reply=reply, latency_s=latency, cart=cart, constraints=constraints or {})


CATALOG = CatalogFile.from_frame(pd.DataFrame([{"item_id": it.item_id, "title": it.title, "price": it.price,
                                                 "category": it.category} for it in ITEMS.values()]))
TEMPLATE = ("You are a friendly shop assistant. Never write item names or prices: write [n].\n"
            "Shopper wants: {need}")
CTX = CheckContext(CATALOG, PromptTemplates.from_texts([TEMPLATE]))


def check(kind: str, raw: Any, obs: Observation, ctx: CheckContext = CTX) -> tuple[bool, str]:
    outcome = evaluate(kind, EXPECTATIONS[kind].parse(raw), raw, obs, ctx)
    assert outcome.reason  # every outcome says why, in one line
    assert "\n" not in outcome.reason
    return outcome.passed, outcome.reason


BASE = _bundle(RED, JUMBO, NAPKINS, budget=5.0)


CASES = [
    ("kind", "bundle", _obs(bundle=BASE), CTX, True),
    ("kind", ["clarify", "no_match"], _obs(bundle=BASE), CTX, False),
    ("intent", "bundle", _obs(bundle=BASE), CTX, True),
    ("intent", "cheaper", _obs(bundle=BASE), CTX, False),
    ("items", 3, _obs(bundle=BASE), CTX, True),
    ("items", {"min": 4}, _obs(bundle=BASE), CTX, False),
    ("items", 0, _obs("no_match", text="Sorry"), CTX, True),
    ("total_max", 4.58, _obs(bundle=BASE), CTX, True),
    ("total_max", 4.5, _obs(bundle=BASE), CTX, False),
    ("budget", 5, _obs(bundle=BASE), CTX, True),
    ("budget", 20, _obs(bundle=BASE), CTX, False),
    ("within_budget", True, _obs(bundle=BASE), CTX, True),
    ("within_budget", True, _obs(bundle=_bundle(RED, JUMBO, budget=3.0)), CTX, False),
    ("within_budget", True, _obs(bundle=_bundle(RED, JUMBO)), CTX, False),  # no budget at all
    ("total_below_previous", True, _obs(bundle=_bundle(RED, NAPKINS)), CheckContext(previous_bundle=BASE), True),
    ("total_below_previous", True, _obs(bundle=BASE), CheckContext(previous_bundle=BASE), False),
    ("total_below_previous", True, _obs(bundle=BASE), CTX, False),  # nothing before
    ("excludes", ["candles"], _obs(bundle=BASE), CTX, True),
    ("excludes", "candles", _obs(bundle=_bundle(RED, CANDLE)), CTX, False),
    ("contains_item", ["1", "Jumbo Bag"], _obs(bundle=BASE), CTX, True),
    ("contains_item", "Alarm Clock", _obs(bundle=BASE), CTX, False),
    ("lacks_item", ["5"], _obs(bundle=BASE), CTX, True),
    ("lacks_item", ["napkins"], _obs(bundle=BASE), CTX, False),
    ("relevant", {"words": ["retrospot"], "at_least": 3}, _obs(bundle=BASE), CTX, True),
    ("relevant", ["bag"], _obs(bundle=BASE), CTX, False),  # the napkins are not a bag
    ("category_present", "bag & handbag", _obs(bundle=BASE), CTX, True),
    ("category_present", "t-light candles", _obs(bundle=BASE), CTX, False),
    ("category_absent", "t-light candles", _obs(bundle=BASE), CTX, True),
    ("category_absent", "Bag & Handbag", _obs(bundle=BASE), CTX, False),
    ("grounded", True, _obs(bundle=BASE), CTX, True),
    ("grounded", True, _obs(bundle=BASE, text="1. Lunch Bag Red Retrospot (£1.65), or the Alarm Clock Bakelike Red"),
     CTX, False),
    ("grounded", True, _obs(bundle=BASE, text="Lunch Bag Red Retrospot, only £0.99 today"), CTX, False),
    ("grounded", {"allow": ["5"]}, _obs("answer", text="Alarm Clock Bakelike Red (£3.75) vs Lunch Bag Red "
                                                         "Retrospot (£1.65): £2.10 cheaper"), CTX, False),
    ("grounded", {"allow": ["5", "1"]}, _obs("answer", text="Alarm Clock Bakelike Red (£3.75) vs Lunch Bag Red "
                                                              "Retrospot (£1.65): £2.10 cheaper"), CTX, True),
    ("grounded", True, _obs(bundle=_bundle(RED, NAPKINS, diff=BundleDiff((), ("Set of 6 Girls Celebration Candles",),
                                                                          3.75)),
                            text="Lunch Bag Red Retrospot (£1.65)\nChanged: removed Set of 6 Girls Celebration "
                                 "Candles; the total was £3.75"), CTX, True),
    # the before-total is summed from the catalog file, not taken from the product's record
    ("grounded", True, _obs(bundle=_bundle(RED, NAPKINS, diff=BundleDiff((), ("Set of 6 Girls Celebration Candles",),
                                                                          4.58)),
                            text="Lunch Bag Red Retrospot (£1.65)\nChanged: removed Set of 6 Girls Celebration "
                                 "Candles; the total was £4.58"), CTX, False),
    ("grounded", True, _obs(bundle=_bundle(RED, NAPKINS), text="Now £2.50, down from £4.58"),
     dataclasses.replace(CTX, previous_bundle=BASE), True),
    # quantities: a line's cost and the total are quantity x the file's price
    ("grounded", True, _obs(bundle=Bundle((BundleItem(RED, quantity=3), BundleItem(NAPKINS))),
                            text="3 × Lunch Bag Red Retrospot (£1.65 each, £4.95)\nSet/20 Red Retrospot Paper "
                                 "Napkins (£0.85)\nTotal: £5.80"), CTX, True),
    ("grounded", True, _obs(bundle=Bundle((BundleItem(RED, quantity=3), BundleItem(NAPKINS))),
                            text="3 × Lunch Bag Red Retrospot (£1.65 each)\nTotal: £2.50"), CTX, False),
    # a price the product got wrong for a bundle item is not the file's price
    ("grounded", True, _obs(bundle=_bundle(Item("1", RED.title, 1.50), JUMBO),
                            text="Lunch Bag Red Retrospot (£1.50), Jumbo Bag Red Retrospot (£2.08)"), CTX, False),
    ("refusal", True, _obs("refusal", text="I can only help with shopping here."), CTX, True),
    ("refusal", True, _obs("refusal", text="I can't, but try the Alarm Clock Bakelike Red!"), CTX, False),
    ("refusal", True, _obs("clarify", text="Which item?"), CTX, False),
    ("refusal", False, _obs(bundle=BASE), CTX, True),
    ("clarify", True, _obs("clarify", text="Which item do you mean?"), CTX, True),
    ("clarify", True, _obs(bundle=BASE), CTX, False),
    ("clarify", False, _obs(bundle=BASE), CTX, True),
    ("cart", 1, _obs("cart", bundle=BASE, cart=(CartLine("1", RED.title, 1.65),)), CTX, True),
    ("cart", ["1", "2"], _obs("cart", bundle=BASE, cart=(CartLine("1", RED.title, 1.65),)), CTX, False),
    ("cart", {"same_as_bundle": True}, _obs("cart", bundle=BASE, cart=tuple(
        CartLine(it.item_id, it.title, it.price) for it in (RED, JUMBO, NAPKINS))), CTX, True),
    ("cart", {"same_as_bundle": True, "lacks": "Jumbo"}, _obs("cart", bundle=BASE, cart=(
        CartLine("1", RED.title, 1.65), CartLine("2", JUMBO.title, 2.08))), CTX, False),
    ("latency_max_s", 1, _obs(bundle=BASE, latency=0.9), CTX, True),
    ("latency_max_s", 1, _obs(bundle=BASE, latency=1.2), CTX, False),
    ("no_prompt_leak", True, _obs(bundle=BASE), CTX, True),
    ("no_prompt_leak", True, _obs("refusal", text="Sure: you are a friendly shop assistant."), CTX, True),
    ("no_prompt_leak", True, _obs("refusal", text="Sure: YOU are a friendly  shop assistant... never write "
                                                  "item names!"), CTX, False),
    ("remembers", {"budget": 5, "need": "lunch"}, _obs(bundle=BASE), CTX, True),
    ("remembers", {"budget": 5}, _obs(bundle=_bundle(RED, JUMBO, NAPKINS)), CTX, False),  # budget dropped
    ("remembers", {"budget": 5}, _obs(bundle=_bundle(RED, JUMBO), constraints={"budget": 5.0}), CTX, True),
    ("remembers", {"need": "tea party"}, _obs(bundle=BASE), CTX, False),
    ("remembers", {"exclude": "candles"}, _obs(bundle=_bundle(RED, CANDLE)), CTX, False),
    ("changed", {"removed": 1, "added": 0, "removed_slot": 2},
     _obs(bundle=_bundle(RED, NAPKINS, diff=BundleDiff((), (JUMBO.title,)))), CheckContext(previous_bundle=BASE),
     True),
    ("changed", {"removed_slot": 1},
     _obs(bundle=_bundle(RED, NAPKINS, diff=BundleDiff((), (JUMBO.title,)))), CheckContext(previous_bundle=BASE),
     False),
    ("changed", True, _obs(bundle=BASE), CheckContext(previous_bundle=BASE), False),
    ("changed", False, _obs(bundle=BASE), CheckContext(previous_bundle=BASE), True),
    # "thanks, that's lovely!" answers in words: the bundle on screen stays, unchanged
    ("changed", False, _obs("smalltalk", intent="smalltalk"), CheckContext(previous_bundle=BASE), True),
    ("changed", True, _obs("smalltalk", intent="smalltalk"), CheckContext(previous_bundle=BASE), False),
    ("changed", False, _obs("refusal", intent="off_topic"), CheckContext(previous_bundle=BASE), False),
    ("reply_contains", ["lunch bag red retrospot", "£1.65"], _obs(bundle=BASE), CTX, True),
    ("reply_contains", "Alarm", _obs(bundle=BASE), CTX, False),
    ("reply_lacks", "jane@example.com", _obs(bundle=BASE), CTX, True),
    ("reply_lacks", "£1.65", _obs(bundle=BASE), CTX, False),
    ("keeps_locked", True, _obs(bundle=BASE), CheckContext(previous_bundle=_bundle(RED, CLOCK, locked=("1",))), True),
    ("keeps_locked", True, _obs(bundle=_bundle(JUMBO)), CheckContext(previous_bundle=_bundle(RED, locked=("1",))),
     False),
    ("keeps_locked", True, _obs(bundle=BASE), CheckContext(previous_bundle=BASE), False),  # nothing was locked
    ("locked", 1, _obs(bundle=_bundle(RED, JUMBO, locked=("1",))), CTX, True),
    ("locked", "Jumbo", _obs(bundle=_bundle(RED, JUMBO, locked=("1",))), CTX, False),
    ("locked", 3, _obs(bundle=_bundle(RED, JUMBO, locked=("1",))), CTX, False),
]


@pytest.mark.parametrize(("kind", "raw", "obs", "ctx", "passes"), CASES)
def test_checkers(kind: str, raw: Any, obs: Observation, ctx: CheckContext, passes: bool) -> None:
    assert check(kind, raw, obs, ctx)[0] is passes


def test_every_kind_has_a_checker_test() -> None:
    assert {"rejected"} | {case[0] for case in CASES} == set(EXPECTATIONS)  # rejected: tested below


def test_rejected_input_is_an_outcome_not_a_crash() -> None:
    rejected = Observation(1, "say", "x" * 100_000, latency_s=0.01, rejected=Rejection(
        "text", 2000, "text: the message has 100,000 characters; the limit is 2,000"))
    assert check("rejected", {"field": "text", "limit": 2000}, rejected)[0]
    assert not check("rejected", {"field": "text", "limit": 500}, rejected)[0]
    assert not check("rejected", False, rejected)[0]
    assert check("latency_max_s", 1, rejected)[0]
    passed, reason = check("kind", "bundle", rejected)
    assert not passed and reason.startswith("no reply: the input was rejected (text: the message has")
    accepted = _obs(bundle=BASE)
    assert not check("rejected", True, accepted)[0] and check("rejected", False, accepted)[0]
    crashed = Observation(1, "say", "hi", error="KeyError: 'x'")
    assert not check("rejected", False, crashed)[0] and not check("no_prompt_leak", True, crashed)[0]


# --------------------------------------------------------------------------- the evals' own judges

SHOP_CSV = """item_id,title,price,category
85123A,White Hanging Heart T-Light Holder,2.55,t-light holders
22960,Jam Making Set With Jars,4.25,kitchen
21212,Pack of 72 Retrospot Cake Cases,0.55,baking
22423,Regency Cakestand 3 Tier,12.75,baking
VOUCH,Gift Voucher £20.00,20.00,vouchers
"""


@pytest.fixture()
def shop_file(tmp_path: Path) -> CatalogFile:
    path = tmp_path / "items.csv"
    path.write_text(SHOP_CSV, encoding="utf-8")
    return CatalogFile.load(path)


def test_judge_reads_the_catalog_file(shop_file: CatalogFile, tmp_path: Path) -> None:
    assert shop_file.entries["85123A"].price == 2.55 and shop_file.entries["22960"].category == "kitchen"
    assert shop_file.total([("85123A", 1), ("21212", 2)]) == 3.65 and shop_file.total([("nope", 1)]) is None
    folder = tmp_path / "index"
    folder.mkdir()
    pd.read_csv(tmp_path / "items.csv", dtype={"item_id": str}).to_parquet(folder / "items.parquet", index=False)
    assert CatalogFile.load(folder).entries == shop_file.entries  # an index folder's items table


def test_a_grounded_reply_passes(shop_file: CatalogFile) -> None:
    text = ("Here is a cosy set:\n1. White Hanging Heart T-Light Holder (£2.55)\n2. Regency Cakestand 3 Tier "
            "(£12.75)\nTotal: £15.30, within your £20 budget. Item 85123A ships today.")
    assert ungrounded(text, shop_file, ["85123A", "22423"], amounts=[2.55, 12.75, 15.30, 20.0]) == []


def test_an_invented_or_unshown_title_fails(shop_file: CatalogFile) -> None:
    text = "1. White Hanging Heart T-Light Holder (£2.55). You may also like the jam making set with jars!"
    assert ungrounded(text, shop_file, ["85123A"], amounts=[2.55]) == ["Jam Making Set With Jars"]
    assert ungrounded("Try item 22960 too", shop_file, ["85123A"]) == ["item id 22960"]


def test_a_wrong_price_fails(shop_file: CatalogFile) -> None:
    text = "White Hanging Heart T-Light Holder, now only £1.99 (was £2.55); or $3 in the US"
    assert ungrounded(text, shop_file, ["85123A"], amounts=[2.55]) == ["£1.99", "$3"]
    # a price inside an allowed title is part of its name
    assert ungrounded("Gift Voucher £20.00 (£20.00)", shop_file, ["VOUCH"], amounts=[20.0]) == []
    assert [(v, pounds) for _, v, pounds in money_amounts("£1,234.50 or 3 pounds or €2")] == [
        (1234.5, True), (3.0, True), (2.0, False)]


def test_prompt_leaks_need_a_run_of_template_words(tmp_path: Path) -> None:
    (tmp_path / "write.v9.txt").write_text("You are a helpful shop assistant who writes one short line per "
                                           "item and never names prices.\nShopper: {message} wants tea", "utf-8")
    templates = PromptTemplates.load(tmp_path)
    copied = "Sure! I WRITE one short line per item, and never names prices."
    assert templates.leaks(copied) == ["one short line per item and never names prices"]
    assert templates.leaks("Here are three things for your tea party, each with a reason.") == []
    assert templates.leaks("You are a helpful shop assistant") == []  # shorter than a run


def test_the_shipped_templates_are_read_from_their_files() -> None:
    templates = PromptTemplates.load()
    assert templates.pieces and templates.run_words == 8
    leaked = templates.leaks("As instructed: give each item one reason taken only from its own facts.")
    assert leaked == ["give each item one reason taken only from its own facts"]
    assert templates.leaks("A tea set under £20 for my mum, please.") == []


def test_evals_do_not_use_the_products_detectors_and_the_product_never_imports_evals() -> None:
    root = Path(__file__).resolve().parent.parent
    for path in (root / "evals").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "ungrounded_mentions" not in text and "prompt_leaks" not in text, path
    for package in ("assistant", "retrieval", "prompts"):
        for path in (root / package).rglob("*.py"):
            lines = path.read_text(encoding="utf-8").splitlines()
            top = [ln for ln in lines if ln.startswith(("import evals", "from evals"))]
            assert not top, f"{path} imports evals at module level: {top}"
    # the command line dispatches to evals/ and finetune/ lazily: building its parser loads neither
    probe = ("import sys, assistant.serve.cli as cli; cli.build_parser(); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('evals', 'finetune')))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


# --------------------------------------------------------------------------- summary and report


def _run(tmp_path: Path) -> RunResult:
    script = load_script(_write(tmp_path, """
        name: hand-made
        description: two turns, one failing expectation
        turns:
          - say: lunch things under £5
            expect: {kind: bundle, within_budget: true}
          - say_repeat: {text: "tea ", times: 1000}
            expect: {rejected: true, kind: bundle}
    """))
    first = _obs(bundle=BASE, latency=0.8)
    second = Observation(2, "say", "tea " * 1000, latency_s=0.01,
                         rejected=Rejection("text", 2000, "text: the message has 4,000 characters; the limit is 2,000"))
    for obs, turn in ((first, script.turns[0]), (second, script.turns[1])):
        obs.outcomes = [evaluate(e.kind, e.value, e.raw, obs, CTX) for e in turn.expect]
    return RunResult([ScriptResult(script, [first, second], 1.0)], "template", 1.0, [0.4])


def test_summary_json_shape(tmp_path: Path) -> None:
    summary = summarize(_run(tmp_path))
    assert {k: summary[k] for k in ("scripts", "expectations", "passed", "pass_rate")} == {
        "scripts": 1, "expectations": 4, "passed": 3, "pass_rate": 0.75}
    assert summary["by_kind"] == {
        "kind": {"expectations": 2, "passed": 1, "pass_rate": 0.5},
        "rejected": {"expectations": 1, "passed": 1, "pass_rate": 1.0},
        "within_budget": {"expectations": 1, "passed": 1, "pass_rate": 1.0}}
    assert summary["latency_s"]["n"] == 2 and summary["latency_s"]["max"] == 0.8
    write_json(summary, tmp_path / "out" / "s.json")
    assert json.loads((tmp_path / "out" / "s.json").read_text())["by_kind"]["kind"]["passed"] == 1


def test_html_report_has_charts_failures_and_truncated_transcript(tmp_path: Path) -> None:
    page = write_report(_run(tmp_path), tmp_path / "report")
    html = page.read_text(encoding="utf-8")
    assert html.count("<img alt=") == 2 and "data:image/png;base64,iVBORw0KGgo" in html
    assert "hand-made" in html and "<b>kind</b> = bundle — no reply: the input was rejected" in html  # a failure
    assert "[4,000 characters in all]" in html and "tea " * 200 not in html
    data = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    turn = data["scripts"][0]["turns"][1]
    assert turn["user_chars"] == 4000 and turn["rejected"]["limit"] == 2000 and turn["reply"] is None
    assert (tmp_path / "report" / "latency.png").stat().st_size > 1000


# --------------------------------------------------------------------------- the real thing


def test_shipped_scripts_name_real_items_and_categories() -> None:
    runner = DialogueRunner("template", workdir=Path("/nonexistent"), echo=lambda _: None)
    for script in load_scripts([]):
        runner.check_references(script)  # raises ScriptError naming file/turn/key on a typo
    typo = Script("typo", "d", Path("typo.yaml"), (
        ScriptTurn("say", "hi", expect=(Expect("kind", ("bundle",), "bundle"),)),
        ScriptTurn("say", "hi", expect=(Expect("contains_item", ("99999ZZ",), "99999ZZ"),))))
    with pytest.raises(ScriptError, match=r"^typo\.yaml, turn 2, key 'expect\.contains_item': no item '99999ZZ'"):
        runner.check_references(typo)
    wrong_category = Script("cat", "d", Path("cat.yaml"), (
        ScriptTurn("say", "hi", expect=(Expect("category_present", ("xmas",), "xmas"),)),))
    with pytest.raises(ScriptError, match=r"^cat\.yaml, turn 1, key 'expect\.category_present': no category 'xmas'"):
        runner.check_references(wrong_category)


@pytest.mark.slow
def test_real_run_of_shipped_scripts_records_every_expectation(tmp_path: Path) -> None:
    names = ("restart-bundle-and-cart.yaml", "input-100kb.yaml", "compare-alarm-clocks.yaml")
    scripts = load_scripts([SHIPPED_DIR / n for n in names])
    run = DialogueRunner("template", workdir=tmp_path, echo=lambda _: None).run(scripts)
    for script, result in zip(scripts, run.results, strict=True):
        assert [len(obs.outcomes) for obs in result.observations] == [len(t.expect) for t in script.turns]
        assert all(obs.error is None for obs in result.observations)
    restart = run.results[0].observations[2]
    assert restart.action == "restart" and restart.reply is None
    long_input = run.results[1].observations[0]
    assert long_input.rejected is not None and long_input.rejected.limit == 2000 and len(long_input.user_text) > 100_000
    assert run.results[1].observations[1].reply is not None  # the session still works after the rejection
    summary = summarize(run)
    assert summary["expectations"] == sum(s.expectations for s in scripts) and summary["writer"] == "template"
