"""Bundles filled kind by kind (`KindPlanner`) on a made-up shop with its own needs file.

Nothing here is keyed to the default shop: a small outdoor-and-kitchen shop, its baskets and
a needs file written for it. The checks are what a shopper would judge: the kinds the need
takes are all there, per-guest kinds come in the right quantities (sets counted by their
pack size), a budget is never exceeded and is used as a target, a per-item cap and "the
cheapest" are honoured, filler only when asked, and every line says its role.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assistant.compose.composer import BundleComposer
from assistant.compose.kind_planner import pieces_per_unit, quantity_for, role_evidence
from assistant.compose.needs_book import NeedsBook, NeedsFileError
from assistant.compose.needs_match import Kind
from assistant.records import Bundle
from retrieval.benchmark import BASELINES
from retrieval.catalog import Catalog, Interactions
from retrieval.records import Item
from retrieval.shop_index import IndexConfig, ShopIndex, build_index

ITEMS = [
    ("P01", "Enamel Camping Mug Forest Green", 6.50, "camping"),
    ("P02", "Set of 4 Enamel Camping Plates", 14.00, "camping"),
    ("P03", "Two Person Dome Tent", 79.00, "camping"),
    ("P04", "Four Person Family Tent", 149.00, "camping"),
    ("P05", "Folding Camp Stove", 24.00, "camping"),
    ("P06", "Budget Camp Stove Mini", 9.50, "camping"),
    ("P07", "Head Torch Rechargeable", 18.00, "lights"),
    ("P08", "Lantern Solar Hanging", 12.00, "lights"),
    ("P09", "Sleeping Bag Three Season", 45.00, "sleep"),
    ("P10", "Sleeping Bag Summer Lightweight", 22.00, "sleep"),
    ("K01", "Chef Knife Stainless 20cm", 32.00, "kitchen"),
    ("K02", "Bamboo Chopping Board Large", 15.00, "kitchen"),
    ("K03", "Cast Iron Skillet 26cm", 38.00, "kitchen"),
    ("K04", "Linen Apron Natural", 19.00, "kitchen"),
    ("K05", "Wooden Spoon Set of 3", 7.50, "kitchen"),
    ("G01", "Greeting Card Happy Camper", 2.50, "cards"),
    ("G02", "Gift Wrap Mountains", 1.80, "cards"),
]
NEEDS_FILE = """
version: 1
description: An outdoor and kitchen shop's needs.
needs:
  - name: camping trip
    group: occasion
    examples: ["a weekend under canvas", "sleeping out in the hills"]
    kinds:
      - kind: tent
        synonyms: [tent]
        role: the shelter for the night
        centrepiece: true
      - kind: sleeping bag
        synonyms: [sleeping bag]
        role: one sleeping bag each
        per_guest: 1
      - kind: camp stove
        synonyms: [camp stove, stove]
        role: to cook on the site
      - kind: camping mugs
        synonyms: [camping mug, enamel mug]
        role: a mug each for the morning brew
        per_guest: 1
      - kind: camping plates
        synonyms: [camping plate, enamel plate]
        role: plates for everyone
        per_guest: 1
      - kind: light
        synonyms: [head torch, lantern, torch]
        role: light after dark
      - kind: card
        synonyms: [card]
        role: a card to go with it
        filler: true
  - name: keen cook
    group: interest
    examples: ["someone who loves cooking", "a budding chef"]
    kinds:
      - kind: knife
        synonyms: [chef knife, knife]
        role: the knife every cook reaches for
        centrepiece: true
      - kind: pan
        synonyms: [skillet, frying pan, pan]
        role: a pan for the hob
      - kind: chopping board
        synonyms: [chopping board]
        role: a board to chop on
      - kind: apron
        synonyms: [apron]
        role: an apron to keep clean
