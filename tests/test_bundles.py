"""Bundle composition and edits on a tiny hand-made giftware shop (built once per module).

The shop has 31 items in clear complement groups (tea party, lunch, Christmas, candles and
home, garden), two colour variants of one lunch bag that are bought together (so the
collaborative sources do propose the variant), and one unpriced gift voucher.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assistant.compose
from assistant.compose.composer import BundleComposer, ComposerConfig
from assistant.compose.context import BundleContext
from assistant.compose.editor import BundleEditor
from assistant.compose.errors import BundleError, NoMatchError, TargetNotFoundError
from assistant.compose.profiles import Profile
from assistant.compose.selection import best_subset
from retrieval.catalog import Catalog, Interactions
from retrieval.errors import CartsmithError, ConfigError
from retrieval.records import Item
from retrieval.shop_index import ShopIndex, build_index

ITEMS = [
    # tea party
    ("T01", "Regency Teapot Roses", 9.95, "teaware"),
    ("T02", "Regency Cakestand 3 Tier", 12.75, "teaware"),
    ("T03", "Roses Regency Teacup and Saucer", 2.95, "teaware"),
    ("T04", "Pack of 60 Pink Paisley Cake Cases", 0.55, "baking"),
    ("T05", "Set of 3 Cake Tins Pantry Design", 4.95, "baking"),
    ("T06", "Tea Time Party Bunting", 4.95, "party"),
    ("T07", "Set/6 Red Spotty Paper Cups", 0.65, "party"),
    ("T08", "Set/6 Red Spotty Paper Plates", 0.85, "party"),
    # lunch, with two colour variants of one lunch bag
    ("L01", "Lunch Bag Red Retrospot", 1.65, "bags"),
    ("L02", "Lunch Bag Pink Polkadot", 1.65, "bags"),
    ("L03", "Red Retrospot Charlotte Bag", 0.85, "bags"),
    ("L04", "Strawberry Picnic Bag", 2.95, "bags"),
    ("L05", "Lunch Box with Cutlery Retrospot", 2.55, "kitchen"),
    ("L06", "Childrens Cutlery Spaceboy", 4.15, "kitchen"),
    ("L07", "Water Bottle Red Retrospot", 4.25, "kitchen"),
    # Christmas
    ("C01", "Christmas Tree Star Decoration", 0.42, "christmas"),
    ("C02", "Paper Chain Kit 50's Christmas", 2.95, "christmas"),
    ("C03", "Advent Calendar Gingham Sack", 5.95, "christmas"),
    ("C04", "Christmas Lights 10 Reindeer", 8.50, "lights"),
    ("C05", "Wrap Christmas Village", 0.42, "wrap"),
    # candles and home
    ("H01", "White Hanging Heart T-Light Holder", 2.95, "candles"),
    ("H02", "Set of 12 Fork Candles", 1.65, "candles"),
    ("H03", "Vanilla Scent Candle Jewelled Box", 1.25, "candles"),
    ("H04", "Doormat Welcome to Our Home", 7.95, "home"),
    ("H05", "Wooden Picture Frame White Finish", 2.55, "home"),
    # garden
    ("G01", "Set/3 Floral Garden Tools in Bag", 7.95, "garden"),
    ("G02", "Watering Can Pink Bunny", 1.95, "garden"),
    ("G03", "Herb Marker Thyme", 0.65, "garden"),
    ("G04", "Hanging Wooden Bird House", 3.75, "garden"),
    ("G05", "Garden Kneeling Pad Floral", 2.10, "garden"),
    # unpriced
    ("V01", "Gift Voucher for the Shop", None, "gifts"),
]
GROUPS = {
    "tea": ["T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08"],
    "lunch": ["L01", "L02", "L03", "L05", "L06", "L07", "L04"],
    "xmas": ["C01", "C02", "C03", "C04", "C05", "H01"],
    "home": ["H01", "H02", "H03", "H04", "H05", "V01"],
    "garden": ["G01", "G02", "G03", "G04", "G05", "L04"],
}
IDS = [row[0] for row in ITEMS]


def make_shop(n_baskets: int = 300, seed: int = 3) -> tuple[Catalog, Interactions]:
    catalog = Catalog([Item(i, t, p, category=c) for i, t, p, c in ITEMS])
    rng = np.random.default_rng(seed)
    names = list(GROUPS)
    users = [f"U{u:02d}" for u in range(30)]
    favourite = {u: names[k % len(names)] for k, u in enumerate(users)}
    rows = []
    start = pd.Timestamp("2011-01-01")
    for b in range(n_baskets):
        user = users[b % len(users)]
        group = favourite[user] if rng.random() < 0.7 else names[rng.integers(len(names))]
        members = GROUPS[group]
        picked = list(rng.choice(members, size=int(rng.integers(3, 6)), replace=False))
        if group == "lunch" and "L01" in picked and "L02" not in picked and rng.random() < 0.8:
            picked.append("L02")  # wholesale shoppers buy every colour
        if rng.random() < 0.2:
            picked.append(IDS[rng.integers(len(IDS))])
        for item in dict.fromkeys(picked):
            rows.append({"basket_id": f"B{b:04d}", "item_id": item, "user_id": user,
                         "timestamp": start + pd.Timedelta(hours=6 * b), "quantity": 1.0})
    return catalog, Interactions(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> ShopIndex:
    root = tmp_path_factory.mktemp("shop")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARTSMITH_CACHE", str(root / "cache"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("ANONYMIZED_TELEMETRY", "False")
        catalog, interactions = make_shop()
        build_index(catalog, interactions, root / "index")
        return ShopIndex.load(root / "index")


@pytest.fixture(scope="module")
def composer(index: ShopIndex) -> BundleComposer:
    return BundleComposer(index)


@pytest.fixture(scope="module")
def editor(composer: BundleComposer) -> BundleEditor:
    return BundleEditor(composer)


def ids(bundle) -> list[str]:
    return list(bundle.item_ids)


# -- the exact selection -----------------------------------------------------------------
def brute_force(scores, costs, groups, size, budget, caps):
    best = (0, 0.0)
    n = len(scores)
    for k in range(min(size, n), 0, -1):
        for combo in itertools.combinations(range(n), k):
            if budget is not None and sum(costs[i] for i in combo) > budget:
                continue
            counts: dict = {}
            for i in combo:
                counts[groups[i]] = counts.get(groups[i], 0) + 1
            if any(g is not None and g in caps and c > caps[g] for g, c in counts.items()):
                continue
            value = sum(scores[i] for i in combo)
            if (k, value) > best:
                best = (k, value)
        if best[0] == k:
            return best
    return best


@pytest.mark.parametrize("seed", range(12))
def test_dp_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(12):
        n = int(rng.integers(1, 11))
        scores = np.round(rng.random(n) * 3, 3)
        if seed % 3 == 0:
            scores -= 1.0  # negative utilities (cheap tier) must still fill the size first
        costs = rng.integers(5, 900, size=n)
        groups = [rng.choice(["a", "b", "c", None]) for _ in range(n)]
        caps = {"a": int(rng.integers(0, 3)), "b": int(rng.integers(1, 3)), "c": 1}
        size = int(rng.integers(1, 6))
        budget = None if rng.random() < 0.2 else int(rng.integers(0, 2500))
        chosen = best_subset(scores, costs, groups, size, budget, caps)
        k, value = brute_force(scores, costs, groups, size, budget, caps)
        assert len(chosen) == k
        assert sum(scores[i] for i in chosen) == pytest.approx(value, abs=1e-9)
        if budget is not None:
            assert sum(costs[i] for i in chosen) <= budget
        for g, cap in caps.items():
            assert sum(groups[i] == g for i in chosen) <= cap


def test_dp_prefers_more_items_then_score_and_is_exact() -> None:
    # Greedy by score (or by score per penny) would take item 0 and then afford one more;
    # the exact optimum for a budget of 1000 is items 1 + 2 + 3.
    scores, costs = [5.0, 3.0, 3.0, 3.0], [800, 330, 330, 330]
    assert best_subset(scores, costs, [None] * 4, 3, 1000) == [1, 2, 3]
    assert best_subset(scores, costs, [None] * 4, 3, 989) == [1, 2]  # 3 items no longer fit
    assert best_subset(scores, costs, [None] * 4, 3, 1460) == [0, 1, 2]
    assert best_subset(scores, costs, [None] * 4, 2, None) == [0, 1]
    assert best_subset(scores, costs, ["g"] * 4, 3, None, {"g": 1}) == [0]
    assert best_subset(scores, costs, [None] * 4, 3, 100) == []


# -- config ------------------------------------------------------------------------------
def test_config_validates_and_rejects_unknown_keys() -> None:
    assert ComposerConfig.from_dict({"size": 5, "tier_price_tilt": [-1, 0, 1]}).size == 5
    with pytest.raises(ConfigError, match="unknown key"):
        ComposerConfig.from_dict({"sise": 5})
    with pytest.raises(ConfigError, match="tier_price_tilt"):
        ComposerConfig(tier_price_tilt=(0.0, 0.0, 1.0))
    with pytest.raises(ConfigError, match="size"):
        ComposerConfig(size=0)


# -- resolve -----------------------------------------------------------------------------
def test_resolve_ids_titles_words_and_misses(composer: BundleComposer) -> None:
    by_id, exact, words, teapot, spaced, laptop = composer.resolve(
        ["L01", "regency cakestand 3 tier", "the red lunch bag", "teapot", "tea pot", "laptop"])
    assert (by_id.item.item_id, by_id.how) == ("L01", "id")
    assert (exact.item.item_id, exact.how) == ("T02", "title")
    assert (words.item.item_id, words.how) == ("L01", "words")
    assert teapot.item.item_id == "T01" and spaced.item.item_id == "T01"
    assert not laptop.resolved and laptop.how == "none" and laptop.alternatives
    assert laptop.similarity < composer.config.resolve_threshold


# -- compose -----------------------------------------------------------------------------
def test_a_design_the_baskets_show_bought_with_the_anchor_joins_once(composer: BundleComposer) -> None:
    """Companion designs: this shop's baskets hold the red lunch bag with the pink one (the
    rule L01 -> L02 holds in most baskets with L01), so the pink one joins the red one's
    bundle, its reason that they are bought together; one other design at most, never two."""
    rules = composer.index.sources["rules"]
    row = composer.catalog.index_of
    found = rules.rule(row["L01"], row["L02"])
    assert found and found["confidence"] >= composer.config.companion_min_confidence
    bundle = composer.compose(["L01"]).bundle
    assert bundle is not None and "L02" in ids(bundle)
    line = next(bi for bi in bundle.items if bi.item.item_id == "L02")
    # its reason says they are bought together (the rule, or the basket model reading it)
    assert any(ev.kind in ("association_rule", "co_purchase", "basket_model") for ev in line.reasons), line.reasons
    designs = [i for i in ids(bundle)[1:] if composer.substitutes.pair(row["L01"], row[i])]
    assert len(designs) == 1


def test_anchor_included_without_its_colour_variant(composer: BundleComposer) -> None:
    # The variant is the top collaborative candidate for the anchor ...
    assert composer.index.recommend(_query(["L01"]), k=1)[0].item_id == "L02"
    # ... and a substitute, so it never joins the bundle.
    assert composer.substitutes.pair(composer.catalog.index_of["L01"], composer.catalog.index_of["L02"])
    assert not composer.substitutes.pair(composer.catalog.index_of["L01"],
                                         composer.catalog.index_of["L05"])
    alone = BundleComposer(composer.index, dataclasses.replace(composer.config, companion_designs=0))
    result = alone.compose(["L01"])
    bundle = result.bundle
    assert bundle is not None and not result.no_match
    assert ids(bundle)[0] == "L01" and "L02" not in ids(bundle)
    assert len(bundle.items) == composer.config.size
    anchor = bundle.items[0]
    assert anchor.role == "anchor" and anchor.reasons[0].kind == "anchor"
    assert all(bi.role == "complement" and bi.reasons for bi in bundle.items[1:])
    assert bundle.total == pytest.approx(sum(bi.item.price for bi in bundle.items))
    # more like this: similar items are allowed
    similar = composer.compose(["L01"], allow_similar=True, size=6).bundle
    assert "L02" in ids(similar)


def test_a_need_for_a_kind_of_thing_may_show_two_designs_of_it(index: ShopIndex,
                                                                composer: BundleComposer) -> None:
    # "lunch bags": both lunch-bag designs are what the shopper asked for ...
    bundle = composer.compose([], need="a few lunch bags", size=4).bundle
    assert {"L01", "L02"} <= set(ids(bundle))
    # ... but an anchor's own variant is still no complement of it (test above), and the
    # rule can be turned off: one design per product line.
    one = BundleComposer(index, ComposerConfig(need_variants=1)).compose([], need="a few lunch bags", size=4)
    assert len({"L01", "L02"} & set(ids(one.bundle))) == 1
    # A design variant of a cart item the shopper asks for again may be shown beside it.
    profile = Profile()
    profile.observe("added_to_cart", "L01")
    again = composer.compose([], need="lunch bags", profile=profile).bundle
    assert "L02" in ids(again) and "L01" not in ids(again)


def test_every_want_of_a_need_of_several_is_in_the_bundle(composer: BundleComposer) -> None:
    bundle = composer.compose([], need="something teapot and something watering can", size=4).bundle
    assert bundle is not None
    assert {"T01", "G02"} <= set(ids(bundle))  # the best match of each want
    assert ids(bundle)[:2] == ["T01", "G02"]   # in the order the shopper named them


def test_need_core_drops_filler_words() -> None:
    from assistant.understand.need_text import need_core

    assert need_core("a few hanging wicker bits for me") == "hanging wicker"
    assert need_core("something for the garden") == "garden"
    assert need_core("gift ideas for my mum") == "gift ideas for mum"
    assert need_core("something") == "something"  # nothing else left: the need itself


def _query(seeds):
    from retrieval.records import Query

    return Query(seed_items=tuple(seeds))


def test_budget_is_hard_and_unpriced_items_stay_out(composer: BundleComposer) -> None:
    for budget in (3.0, 7.5, 12.0, 25.0, 60.0):
        for anchors, need in (([], "tea party"), (["L01"], None), ([], "christmas"),
                              (["H01"], "gift voucher")):
            result = composer.compose(anchors, need=need, budget=budget)
            if result.bundle is None:
                continue
            assert result.bundle.total <= budget + 1e-9
            assert all(bi.item.price is not None for bi in result.bundle.items)
    unbudgeted = composer.compose(["H01"], need="gift voucher", size=6).bundle
    assert "V01" in ids(unbudgeted)
    over = composer.compose(["T02", "T01"], budget=15.0)
    assert over.bundle is None and over.over_budget


def test_budget_selection_is_the_exact_optimum(composer: BundleComposer) -> None:
    result = composer.compose(["T01"], need="tea party", budget=16.0, size=4)
    bundle = result.bundle
    ctx = result.context
    scores = composer.score(["T01"], "tea party", composer.matcher.text_sims("tea party"), None, None)
    fixed = list(bundle.items[:1])
    pool = composer._pool(scores, fixed, ctx, None, budgeted=True, allow_similar=False)
    room = 16.0 - 9.95
    best = (0, 0.0)
    for k in range(3, 0, -1):
        for combo in itertools.combinations(pool, k):
            cats = [composer.catalog.items[i].category for i in combo] + ["teaware"]
            if max(cats.count(c) for c in cats) > 2:
                continue
            if sum(composer.catalog.items[i].price for i in combo) <= room + 1e-9:
                best = max(best, (k, float(sum(scores.total[i] for i in combo))))
        if best[0]:
            break
    got = sum(bi.score for bi in bundle.items[1:])
    assert len(bundle.items) - 1 == best[0]
    assert got == pytest.approx(best[1], abs=1e-3)


def test_exclusions_are_honoured(composer: BundleComposer) -> None:
    bundle = composer.compose([], need="candles for the home", size=5,
                              exclude_terms=["candles"], exclude_ids=["H04"]).bundle
    assert bundle is not None
    titles = [bi.item.title.lower() for bi in bundle.items]
    assert not any("candle" in t for t in titles) and "H04" not in ids(bundle)


def test_category_spread(composer: BundleComposer) -> None:
    for anchors, need in (([], "tea party"), (["T01"], None), ([], "garden"), (["C01"], "christmas")):
        bundle = composer.compose(anchors, need=need, size=6).bundle
        counts = pd.Series([bi.item.category for bi in bundle.items]).value_counts()
        assert counts.max() <= composer.config.max_per_category, counts


def test_compose_is_deterministic(composer: BundleComposer) -> None:
    one = composer.compose(["T01"], need="tea party", budget=20.0).bundle
    two = composer.compose(["T01"], need="tea party", budget=20.0).bundle
    assert one.to_dict() == two.to_dict()


def test_no_match_returns_alternatives(composer: BundleComposer) -> None:
    result = composer.compose([], need="car tyres")
    assert result.no_match and result.bundle is None and result.alternatives
    assert result.best_similarity < composer.config.no_match_threshold
    with_anchor = composer.compose(["T01"], need="car tyres")
    assert with_anchor.no_match and with_anchor.bundle is not None
    assert with_anchor.bundle.need is None and ids(with_anchor.bundle)[0] == "T01"
    assert composer.compose([], need="tea party").no_match is False
    unknown = composer.compose(["NOPE", "T01"])
    assert unknown.unresolved == ("NOPE",) and unknown.bundle is not None


def test_profile_rejections_and_cart(composer: BundleComposer) -> None:
    plain = composer.compose(["T01"])
    first = plain.bundle.items[1].item.item_id
    profile = Profile(user_id="U00")
    profile.observe("rejected", first)
    profile.observe("added_to_cart", "T06")
    bundle = composer.compose(["T01"], profile=profile).bundle
    assert first not in ids(bundle) and "T06" not in ids(bundle)


# -- edits -------------------------------------------------------------------------------
@pytest.fixture
def tea(composer: BundleComposer):
    return composer.compose(["T01"], need="tea party", budget=30.0, size=5).bundle


def test_cheaper_keeps_anchor_and_locked(composer: BundleComposer, editor: BundleEditor, tea) -> None:
    locked = editor.lock(tea, "3")
    assert locked.items[2].locked and locked.diff.empty and locked.total == tea.total
    swapped = editor.swap(locked, "2")
    assert swapped.items[2] == locked.items[2] and swapped.items[2].locked
    assert swapped.items[1].item.item_id != locked.items[1].item.item_id
    cheaper = editor.cheaper(locked)
    assert cheaper.total <= round(tea.total * 0.8, 2) + 1e-9
    assert "T01" in ids(cheaper) and locked.items[2].item.item_id in ids(cheaper)
    assert cheaper.diff.total_before == tea.total and cheaper.diff.removed
    assert cheaper.budget <= tea.total * 0.8
    cheapest = editor.cheaper(cheaper, budget=cheaper.total - 1)
    assert cheapest.total <= cheaper.total - 1 + 1e-9
    with pytest.raises(BundleError, match="can't make it cheaper"):
        editor.cheaper(composer.compose(["T02"], size=1).bundle)


def test_swap_by_position_and_words(composer: BundleComposer, editor: BundleEditor, tea) -> None:
    second = tea.items[1]
    swapped = editor.swap(tea, "2")
    assert len(swapped.items) == len(tea.items) and swapped.total <= 30.0 + 1e-9
    assert second.item.item_id not in ids(swapped)
    assert swapped.diff.removed == (second.item.title,) and len(swapped.diff.added) == 1
    new = swapped.items[1]
    assert new.role == "complement" and new.reasons
    again = editor.swap(swapped, "2")  # never re-offers what was swapped out
    assert second.item.item_id not in ids(again) and new.item.item_id not in ids(again)
    word = tea.items[-1].item.title.split()[-1]
    by_words = editor.swap(tea, f"the {word.lower()}")
    assert tea.items[-1].item.item_id not in ids(by_words)
    for bi in swapped.items[1:]:
        others = [composer.catalog.index_of[x.item.item_id] for x in swapped.items if x is not bi]
        assert not composer.substitutes.conflicts(composer.catalog.index_of[bi.item.item_id], others)


def test_swap_locked_and_anchor(composer: BundleComposer, editor: BundleEditor) -> None:
    alone = BundleComposer(composer.index, dataclasses.replace(composer.config, companion_designs=0))
    bundle = alone.compose(["L01"]).bundle
    variant = BundleEditor(alone).swap(bundle, "the lunch bag")  # an anchor swaps for its variant
    assert ids(variant)[0] == "L02" and variant.items[0].role == "anchor"
    # beside its companion design (L02, the line's only other design) nothing is left to swap to
    with pytest.raises(BundleError, match="nothing else"):
        editor.swap(composer.compose(["L01"]).bundle, "1")
    bundle = composer.compose(["L01"]).bundle
    locked = editor.lock(bundle, "2")
    with pytest.raises(BundleError, match="locked"):
        editor.swap(locked, "2")


def test_unknown_target_names_the_bundle(editor: BundleEditor, tea) -> None:
    with pytest.raises(TargetNotFoundError) as info:
        editor.swap(tea, "the garden gnome")
    message = str(info.value)
    assert "garden gnome" in message and tea.items[0].item.title in message
    assert isinstance(info.value, CartsmithError)
    with pytest.raises(TargetNotFoundError):
        editor.remove(tea, "9")


def test_remove_add_and_profile(editor: BundleEditor, tea) -> None:
    profile = Profile()
    gone = tea.items[2]
    removed = editor.remove(tea, "3", profile=profile)
    assert gone.item.item_id not in ids(removed) and removed.diff.removed == (gone.item.title,)
    assert gone.item.item_id in profile.rejected
    added = editor.add(removed, ["watering can"])
    assert ids(added)[-1] == "G02" and added.items[-1].role == "anchor"
    assert added.diff.added == ("Watering Can Pink Bunny",)
    by_need = editor.add(removed, need="christmas decorations")
    assert len(by_need.items) == len(removed.items) + 1
    assert by_need.items[-1].item.category in {"christmas", "lights", "wrap"}
    with pytest.raises(NoMatchError):
        editor.add(removed, need="car tyres")
    with pytest.raises(NoMatchError):
        editor.add(removed, ["a laptop"])


def test_add_under_budget_drops_complements(composer: BundleComposer, editor: BundleEditor) -> None:
    bundle = composer.compose(["T03"], need="tea party", budget=16.0).bundle
    grown = editor.add(bundle, ["T02"])
    assert "T02" in ids(grown) and "T03" in ids(grown) and grown.total <= 16.0 + 1e-9
    with pytest.raises(BundleError, match="budget"):
        editor.add(grown, ["C04"])


def test_more_like_and_set_budget(composer: BundleComposer, editor: BundleEditor) -> None:
    bundle = composer.compose(["G01"], budget=20.0).bundle
    target = bundle.items[1]
    similar = editor.more_like(bundle, "2")
    assert target.item.item_id in ids(similar) and similar.total <= 20.0 + 1e-9
    assert any(r.kind == "similar_text" for bi in similar.items[2:] for r in bi.reasons)
    lower = editor.set_budget(bundle, 10.0)
    assert lower.total <= 10.0 + 1e-9 and ids(lower)[0] == "G01" and len(lower.items) > 1
    assert lower.budget == 10.0 and lower.diff.total_before == bundle.total
    with pytest.raises(BundleError):
        editor.set_budget(bundle, 5.0)  # the anchor alone costs 7.95
    higher = editor.set_budget(bundle, 40.0)
    assert higher.budget == 40.0 and higher.total <= 40.0 + 1e-9


def test_context_travels_with_the_bundle(composer: BundleComposer, editor: BundleEditor) -> None:
    result = composer.compose([], need="christmas", exclude_terms=["lights"])
    bundle = result.bundle
    assert result.context.exclude_terms == ("lights",)
    for _ in range(3):
        bundle = editor.swap(bundle, "1")
        assert not any("light" in bi.item.title.lower() for bi in bundle.items)
    restored = BundleContext.from_dict(composer.context_of(bundle).to_dict())
    assert restored.exclude_terms == ("lights",) and restored.shown


def test_tiers_are_ordered_by_total(composer: BundleComposer) -> None:
    for anchors, need, budget in ((["T01"], "tea party", None), ([], "garden", 20.0),
                                  (["L01"], None, None)):
        tiers = composer.tiers(anchors, need, budget)
        assert list(tiers) == ["good", "better", "best"]
        totals = [tiers[t].total for t in ("good", "better", "best")]
        assert totals == sorted(totals), totals
        assert all(tiers[t].tier == t for t in tiers)
        if budget is not None:
            assert totals[-1] <= budget + 1e-9
    with pytest.raises(NoMatchError):
        composer.tiers([], "car tyres")


# -- how the package is put together -----------------------------------------------------
COMPOSE = Path(assistant.compose.__file__).parent


def composer_privates_reached(source: str) -> list[str]:
    """Underscore attributes read through a composer in `source`: `self.composer._x`,
    `composer._x`, or through a local name bound to either (`c = self.composer; c._x`)."""
    tree = ast.parse(source)

    def is_composer(node: ast.expr, aliases: set[str]) -> bool:
        if isinstance(node, ast.Name):
            return node.id == "composer" or node.id in aliases
        return (isinstance(node, ast.Attribute) and node.attr == "composer"
                and isinstance(node.value, ast.Name) and node.value.id == "self")

    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and is_composer(node.value, set()):
            aliases.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return sorted((f"line {node.lineno}: {node.attr}" for node in ast.walk(tree)
                   if isinstance(node, ast.Attribute) and node.attr.startswith("_")
                   and not node.attr.startswith("__") and is_composer(node.value, aliases)),
                  key=lambda hit: int(hit.split()[1].rstrip(":")))


def test_the_privacy_check_sees_every_way_in() -> None:
    source = ("class E:\n"
              "    def f(self, composer):\n"
              "        self.composer._score()\n"
              "        composer._nearest\n"
              "        c = self.composer\n"
              "        c._memory\n"
              "        self.composer.score(); self._own(); other._fine\n")
    assert composer_privates_reached(source) == ["line 3: _score", "line 4: _nearest", "line 6: _memory"]


def test_the_editor_uses_only_the_composers_public_methods() -> None:
    source = (COMPOSE / "editor.py").read_text(encoding="utf-8")
    assert composer_privates_reached(source) == []
    tree = ast.parse(source)
    editor_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "BundleEditor")
    assert editor_class.bases == []  # holds a composer; no mixin either way
    assert "TYPE_CHECKING" not in source
    assert not issubclass(BundleComposer, BundleEditor) and not issubclass(BundleEditor, BundleComposer)


def compose_imports() -> dict[str, set[str]]:
    """Module -> the assistant.compose modules it imports (TYPE_CHECKING imports too)."""
    graph: dict[str, set[str]] = {}
    for path in COMPOSE.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found.update(n.split(".")[2] for n in names if n.startswith("assistant.compose.")
                         and (COMPOSE / f"{n.split('.')[2]}.py").exists())
        graph[path.stem] = found - {path.stem}
    return graph


def test_compose_modules_import_each_other_without_cycles() -> None:
    graph = compose_imports()
    assert "composer" in graph["editor"] and "editor" not in graph["composer"]
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join([*path, module])
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_no_compose_module_is_over_400_lines() -> None:
    lengths = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in COMPOSE.glob("*.py")}
    assert max(lengths.values()) <= 400, lengths
