"""The bundle benchmark (`evals.bundle_eval`): each metric on tiny hand-made cases, the runner
and report on a fake assistant, and the labelled request set itself (size, labels, titles
the shop really sells, and no overlap with the fine-tuning data)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from independence import (
    bank_strings,
    dialogue_turns,
    fills_a_template,
    needs_examples,
    normalise,
    training_messages,
)

from assistant.records import Bundle, BundleItem, Reply
from evals.bundle_eval import build_parser, pick_requests, run_bundle_eval
from evals.bundle_judge import (
    CatalogFacts,
    is_filler,
    is_specific,
    judge,
    need_stems,
    pack_size,
    reason_for,
    stem,
    summarise,
    title_matches,
)
from evals.bundle_labels import (
    GROUPS,
    BundleRequest,
    Kind,
    LabelError,
    load_requests,
    parse_request,
)
from evals.bundle_report import compare_report
from retrieval.records import Item

REPO = Path(__file__).resolve().parent.parent

CUPS = Kind("cups", ("teacup", "cup and saucer", "paper cup"))
NAPKINS = Kind("napkins", ("napkin",))
STAND = Kind("cake stand", ("cake stand", "cakestand"))
TEA_PARTY = BundleRequest("tea-six", "occasion", "a tea party for six, £20", (CUPS, NAPKINS, STAND), budget=20.0,
                          party_size=6, per_guest=("cups", "napkins"), item_cap=5.0)


def line(title: str, price: float, quantity: int | None = None, item_id: str = "", category: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"item_id": item_id or title, "title": title, "price": price, "category": category}
    if quantity is not None:
        out["quantity"] = quantity
    return out


@pytest.fixture()
def facts() -> CatalogFacts:
    """Five items in two categories; held-out invoices h1-h4 (h1, h2: a+b; h3: c; h4: d);
    p1 (a+c) is before the split and must not count."""
    items = pd.DataFrame({"item_id": list("abcde"), "title": ["Pink Teacup", "Blue Teacup", "Paper Napkins",
                                                             "Cake Stand", "Gift Wrap"],
                          "price": [3.0, 1.0, 0.5, 9.0, 0.4], "category": ["cups", "cups", "paper", "paper", "paper"]})
    stamp, early = pd.Timestamp("2011-11-01"), pd.Timestamp("2011-05-01")
    rows = [("h1", "a", stamp), ("h1", "b", stamp), ("h2", "a", stamp), ("h2", "b", stamp), ("h3", "c", stamp),
            ("h4", "d", stamp), ("p1", "a", early), ("p1", "c", early)]
    lines = pd.DataFrame(rows, columns=["basket_id", "item_id", "timestamp"])
    return CatalogFacts.from_frames(items, lines)


# -- matching titles ----------------------------------------------------------------------


@pytest.mark.parametrize(("title", "phrases", "expected"), [
    ("Pack of 72 Retrospot Cake Cases", ["cake case"], True),
    ("Green Regency Teacup and Saucer", ["tea cup"], True),
    ("PINK PARTY BAGS", ["party bag"], True),
    ("Party Invites", ["parties"], False),
    ("Paper Doilies For Parties", ["party"], True),
    ("Key Rings Assorted", ["key ring"], True),
    ("Three Cats Doorstop", ["cat"], True),
    ("Catch of the Day Sign", ["cat"], False),
    ("Scatter Cushion", ["cat"], False),
    ("Set/20 Paper Napkins", ["plate", "napkin"], True),
    ("Pink T-Light Holder", ["t-light holder"], True),
    # the shop's other names for the same thing (SAME_THING), never a looser match
    ("Set of 12 Fairy Cake Baking Cases", ["cake case"], True),
    ("Tea Party Wrapping Paper", ["wrap"], True),
    ("3 Traditional Biscuit Cutters Set", ["cookie cutter"], True),
    ("Silver Glitter Flower Votive Holder", ["t-light holder"], True),
    ("Baking Mould Heart Chocolate", ["cake case"], False),
    ("Biscuit Tin Vintage Red", ["cookie cutter"], False),
])
def test_title_matches_whole_words_and_plurals(title: str, phrases: list[str], expected: bool) -> None:
    assert title_matches(title, phrases) is expected


@pytest.mark.parametrize(("title", "filler"), [
    ("Tea Party Birthday Card", True), ("Set 10 Cards Christmas Robin 17095", True), ("Wrap Folk Art", True),
    ("6 Gift Tags 50's Christmas", True), ("Pack of 12 Suki Tissues", True), ("Ribbon Reel Lace Design", True),
    ("Red Spot Gift Bag Large", True), ("Envelope 50 Romantic Images", True),
    ("Playing Cards Keep Calm", False), ("Card Holder Love Bird Large", False), ("Red Retrospot Tissue Box", False),
    ("Ribbons Purse", False), ("Regency Cakestand 3 Tier", False), ("Luggage Tag Economy", False),
])
def test_filler_words(title: str, filler: bool) -> None:
    assert is_filler(title) is filler


@pytest.mark.parametrize(("title", "size"), [
    ("Set/6 Red Spotty Paper Plates", 6), ("Pack of 72 Retrospot Cake Cases", 72), ("Set 10 Cards Robin 17099", 10),
    ("60 Teatime Fairy Cake Cases", 60), ("Retrospot Tea Set Ceramic 11 Pc", 11), ("Picnic Hamper for 2", 2),
    ("Pack of Six Led Tea Lights", 6), ("S/4 Icon Coaster", 4), ("3 Tier Cake Tin Red", 1),
    ("Biscuit Tin 50's Christmas", 1), ("Green Regency Teacup and Saucer", 1), ("5 Hook Hanger", 1),
])
def test_pack_size_from_titles(title: str, size: int) -> None:
    assert pack_size(title) == size


# -- one request ----------------------------------------------------------------------------


def test_kinds_budget_cap_and_filler(facts: CatalogFacts) -> None:
    bundle = {"items": [line("Pink Regency Teacup and Saucer", 2.95, 6), line("Set/20 Paper Napkins", 0.85),
                        line("Tea Party Birthday Card", 0.42), line("Tea Party Wrap", 0.42)]}
    row = judge(TEA_PARTY, bundle, "", facts)
    assert row["kinds_found"] == ["cups", "napkins"] and row["kinds_covered"] == pytest.approx(2 / 3, abs=1e-4)
    assert row["total"] == pytest.approx(6 * 2.95 + 0.85 + 0.42 + 0.42)  # quantity x price
    assert row["budget_use"] == pytest.approx(19.39 / 20, abs=1e-4) and row["over_budget"] is False
    assert row["item_cap_ok"] is True
    assert row["filler_share"] == 0.5
    assert row["quantity_ok"] is True


def test_over_budget_and_broken_cap(facts: CatalogFacts) -> None:
    row = judge(TEA_PARTY, {"items": [line("Regency Cakestand", 12.75), line("Pink Teacup", 7.26)]}, "", facts)
    assert row["total"] == 20.01 and row["over_budget"] is True and row["item_cap_ok"] is False
    prices = (5.004, 5.0, 5.0, 4.998)  # £20.002 for a £20 budget, £5.004 for a £5 cap: within half a penny
    at_limit = judge(TEA_PARTY, {"items": [line(f"Teacup {n}", p) for n, p in enumerate(prices)]}, "", facts)
    assert at_limit["over_budget"] is False and at_limit["item_cap_ok"] is True


def test_about_filler_requests_have_no_filler(facts: CatalogFacts) -> None:
    wrap = BundleRequest("wrap", "cards_and_wrap", "wrap and tags", (Kind("wrap", ("wrap",)), Kind("tags", ("gift tag",))),
                         about_filler=True)
    row = judge(wrap, {"items": [line("Wrap Folk Art", 0.42), line("6 Gift Tags", 0.83)]}, "", facts)
    assert row["filler_share"] is None and row["kinds_covered"] == 1.0


def test_no_bundle_scores_nothing(facts: CatalogFacts) -> None:
    row = judge(TEA_PARTY, None, "Sorry, I didn't quite get that.", facts)
    assert row["kinds_covered"] == 0.0 and not row["has_bundle"] and row["total"] is None
    assert row["over_budget"] is False and row["budget_use"] is None and row["quantity_ok"] is False
    assert row["filler_share"] is None and row["specific_reasons"] is None and row["coherence_lift"] is None


@pytest.mark.parametrize(("lines", "expected"), [
    ([line("Pink Teacup", 3.0, 6), line("Set/20 Paper Napkins", 1.0)], True),
    ([line("Pink Teacup", 3.0, 2), line("Set/20 Paper Napkins", 1.0)], False),   # 2 cups for 6 guests
    ([line("Pink Teacup", 3.0, 4), line("Blue Teacup", 3.0, 2)], True),           # units add up over lines
    ([line("Set/6 Paper Cups", 1.0)], True),                                       # one pack of six
    ([line("Set/20 Paper Napkins", 1.0)], True),                                   # cups absent: napkins decide
    ([line("Set/4 Cotton Napkins", 1.0)], False),                                  # today's code: quantity 1
    ([line("Cake Stand", 9.0)], False),                                            # no per-guest kind at all
])
def test_quantity_rule(facts: CatalogFacts, lines: list[dict[str, Any]], expected: bool) -> None:
    assert judge(TEA_PARTY, {"items": lines}, "", facts)["quantity_ok"] is expected


def test_quantity_not_judged_without_a_party(facts: CatalogFacts) -> None:
    solo = dataclasses.replace(TEA_PARTY, party_size=None, per_guest=())
    assert judge(solo, {"items": [line("Pink Teacup", 3.0)]}, "", facts)["quantity_ok"] is None


def test_lift_counts_held_out_invoices_only(facts: CatalogFacts) -> None:
    assert facts.n_invoices == 4
    assert facts.lift("a", "b") == pytest.approx((2 + 1) / (2 * 2 / 4 + 1))      # 1.5
    assert facts.lift("a", "c") == pytest.approx((0 + 1) / (2 * 1 / 4 + 1))      # p1 ignored
    assert facts.lift("a", "e") == 1.0                                             # e never sold: neutral
    assert facts.mean_lift(["a", "b", "c"]) == pytest.approx((1.5 + 2 / 3 + 2 / 3) / 3)
    assert facts.mean_lift(["a"]) is None


def test_random_bundles_are_seeded_and_drawn_by_category(facts: CatalogFacts) -> None:
    # one "cups" position and one "paper" position: c, d or e for paper, a or b for cups
    first = facts.random_lift(["cups", "paper"], "seed")
    assert first is not None and first == facts.random_lift(["cups", "paper"], "seed")
    possible = [facts.lift(x, y) for x in "ab" for y in "cde"]
    assert min(possible) <= first <= max(possible)
    # both positions in "cups": always a and b
    assert facts.random_lift(["cups", "cups"], "any") == pytest.approx(1.5)
    assert facts.random_lift(["cups"], "any") is None


def test_coherence_ratio_in_a_judged_row(facts: CatalogFacts) -> None:
    bundle = {"items": [line("Pink Teacup", 3.0, item_id="a", category="cups"),
                        line("Paper Napkins", 0.5, item_id="c", category="paper")]}
    row = judge(dataclasses.replace(TEA_PARTY, id="pair"), bundle, "", facts)
    assert row["coherence_lift"] == pytest.approx(facts.lift("a", "c"), abs=1e-4)
    assert row["random_lift"] == pytest.approx(facts.random_lift(["cups", "paper"], "bundles:pair"), abs=1e-4)
    assert row["coherence_ratio"] == pytest.approx(row["coherence_lift"] / row["random_lift"], abs=1e-3)


def test_stem() -> None:
    assert stem("parties") == stem("party") == "part"
    assert stem("baking") == stem("bakers") == stem("bake") == "bak"
    assert stem("glasses") == stem("glass") == "glass"
    assert stem("cups") == "cup" and stem("mum's") == "mum"


def test_specific_reasons(facts: CatalogFacts) -> None:
    bundle = {"items": [line("Pink Teacup", 3.0), line("Cake Stand", 9.0), line("Cake Stand Large", 12.0),
                        line("Paper Napkins", 0.5), line("Gift Wrap", 0.4)]}
    text = ("Here's a bundle for a tea party:\n"
            "1. Pink Teacup (£3.00) — bought together in 23 of 75 baskets.\n"
            "2. Cake Stand Large (£12.00) — a close match in style.\n"
            "3. Cake Stand (£9.00) — the centrepiece for your party.\n"
            "4. Paper Napkins (£0.50) — same style, fits right in.\n"
            "Total: £24.90")
    row = judge(TEA_PARTY, bundle, text, facts)
    assert row["reasons"] == ["bought together in 23 of 75 baskets", "the centrepiece for your party",
                              "a close match in style", "same style, fits right in", None]
    assert row["specific_reasons"] == pytest.approx(2 / 5)


@pytest.mark.parametrize(("reason", "specific"), [
    ("a close match in style", False), ("Same style, fits right in.", False), ("matches your taste", False),
    ("", False), (None, False), ("popular: in 120 baskets", True), ("a close match in style for the napkins", True),
    ("one per guest at your tea", True), ("lovely and sturdy", False),
])
def test_is_specific(reason: str | None, specific: bool) -> None:
    assert is_specific(reason, need_stems(TEA_PARTY)) is specific


def test_reason_for_a_title_that_starts_another() -> None:
    text = "1. Kneeling Pad Keep Calm (£1.65) — a close match.\n2. Kneeling Pad (£3.36) — for 5 gardeners."
    assert reason_for("Kneeling Pad", text) == "for 5 gardeners"
    assert reason_for("Kneeling Pad Keep Calm", text) == "a close match"
    assert reason_for("Watering Can", text) is None


@pytest.mark.parametrize(("text", "reason"), [
    ("2. 6 × Red Tea Cup and Saucer (£3.75 each, £22.50) — a close match in style.", "a close match in style"),
    ("- Red Tea Cup and Saucer: one for each guest", "one for each guest"),
    ("For pouring, the Red Tea Cup and Saucer (£3.75)", "For pouring, the"),
    ("3 x Red Tea Cup and Saucer", ""),
])
def test_reason_for_line_formats(text: str, reason: str) -> None:
    assert reason_for("Red Tea Cup and Saucer", text) == reason
    # the quantity and the prices are the bundle's, not evidence: no number is left
    assert not is_specific(reason_for("Red Tea Cup and Saucer", text), frozenset())


def test_cheap_rank(facts: CatalogFacts) -> None:
    cheap = dataclasses.replace(TEA_PARTY, cheapest=True, party_size=None, per_guest=())
    # teacups in the catalog: a (3.00), b (1.00); b is the cheapest, a has one cheaper
    assert judge(cheap, {"items": [line("Blue Teacup", 1.0)]}, "", facts)["cheap_rank"] == 0.0
    assert judge(cheap, {"items": [line("Pink Teacup", 3.0), line("Blue Teacup", 1.0)]}, "", facts)["cheap_rank"] == 0.25
    assert judge(TEA_PARTY, {"items": [line("Blue Teacup", 1.0)]}, "", facts)["cheap_rank"] is None


def test_summarise_counts_missing_bundles(facts: CatalogFacts) -> None:
    shown = judge(TEA_PARTY, {"items": [line("Pink Teacup", 3.0, 6, "a", "cups"), line("Blue Teacup", 1.0, 1, "b", "cups"),
                                        line("Tea Party Card", 2.0)]}, "", facts)
    missing = judge(dataclasses.replace(TEA_PARTY, id="other", group="theme"), None, "", facts)
    summary = summarise([shown, missing])
    assert summary["requests"] == 2 and summary["no_bundle"] == 1
    assert summary["kinds_covered"] == pytest.approx((1 / 3 + 0) / 2, abs=1e-4)
    assert summary["budget_use_median"] == pytest.approx(21 / 20) and summary["over_budget"] == 1
    assert summary["filler_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["quantity_ok"] == 0.5 and summary["party_requests"] == 2
    assert summary["item_cap_respected"] == 1.0
    assert summary["coherence_lift"] == pytest.approx(shown["coherence_lift"] / shown["random_lift"], abs=1e-3)
    assert summary["by_group"]["theme"] == {"requests": 1, "kinds_covered": 0.0}


# -- the runner and the report ---------------------------------------------------------------


class FakeStore:
    def close(self) -> None:
        return None


class FakeAssistant:
    """Answers "tea" with a two-item bundle, anything else with a clarifying question."""

    store = FakeStore()

    def __init__(self) -> None:
        self.sessions: list[str] = []

    def open_session(self) -> str:
        self.sessions.append(f"s{len(self.sessions)}")
        return self.sessions[-1]

    def delete_session(self, session_id: str) -> bool:
        return True

    def turn(self, session_id: str, text: str) -> Reply:
        if "tea" not in text:
            return Reply("What is the bundle for?", "clarify")
        cup, napkins = Item("a", "Pink Teacup", 3.0, category="cups"), Item("c", "Paper Napkins", 0.5, category="paper")
        bundle = Bundle((BundleItem(cup), BundleItem(napkins)), need="tea", budget=20.0)
        return Reply("1. Pink Teacup (£3.00) — for your tea.\n2. Paper Napkins (£0.50) — a good fit.", "bundle",
                     bundle=bundle)


def test_runner_and_report(facts: CatalogFacts, tmp_path: Path) -> None:
    other = BundleRequest("wrap", "cards_and_wrap", "some wrap please", (Kind("wrap", ("wrap",)), NAPKINS),
                          about_filler=True)
    assistant = FakeAssistant()
    result = run_bundle_eval(assistant, [TEA_PARTY, other], tmp_path, label="current", facts=facts)
    assert len(assistant.sessions) == 2  # a fresh session per request
    assert result["requests"] == 2 and result["no_bundle"] == 1 and result["label"] == "current"
    first = result["by_request"][0]
    assert first["reply_kind"] == "bundle" and first["total"] == 3.5 and first["specific_reasons"] == 0.5
    assert first["kinds_found"] == ["cups", "napkins"]
    html = compare_report(result, result, tmp_path / "report")
    assert html.exists() and (tmp_path / "report" / "metrics.png").stat().st_size > 0
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "tea-six" in md and "wrap" in md and "kinds covered" in md
    assert compare_report(None, result, tmp_path / "alone").exists()


def test_command_line_options() -> None:
    args = build_parser().parse_args(["--json", "out.json", "--report", "rep", "--writer", "template", "--limit", "10"])
    assert (args.json_out, args.report, args.writer, args.limit) == (Path("out.json"), Path("rep"), "template", 10)
    assert build_parser().parse_args([]).writer == "model"  # what the product serves
    assert build_parser().parse_args(["--only", "needs"]).only == "needs" and build_parser().parse_args([]).only is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--only", "both"])
    # the console script's own parser for `cartsmith eval bundles` takes the same options
    from assistant.serve.cli import build_parser as cartsmith_parser

    served = cartsmith_parser().parse_args(["eval", "bundles", "--only", "needs", "--writer", "template", "--limit", "3"])
    assert (served.only, served.writer, served.limit) == ("needs", "template", 3)


def test_pick_requests_takes_groups_in_turn() -> None:
    requests = [dataclasses.replace(TEA_PARTY, id=f"{g}-{n}", group=g) for g in ("occasion", "theme") for n in range(3)]
    assert [r.id for r in pick_requests(requests, 3)] == ["occasion-0", "theme-0", "occasion-1"]
    assert pick_requests(requests, None) == requests


def test_label_errors_name_the_request_and_field() -> None:
    raw = {"id": "x", "group": "occasion", "text": "t", "kinds": [{"name": "a", "match": ["a"]},
                                                                  {"name": "b", "match": ["b"]}],
           "budget": None, "party_size": None, "per_guest": ["a"], "about_filler": False, "cheapest": False,
           "item_cap": None}
    with pytest.raises(LabelError, match=r"request 'x', per_guest: needs a party_size"):
        parse_request(raw, "set.yaml, entry 1")
    with pytest.raises(LabelError, match=r"request 'x', per_guest: 'c' is not one of its kinds"):
        parse_request({**raw, "party_size": 4, "per_guest": ["c"]}, "set.yaml, entry 1")
    with pytest.raises(LabelError, match="missing cheapest"):
        parse_request({k: v for k, v in raw.items() if k != "cheapest"}, "set.yaml, entry 1")


# -- the request set ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def requests() -> list[BundleRequest]:
    return load_requests()


def test_request_set_size_and_labels(requests: list[BundleRequest]) -> None:
    assert len(requests) >= 80
    assert {r.group for r in requests} == set(GROUPS)
    assert len({r.text.lower() for r in requests}) == len(requests)
    assert any(r.budget is not None for r in requests) and any(r.budget is None for r in requests)
    assert any(r.party_size for r in requests) and any(r.cheapest for r in requests)
    assert any(r.item_cap for r in requests) and any(r.about_filler for r in requests)


def test_every_phrase_matches_a_title_of_the_shop(requests: list[BundleRequest]) -> None:
    from retrieval.shop_index import default_index_dir

    items = default_index_dir("online-retail") / "items.parquet"
    if not items.exists():
        pytest.skip("the default shop's index is not built (cartsmith build)")
    titles = pd.read_parquet(items, columns=["title"])["title"].astype(str).tolist()
    unsold = [(r.id, k.name, p) for r in requests for k in r.kinds for p in k.match
              if not any(title_matches(t, [p]) for t in titles)]
    assert not unsold


def test_texts_are_not_phrasing_bank_strings(requests: list[BundleRequest]) -> None:
    assert len(bank_strings()) > 100
    assert not [r.id for r in requests if fills_a_template(r.text)]


def test_texts_are_not_in_the_dialogue_scripts(requests: list[BundleRequest]) -> None:
    said = dialogue_turns()
    assert said
    assert not [r.id for r in requests if normalise(r.text) in said]


def test_texts_are_not_needs_examples(requests: list[BundleRequest]) -> None:
    if not (REPO / "data" / "needs").is_dir():
        pytest.skip("no data/needs folder in this checkout")
    known = needs_examples()
    assert known
    assert not [r.id for r in requests if normalise(r.text) in known]
    # nor inside one: an example of three words or more is a phrasing, not a common word pair
    inside = [(r.id, e) for r in requests for e in known if len(e.split()) >= 3
              and re.search(rf"(?<!\w){re.escape(e)}(?!\w)", normalise(r.text))]
    assert not inside


def test_texts_are_not_training_messages(requests: list[BundleRequest]) -> None:
    """Every shopper message of the shipped adapter's data (train and held out), rebuilt."""
    messages = training_messages()
    assert len(messages) > 1000
    assert not [r.id for r in requests if normalise(r.text) in messages]