"""


def _baskets() -> Interactions:
    rng = np.random.default_rng(5)
    groups = [["P01", "P02", "P03", "P05", "P07", "P09"], ["P01", "P04", "P06", "P08", "P10"],
              ["K01", "K02", "K03", "K04", "K05"]]
    rows = []
    for b in range(240):
        members = groups[b % len(groups)]
        for item in rng.choice(members, size=int(rng.integers(2, 5)), replace=False):
            rows.append({"basket_id": f"B{b:04d}", "item_id": str(item), "user_id": f"U{b % 20}",
                         "timestamp": pd.Timestamp("2012-01-01") + pd.Timedelta(hours=b), "quantity": 1.0})
    return Interactions(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[BundleComposer, Path]:
    root = tmp_path_factory.mktemp("outdoor")
    needs_path = root / "needs.yaml"
    needs_path.write_text(NEEDS_FILE, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARTSMITH_CACHE", str(root / "cache"))
        catalog = Catalog([Item(i, t, p, category=c) for i, t, p, c in ITEMS])
        # the classical sources only: on 240 baskets of 20 customers the Transformer's dense
        # softmax gives every sleeping bag some co-purchase mass, and the swap-ranking check
        # below (a foreign mark ranks the winner down) is about the planner, not about it
        build_index(catalog, _baskets(), root / "index", IndexConfig(sources=BASELINES))
        index = ShopIndex.load(root / "index")
        return BundleComposer(index, needs=NeedsBook.load(needs_path)), needs_path


def _titles(bundle: Bundle) -> list[str]:
    return [bi.item.title for bi in bundle.items]


def test_pack_sizes_and_quantities_from_titles() -> None:
    cups = Kind("cups", ("cup",), "a cup each", "party", per_guest=1)
    assert pieces_per_unit("Set of 4 Enamel Camping Plates") == 4
    assert pieces_per_unit("Set/6 Red Spotty Paper Cups") == 6
    assert pieces_per_unit("Pack of 60 Pink Paisley Cake Cases") == 60
    assert pieces_per_unit("Enamel Camping Mug Forest Green") == 1
    assert quantity_for(cups, 6, "Roses Teacup and Saucer") == 6
    assert quantity_for(cups, 6, "Set of 4 Paper Cups") == 2  # two sets of four for six guests
    assert quantity_for(cups, None, "Roses Teacup and Saucer") == 1
    assert quantity_for(Kind("stand", ("stand",), "the centrepiece", "party"), 6, "Cake Stand") == 1


def test_an_occasion_is_filled_kind_by_kind_with_quantities_and_roles(shop) -> None:
    composer, _ = shop
    bundle = composer.compose(need="a camping trip", guests=3, budget=250.0,
                              request_text="a camping trip for three of us, £250").bundle
    assert bundle is not None
    titles = _titles(bundle)
    assert any("Tent" in t for t in titles) and any("Sleeping Bag" in t for t in titles)
    assert bundle.items[0].item.title.endswith("Tent")  # the centrepiece leads
    for bi in bundle.items:
        assert bi.reasons and bi.reasons[0].kind == "role"  # every line says why it is there
        if "Sleeping Bag" in bi.item.title or "Mug" in bi.item.title:
            assert bi.quantity == 3 and "3 for 3 guests" in bi.reasons[0].text
        if "Set of 4" in bi.item.title:
            assert bi.quantity == 1  # one set of four covers three guests
    assert bundle.total == round(sum(bi.quantity * (bi.item.price or 0) for bi in bundle.items), 2)
    assert bundle.total <= 250.0
    assert not any("Card" in t or "Wrap" in t for t in titles)  # filler only when asked


@pytest.mark.parametrize("budget", [60.0, 100.0, 130.0, 250.0])
def test_evidence_speaks_of_items_in_the_bundle(shop, budget: float) -> None:
    """ "bought together with X" or "similar to X" names a line the shopper sees, even when
    the budget left out the item that ranked the others."""
    composer, _ = shop
    bundle = composer.compose(need="a camping trip", budget=budget, request_text="a camping trip").bundle
    assert bundle is not None
    titles = _titles(bundle)
    for bi in bundle.items:
        for reason in bi.reasons[1:]:
            named = re.search(r"(?:together with|similar to) (.+?)(?: in \d+ of| \(|$)", reason.text)
            assert named is None or any(named.group(1).startswith(t) for t in titles), (reason.text, titles)


def test_the_budget_is_a_target_and_a_ceiling(shop) -> None:
    composer, _ = shop
    for budget in (60.0, 120.0, 300.0):
        bundle = composer.compose(need="camping trip", budget=budget, guests=2,
                                  request_text=f"camping trip for two, £{budget:.0f}").bundle
        assert bundle is not None and bundle.total <= budget + 1e-9
        assert bundle.total >= 0.5 * budget or len(bundle.items) >= 5, (budget, _titles(bundle))


def test_cheapest_and_per_item_cap(shop) -> None:
    composer, _ = shop
    usual = composer.compose(need="camping trip", budget=300.0, request_text="camping trip, £300").bundle
    cheap = composer.compose(need="camping trip", budget=300.0, cheapest=True,
                             request_text="the cheapest camping trip kit").bundle
    assert usual is not None and cheap is not None and cheap.total < usual.total
    capped = composer.compose(need="camping trip", item_cap=20.0,
                              request_text="camping trip, nothing over £20 each").bundle
    assert capped is not None and all((bi.item.price or 0) <= 20.0 for bi in capped.items)
    assert not any("Tent" in t for t in _titles(capped))  # every tent costs more than the cap


def test_an_interest_leads_and_a_need_the_book_lacks_falls_back(shop) -> None:
    composer, _ = shop
    cook = composer.compose(need="a gift for someone who loves cooking", budget=100.0,
                            request_text="a gift for someone who loves cooking, £100").bundle
    assert cook is not None
    assert {"Chef Knife Stainless 20cm"} <= set(_titles(cook))
    assert all(bi.reasons[0].kind == "role" for bi in cook.items)
    plain = composer.compose(need="lanterns", request_text="some lanterns").bundle
    assert plain is not None and all(bi.reasons[0].kind != "role" for bi in plain.items)


def test_exclusions_hold_in_a_kind_plan(shop) -> None:
    composer, _ = shop
    bundle = composer.compose(need="camping trip", exclude_terms=["tent"], guests=2,
                              request_text="camping trip for two but no tent").bundle
    assert bundle is not None and not any("Tent" in t for t in _titles(bundle))


def test_a_malformed_needs_file_names_file_need_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "needs.yaml"
    bad.write_text(NEEDS_FILE.replace("per_guest: 1\n      - kind: camp stove", "per_guest: 0\n      - kind: camp stove"),
                   encoding="utf-8")
    with pytest.raises(NeedsFileError) as caught:
        NeedsBook.load(bad)
    message = str(caught.value)
    assert str(bad) in message and "camping trip" in message and "per_guest" in message


def test_cheaper_and_a_new_budget_refill_the_same_kinds(shop) -> None:
    from assistant.compose.editor import BundleEditor

    composer, _ = shop
    editor = BundleEditor(composer)
    bundle = composer.compose(need="camping trip", guests=2, budget=300.0,
                              request_text="camping trip for two, £300").bundle
    assert bundle is not None
    cheaper = editor.cheaper(bundle)
    assert cheaper.total < bundle.total and cheaper.total <= round(bundle.total * 0.8, 2) + 1e-9
    assert all(bi.reasons[0].kind == "role" for bi in cheaper.items)  # still kind by kind
    sleeping = [bi for bi in cheaper.items if "Sleeping Bag" in bi.item.title]
    assert not sleeping or sleeping[0].quantity == 2  # the guests are remembered
    assert cheaper.diff.total_before == bundle.total
    tighter = editor.set_budget(bundle, 150.0)
    assert tighter.total <= 150.0 and all(bi.reasons[0].kind == "role" for bi in tighter.items)


def test_a_swap_offers_another_item_of_the_same_kind(shop) -> None:
    from assistant.compose.editor import BundleEditor

    composer, _ = shop
    editor = BundleEditor(composer)
    bundle = composer.compose(need="camping trip", guests=2, budget=400.0,
                              request_text="camping trip for two, £400").bundle
    assert bundle is not None
    tent = next(p for p, bi in enumerate(bundle.items) if "Tent" in bi.item.title)
    swapped = editor.swap(bundle, str(tent + 1))
    new = swapped.items[tent]
    assert "Tent" in new.item.title and new.item.item_id != bundle.items[tent].item.item_id
    assert new.reasons[0].kind == "role" and swapped.total <= 400.0
    bags = next((p for p, bi in enumerate(bundle.items) if "Sleeping Bag" in bi.item.title), None)
    if bags is not None:  # a per-guest kind keeps its quantity
        assert editor.swap(bundle, str(bags + 1)).items[bags].quantity == 2


def test_a_named_item_is_the_anchor_not_a_kind_plan(shop) -> None:
    composer, _ = shop
    bundle = composer.compose(["P03"], need="camping trip", request_text="a camping trip with the Two Person Dome Tent").bundle
    assert bundle is not None and bundle.items[0].item.item_id == "P03" and bundle.items[0].role == "anchor"
    assert all(bi.reasons[0].kind != "role" for bi in bundle.items)


def test_listed_things_take_their_per_guest_quantity_and_say_their_need(shop) -> None:
    composer, _ = shop
    # "plates" is no kind of its own here, but plates are bought per guest for a camping trip
    bundle = composer.compose(need="a camping trip", guests=8, budget=400.0,
                              request_text="camping trip for 8 of us: a tent, plates and mugs please").bundle
    assert bundle is not None
    plates = [bi for bi in bundle.items if "Plates" in bi.item.title]
    assert plates and plates[0].quantity == 2  # two sets of four for eight
    tent = next(bi for bi in bundle.items if "Tent" in bi.item.title)
    # a role that does not name its need says which need it serves
    assert tent.reasons[0].text.startswith("camping trip: the shelter for the night")


def test_a_list_of_things_the_shop_lacks_gets_no_stand_ins_but_a_need_named_outright_does(shop) -> None:
    composer, _ = shop
    assert composer.kinds_for("fresh salmon and lemons for supper at the campsite").kinds == ()
    assert len(composer.kinds_for("I'm a budding chef, restock me!").kinds) >= 2


@pytest.mark.parametrize(("title", "pieces"), [
    ("Set 20 Napkins Fairy Cakes Design", 20), ("Set/6 Paper Plates", 6), ("Pack of 72 Cake Cases", 72),
    ("12 Coloured Party Balloons", 12), ("60 Teatime Fairy Cake Cases", 60), ("Cake Stand 3 Tier Magic Garden", 1),
    ("3 Tier Cake Tin", 1), ("5 Hook Hanger Magic Toadstool", 1), ("Tea Cup and Saucer", 1),
    ("Pack of Six Led Tea Lights", 6), ("Set of Three Cake Tins", 3), ("Box of a Dozen Eggs", 12),
    ("Sleeping Bag Three Season", 1),
])
def test_pieces_a_title_states(title: str, pieces: int) -> None:
    assert pieces_per_unit(title) == pieces


def test_an_item_marked_for_another_need_ranks_lower(shop) -> None:
    """A title word that ties an item to a need the request is not about (`marks`: Christmas
    napkins at a Halloween party) costs the item `PlannerWeights.foreign`, nothing else."""
    from assistant.compose.kind_planner import KindRequest

    composer, _ = shop
    mugs = Kind("camping mugs", ("camping mug", "enamel mug"), "a mug each", "camping trip")
    plates = Kind("camping plates", ("camping plate", "enamel plate"), "plates", "camping trip")

    def values(marks: tuple[str, ...]) -> dict[str, float]:
        candidates, _ = composer.planner._candidates(KindRequest((mugs, plates), "a camping trip", 2,
                                                                 foreign_marks=marks), lambda row: True)
        return {composer.catalog.items[c.row].title: c.value for c in candidates}

    plain, marked = values(()), values(("forest",))
    assert plain.keys() == marked.keys()
    for title in plain:
        lost = composer.planner.weights.foreign if "Forest" in title else 0.0
        assert marked[title] == pytest.approx(plain[title] - lost)
    assert any("Forest" in title for title in plain)
    # a mark of several words ties a title only whole ("st george", not "St Tropez")
    whole = values(("forest green",))
    assert any("Forest Green" in title for title in plain)
    for title in plain:
        lost = composer.planner.weights.foreign if "Forest Green" in title else 0.0
        assert whole[title] == pytest.approx(plain[title] - lost)
    assert values(("forest party",)) == plain


def test_a_colour_the_shopper_asked_for_ranks_its_titles_first(shop) -> None:
    """A colour said ("in forest green") gives titles in that colour `PlannerWeights.colour`,
    nothing else; a colour ruled out is not asked for."""
    from assistant.compose.kind_planner import KindRequest
    from assistant.understand.colours import colours_in

    composer, _ = shop
    mugs = Kind("camping mugs", ("camping mug", "enamel mug"), "a mug each", "camping trip")
    plates = Kind("camping plates", ("camping plate", "enamel plate"), "plates", "camping trip")

    def values(colours: tuple[str, ...]) -> dict[str, float]:
        candidates, _ = composer.planner._candidates(KindRequest((mugs, plates), "a camping trip", 2,
                                                                 colours=colours), lambda row: True)
        return {composer.catalog.items[c.row].title: c.value for c in candidates}

    assert colours_in("camping things in green, nothing red") == ("green",)
    plain, green = values(()), values(colours_in("camping things in green"))
    assert plain.keys() == green.keys() and any("Green" in title for title in plain)
    for title in plain:
        gained = composer.planner.weights.colour if "Green" in title else 0.0
        assert green[title] == pytest.approx(plain[title] + gained)


def test_a_redacted_placeholder_is_no_thing_to_buy(shop_index) -> None:
    """The guard turns a phone number into "[phone]"; this shop sells phone charms, and a
    placeholder must still never become a kind to fill."""
    from assistant.compose.needs_book import shipped_needs_path

    composer = BundleComposer(shop_index, needs=NeedsBook.load(shipped_needs_path()))
    assert composer.matcher.items_with_word("phone")
    kinds = [k.name for k in composer.kinds_for("hi, I'm [name], [phone], need something for my nan's 80th").kinds]
    assert kinds and not any("[" in name or "phone" in name for name in kinds), kinds


def test_with_a_head_count_what_scales_with_it_comes_after_the_centrepiece() -> None:
    from assistant.compose.need_kinds import guests_first

    lights = Kind("outdoor lights", ("lights",), "lights", "garden party", centrepiece=True)
    bunting = Kind("bunting", ("bunting",), "bunting", "garden party")
    parasol = Kind("parasol", ("parasol",), "shade", "garden party")
    plates = Kind("paper plates", ("paper plate",), "plates", "garden party", per_guest=1)
    kinds = (lights, bunting, parasol, plates)
    assert guests_first(kinds, 12) == (lights, plates, bunting, parasol)
    assert guests_first(kinds, None) == kinds and guests_first(kinds, 1) == kinds


def test_a_kind_per_guest_for_some_synonyms_buys_one_of_the_rest() -> None:
    from assistant.compose.kind_planner import role_evidence

    drinks = Kind("jugs and glasses", ("jug", "tumbler"), "a jug and glasses", "garden party", per_guest=1,
                  per_guest_only=("tumbler",))
    assert quantity_for(drinks, 12, "Tumbler Baroque") == 12
    assert quantity_for(drinks, 12, "Cordial Glass Jug") == 1
    assert "guests" not in role_evidence(drinks, 1, 12, "Cordial Glass Jug").text


def test_a_product_bought_per_guest_with_a_head_count_keeps_its_need(shop) -> None:
    composer, _ = shop
    # with a head count, "sleeping bags" for a group is the camping trip's sleeping bags, one
    # each, and what else the trip takes; without one it is a search for sleeping bags
    plan = composer.kinds_for("the cheapest sleeping bags for 4 of us for a weekend under canvas",
                              need="sleeping bags", guests=4)
    assert plan.kinds and plan.kinds[0].name == "sleeping bag" and len(plan.kinds) >= 2
    bundle = composer.compose(need="sleeping bags", guests=4, cheapest=True,
                              request_text="the cheapest sleeping bags for 4 of us for a weekend under canvas").bundle
    assert bundle is not None
    bags = [bi for bi in bundle.items if "Sleeping Bag" in bi.item.title]
    assert bags and bags[0].quantity == 4 and bags[0].item.item_id == "P10"  # the cheaper bag, one each
    assert composer.kinds_for("sleeping bags for a weekend under canvas", need="sleeping bags").kinds == ()


def test_with_a_budget_the_fits_that_use_it_are_weighed_too(shop) -> None:
    """Each kind offers the solver its best fits; with a budget to use, also the fits that
    rank best once their line's share of the budget counts (ten nice holders for ten
    tables, not only the cheapest votive), and never with "the cheapest"."""
    import dataclasses

    from assistant.compose.kind_planner import KindPlanner, KindRequest

    composer, _ = shop
    base = composer.planner
    planner = KindPlanner(base.catalog, base.embeddings, base.text_vector, base.blend, None,
                          weights=dataclasses.replace(base.weights, per_kind=2))
    kit = Kind("camping kit", ("camping", "tent", "stove", "sleeping bag"), "kit", "camping trip")

    def rows(**extra: object) -> list[int]:
        candidates, _ = planner._candidates(KindRequest((kit,), "a camping trip", 1, **extra), lambda row: True)
        return [c.row for c in candidates]

    plain = rows(budget=200.0, cheapest=True)
    budgeted = rows(budget=200.0)
    assert len(plain) == 2 and budgeted[:2] == plain and len(budgeted) == 3
    prices = planner.catalog.prices
    rest = sorted((row for row in planner.kind_rows(kit) if row not in plain), key=lambda row: prices[row])
    assert len(rest) >= 3 and budgeted[2] in rest[len(rest) // 2:], [planner.catalog.items[r].title for r in budgeted]


def test_a_head_count_at_an_occasion_is_hosting_not_a_present() -> None:
    """"The tables for my sister's wedding reception, 10 tables": the sister is whose day
    it is, so her present kinds go; and a person's present is never bought per guest."""
    from assistant.compose.need_kinds import _no_one_persons_present, _per_guest_as_elsewhere
    from assistant.compose.needs_match import Need, NeedMatch

    tables = Need("celebration tables", "occasion", ("tealights for every table",),
                  (Kind("t-light holders", ("t-light holder",), "a glow", "celebration tables", per_guest=1),))
    sister = Need("sister", "person", ("a present for my sister",),
                  (Kind("toiletry bag", ("wash bag",), "a bag", "sister"),
                   Kind("notebook", ("notebook",), "a notebook", "sister")))
    party = Need("hen party", "occasion", ("hen do",),
                 (Kind("party bags", ("wash bag", "party bag"), "a bag each", "hen party", per_guest=1),))
    matches = [NeedMatch(tables, 0.8, "tealights", "the tables"), NeedMatch(sister, 0.7, "sister", "my sister")]
    text = "the tables for my sister's wedding"
    assert [m.need.name for m in _no_one_persons_present(matches, text, 10)] == ["celebration tables"]
    assert _no_one_persons_present(matches, text, None) == matches
    assert _no_one_persons_present(matches, text, 1) == matches
    alone = [NeedMatch(sister, 0.7, "sister", "my sister")]
    assert _no_one_persons_present(alone, "ten gifts for my sister", 10) == alone  # no occasion: not hosting

    book = NeedsBook((tables, sister, party))
    fixed = _per_guest_as_elsewhere(list(sister.kinds), book)
    assert [k.per_guest for k in fixed] == [None, None]  # a wash bag is per guest at a hen do only

    # a present is left out with the persons when another occasion is hosted for a head count,
    # and kept when it is the only occasion ("birthday presents for my 3 kids")
    present = Need("birthday present", "occasion", ("a birthday present",),
                   (Kind("scented candle", ("candle",), "the main present", "birthday present"),), present=True)
    kids_party = Need("children's birthday party", "occasion", ("a party for the kids",),
                      (Kind("party bags", ("party bag",), "a bag each", "children's birthday party", per_guest=1),))
    both = [NeedMatch(kids_party, 0.9, "party", "birthday party"), NeedMatch(present, 0.85, "birthday", "birthday party")]
    assert [m.need.name for m in _no_one_persons_present(both, "a birthday party, 8 kids coming", 8)] == [
        "children's birthday party"]
    assert _no_one_persons_present(both, "a birthday party", None) == both
    only = [NeedMatch(present, 0.9, "birthday", "birthday presents")]
    assert _no_one_persons_present(only, "birthday presents for my 3 kids", 3) == only


def test_only_an_occasion_can_be_a_present(tmp_path: Path) -> None:
    path = tmp_path / "needs.yaml"
    path.write_text("version: 1\nneeds:\n  - name: nan\n    group: person\n    present: true\n"
                    "    examples: [my nan]\n    kinds:\n      - kind: mug\n        synonyms: [mug]\n"
                    "        role: a mug for her tea\n", encoding="utf-8")
    with pytest.raises(NeedsFileError) as err:
        NeedsBook.load(path)
    message = str(err.value)
    assert str(path) in message and "'nan'" in message and "present" in message


def test_pieces_buy_a_pair_without_a_party_size(tmp_path: Path) -> None:
    """`pieces: 2` (a pair of glasses in a wedding present) buys two singles or one set of
    two; a party size with `per_guest` takes precedence; a bad count names its field."""
    glasses = Kind("glasses", ("champagne glass",), "a pair to toast the couple", "wedding present", pieces=2)
    assert quantity_for(glasses, None, "Black Champagne Glass") == 2
    assert quantity_for(glasses, None, "Set of 2 Champagne Glasses") == 1
    each = Kind("glasses", ("wine glass",), "a glass each", "valentine's day", per_guest=1, pieces=2)
    assert quantity_for(each, 6, "Wine Glass Etched") == 6 and quantity_for(each, None, "Wine Glass Etched") == 2
    good = tmp_path / "needs.yaml"
    good.write_text(NEEDS_FILE.replace("role: a mug each for the morning brew\n        per_guest: 1",
                                       "role: a mug each for the morning brew\n        per_guest: 1\n        pieces: 2"),
                    encoding="utf-8")
    mugs = next(k for k in NeedsBook.load(good).need("camping trip").kinds if k.name == "camping mugs")
    assert mugs.pieces == 2
    good.write_text(good.read_text(encoding="utf-8").replace("pieces: 2", "pieces: two"), encoding="utf-8")
    with pytest.raises(NeedsFileError, match="pieces"):
        NeedsBook.load(good)


def test_per_guest_as_two_needs_buy_it_or_as_listed_with_a_head_count() -> None:
    """Paper plates two needs buy per guest are per guest at a summer do too; a soft toy
    only stocking fillers buy per guest stays one present at a baby shower; "aprons" the
    shopper listed are per guest because some need buys aprons so."""
    from assistant.compose.kind_planner import ASKED_NEED
    from assistant.compose.need_kinds import _per_guest_as_elsewhere
    from assistant.compose.needs_match import Need

    def need(name: str, *kinds: Kind) -> Need:
        return Need(name, "occasion", (f"a {name}",), kinds)

    plates = ("paper plate",)
    book = NeedsBook((
        need("tea party", Kind("plates", plates, "plates", "tea party", per_guest=1)),
        need("picnic", Kind("plates", plates, "plates", "picnic", per_guest=1)),
        need("stocking fillers", Kind("small toys", ("soft toy",), "a toy each", "stocking fillers", per_guest=1)),
        need("cook", Kind("apron", ("apron",), "an apron", "cook", per_guest=1)),
    ))
    summer = Kind("plates", plates, "plates", "summer do")
    cuddly = Kind("soft toy", ("soft toy",), "a cuddly toy", "baby shower")
    aprons = Kind("aprons", ("aprons",), "the aprons you asked for", ASKED_NEED)
    fixed = _per_guest_as_elsewhere([summer, cuddly, aprons], book)
    assert [k.per_guest for k in fixed] == [1, None, 1]


def test_a_present_for_a_couple_holds_no_one_persons_kinds(shop_index) -> None:
    """"A couple" is two people: the shipped book's "partner" (a necklace to wear) must not
    come in beside the wedding present's kinds."""
    from assistant.compose.needs_book import shipped_needs_path

    composer = BundleComposer(shop_index, needs=NeedsBook.load(shipped_needs_path()))
    for text in ("a present for a couple who love all things retro",
                 "a wedding present for a couple who love old-fashioned things"):
        needs = {kind.need for kind in composer.kinds_for(text).kinds}
        assert needs and "partner" not in needs, (text, needs)
    assert "partner" in {kind.need for kind in composer.kinds_for("a present for my wife who loves retro things").kinds}


def test_a_swap_is_ranked_as_the_bundle_was(shop) -> None:
    """A swap's alternative keeps to the bundle's marks (the words of another need, or of
    children's things for a grown-up): the item that would win otherwise ranks down."""
    composer, _ = shop
    bags = Kind("sleeping bag", ("sleeping bag",), "one each", "camping trip")
    planner = composer.planner
    best = planner.alternative(bags, "a camping trip", None, lambda row: True, None)
    assert best is not None
    marked = best.item.title.split()[-1].lower()  # a word only the winner's title has
    other = planner.alternative(bags, "a camping trip", None, lambda row: True, None, foreign_marks=(marked,))
    assert other is not None and other.item.item_id != best.item.item_id


def test_what_the_wanted_things_go_in_is_no_kind_to_buy(shop_index) -> None:
    """Rule "containers": stocking fillers are toys and bits for a stocking, not a stocking;
    a stocking asked for outright is one."""
    from assistant.compose.needs_book import shipped_needs_path

    composer = BundleComposer(shop_index, needs=NeedsBook.load(shipped_needs_path()))
    for text in ("stocking fillers for my three kids, nothing over a fiver each",
                 "little things to put in the kids' stockings"):
        kinds = composer.kinds_for(text).kinds
        assert len(kinds) >= 2 and not any(kind.fits_title("Vintage Christmas Stocking") for kind in kinds), (
            text, [kind.name for kind in kinds])
    assert any(kind.fits_title("Vintage Christmas Stocking")
               for kind in composer.kinds_for("christmas stockings for the kids, and little bits to go in them").kinds)


def test_a_listed_thing_is_read_before_its_purpose_and_a_word_of_taste_names_no_thing(shop_index) -> None:
    """Rule "listed wants": a long piece of a list names what comes before its "for" or "to"
    ("some fun wrap for the presents we're giving": fun wrap), and "fun", "spooky" or
    "sparkly" are how the thing should feel, not a thing the titles must hold."""
    from assistant.compose.needs_book import shipped_needs_path
    from assistant.understand.need_text import listed_wants

    assert listed_wants("party invitations for the kids in his class and some nice wrap for the gifts we're giving") == [
        "party invitations", "wrap"]
    # "for" and a person or a count is who or how many, not a purpose: no thing is cut from it
    assert listed_wants("easter lunch for 6 and something romantic for my sister") == []
    assert listed_wants("paper chains to hang in the school hall, balloons") == ["paper chains", "balloons"]
    assert listed_wants("a present for my nan who loves her garden") == []
    composer = BundleComposer(shop_index, needs=NeedsBook.load(shipped_needs_path()))
    kinds = composer.kinds_for("invitations for my son's 6th birthday party, and some nice wrap for the gifts").kinds
    assert any(kind.fits_title("Wrap Carousel") for kind in kinds[:3]), [kind.name for kind in kinds]


def test_listed_wants_read_something_x_and_leave_pleasantries_out() -> None:
    """Rule "listed wants": "something X" and "something from your X range" list X, whatever
    lead-in ("i also need", "i'm after", "next"); "thanks!", "hiya", "thankyou sooo much"
    list nothing (a "thanks" want had filled a line with a Thank You stamp set)."""
    from assistant.understand.need_text import listed_wants

    assert listed_wants("thanks! i also need something bicycle and something sewing") == ["bicycle", "sewing"]
    assert listed_wants("next i'm after something grow and something from your gift wrap range") == [
        "grow", "gift wrap"]
    assert listed_wants("cheers, i'd also like something from your bag & handbag range") == ["bag & handbag"]
    assert listed_wants("hiya! bunting, lanterns and paper plates, thankyou sooo much") == [
        "bunting", "lanterns", "paper plates"]
    assert listed_wants("we're after lanterns and bunting") == ["lanterns", "bunting"]
    assert listed_wants("something sewing - ") == ["sewing"]


def test_spelt_out_wants_are_words_to_find_unless_a_need_is_named(shop_index) -> None:
    """Rule "spelt wants": "something tea and something swallow" is looked for by its words
    (no tea party's cups and cake stand), and comes back as a full bundle, not one line per
    word; a need named beside it ("a tea party for six") is still filled kind by kind."""
    from assistant.compose.needs_book import shipped_needs_path

    composer = BundleComposer(shop_index, needs=NeedsBook.load(shipped_needs_path()))
    assert composer.kinds_for("thanks! i also need something tea and something swallow").kinds == ()
    assert composer.kinds_for("next i'm after something gingham and something star").kinds == ()
    assert len(composer.kinds_for("a tea party for six, and something floral").kinds) >= 3
    assert len(composer.kinds_for("something nice for my mum who loves gardening").kinds) >= 3
    bundle = composer.compose(need="gingham and star",
                              request_text="next i'm after something gingham and something star").bundle
    assert bundle is not None and len(bundle.items) == composer.config.size


def test_what_holds_the_things_leaves_the_thing_named(shop_index) -> None:
    """"some drawing slate bits for me": the shop sells drawing slates, so that is what the
    bundle holds, not an arts-and-crafts bundle the words only resemble ("bits" holds them)."""
    from assistant.compose.needs_book import shipped_needs_path

    composer = BundleComposer(shop_index, needs=NeedsBook.load(shipped_needs_path()))
    composition = composer.compose(need="some drawing slate bits", request_text="some drawing slate bits for me")
    assert composition.bundle is not None
    titles = [bi.item.title.lower() for bi in composition.bundle.items]
    assert sum("drawing slate" in t for t in titles) >= 2, titles


def test_a_party_for_a_head_count_takes_no_present_for_one(shop_index) -> None:
    """With the shipped book: a birthday party for 8 children is the party's things, and
    birthday presents for three children are still presents."""
    from assistant.compose.needs_book import shipped_needs_path

    composer = BundleComposer(shop_index, needs=NeedsBook.load(shipped_needs_path()))
    party = composer.kinds_for("a birthday party for my son, 8 kids coming, about £30", guests=8).kinds
    assert party and "birthday present" not in {kind.need for kind in party}, [(k.name, k.need) for k in party]
    presents = composer.kinds_for("birthday presents for my 3 kids", guests=3).kinds
    assert "birthday present" in {kind.need for kind in presents}, [(k.name, k.need) for k in presents]


def test_a_kind_per_table_dresses_the_tables_counted_or_one_for_every_six_guests(tmp_path: Path) -> None:
    """A t-light holder on every table: "10 tables" buys ten; "12 of us" two (a table seats
    about six), not one per guest; a set covers as many tables as it holds; the reason says
    how many tables. A kind may not be both per guest and per table."""
    holders = Kind("t-light holders", ("t-light holder",), "a glow on every table", "celebration tables", per_table=1)
    assert quantity_for(holders, 10, "Glass Star T-Light Holder", tables=10) == 10
    assert quantity_for(holders, 12, "Glass Star T-Light Holder") == 2
    assert quantity_for(holders, 5, "Glass Star T-Light Holder") == 1
    assert quantity_for(holders, 30, "Set of 6 T-Light Holders") == 1
    assert quantity_for(holders, None, "Glass Star T-Light Holder") == 1
    assert role_evidence(holders, 2, 12, "Glass Star T-Light Holder").text == "a glow on every table (2 for 2 tables)"
    assert role_evidence(holders, 1, 4, "Glass Star T-Light Holder").text.endswith("(for 1 table)")
    good = tmp_path / "needs.yaml"
    good.write_text(NEEDS_FILE.replace("role: light after dark", "role: light after dark\n        per_table: 1"),
                    encoding="utf-8")
    light = next(k for k in NeedsBook.load(good).need("camping trip").kinds if k.name == "light")
    assert light.per_table == 1 and light.per_guest is None
    good.write_text(NEEDS_FILE.replace("role: one sleeping bag each\n        per_guest: 1",
                                       "role: one sleeping bag each\n        per_guest: 1\n        per_table: 1"),
                    encoding="utf-8")
    with pytest.raises(NeedsFileError) as err:
        NeedsBook.load(good)
    assert "'camping trip'" in str(err.value) and "per_table" in str(err.value) and str(good) in str(err.value)


def test_the_tables_a_shopper_counts_reach_the_per_table_lines(shop, tmp_path: Path) -> None:
    root = tmp_path
    needs = root / "needs.yaml"
    needs.write_text(NEEDS_FILE.replace("role: light after dark", "role: light after dark\n        per_table: 1"),
                     encoding="utf-8")
    composer = BundleComposer(shop[0].index, needs=NeedsBook.load(needs))
    counted = composer.compose(need="a camping trip", guests=4, budget=500.0, size=6,
                               request_text="a camping trip, 4 tables at the site, £500").bundle
    assert counted is not None
    lights = [bi for bi in counted.items if "Torch" in bi.item.title or "Lantern" in bi.item.title]
    assert lights and lights[0].quantity == 4 and "4 for 4 tables" in lights[0].reasons[0].text
    guests = composer.compose(need="a camping trip", guests=12, budget=900.0, size=6,
                              request_text="a camping trip for 12 of us, £900").bundle
    assert guests is not None
    lights = [bi for bi in guests.items if "Torch" in bi.item.title or "Lantern" in bi.item.title]
    assert lights and lights[0].quantity == 2 and "2 for 2 tables" in lights[0].reasons[0].text
