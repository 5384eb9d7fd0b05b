"""Collaborative-filtering sources: a checkerboard known-answer test for every registry entry,
plus hand-computed numbers for rules and popularity and the ALS fold-in."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest

from retrieval.catalog import BasketData, Catalog, Interactions
from retrieval.cf import (
    CF_SOURCES,
    ALSSource,
    AssociationRulesSource,
    UserKNNSource,
    make_source,
)
from retrieval.cf._common import cooccurrence, top_n_mask
from retrieval.errors import ConfigError, IndexStateError
from retrieval.records import Item, PriceRange, Query
from retrieval.sources import CandidateSource, ScoringSource

GROUP_A = [f"A{i}" for i in range(6)]
GROUP_B = [f"B{i}" for i in range(6)]
KINDS = {
    "popularity": "popular",
    "rules": "association_rule",
    "item_knn": "co_purchase",
    "user_knn": "similar_shoppers",
    "als": "taste_profile",
    "bpr": "taste_profile",
    "transformer": "basket_model",
}
SEED_AWARE = set(KINDS) - {"popularity"}
USER_AWARE = {"item_knn", "user_knn", "als", "bpr", "transformer"}
# The checkerboard is a rank-2 world of 12 items: factor models get few factors (with 8+ ALS
# on 128 three-item baskets learns near-identity item factors). Others run on their defaults.
TEST_OPTIONS: dict[str, dict] = {
    "als": {"factors": 2},
    "bpr": {"factors": 4, "iterations": 100},
}


def checkerboard(with_users: bool = True) -> BasketData:
    """Twelve items in two disjoint groups; every basket (and every shopper) stays in one group.

    Items alternate categories 'x'/'y' and cost 1..6 within a group. Each basket holds 3 of
    its group's 6 items, so within a group every pair has lift about 1.6, across groups 0.
    """
    items = [
        Item(f"{g}{i}", f"{g} item {i}", price=float(1 + i), category="x" if i % 2 else "y")
        for g in "AB"
        for i in range(6)
    ]
    rng = np.random.default_rng(7)
    rows = []
    for user in range(16):
        group = "A" if user < 8 else "B"
        for b in range(8):
            basket = f"u{user}-b{b}"
            for i in sorted(rng.choice(6, size=3, replace=False).tolist()):
                rows.append(
                    {
                        "basket_id": basket,
                        "item_id": f"{group}{i}",
                        "user_id": f"u{user}" if with_users else None,
                        "timestamp": user * 100 + b,
                    }
                )
    return BasketData.build(Catalog(items), Interactions(pd.DataFrame(rows)))


@pytest.fixture(scope="module", params=[True, False], ids=["users", "baskets-only"])
def board(request: pytest.FixtureRequest) -> BasketData:
    return checkerboard(with_users=request.param)


@pytest.fixture(scope="module")
def fitted(board: BasketData) -> dict[str, ScoringSource]:
    return {name: make_source(name, TEST_OPTIONS.get(name)).fit(board) for name in CF_SOURCES}


def ids(cands) -> list[str]:
    return [c.item_id for c in cands]


def test_registry_names_and_protocol() -> None:
    assert set(CF_SOURCES) == set(KINDS)
    for name, cls in CF_SOURCES.items():
        source = make_source(name)
        assert cls.name == name == source.name
        assert isinstance(source, CandidateSource)
        assert isinstance(source.config, cls.config_class)


@pytest.mark.parametrize("name", sorted(CF_SOURCES))
def test_checkerboard_ranks_the_seed_group_first(name: str, fitted: dict, board: BasketData) -> None:
    source = fitted[name]
    for seed, same, other in (("A2", GROUP_A, GROUP_B), ("B3", GROUP_B, GROUP_A)):
        query = Query(seed_items=(seed,))
        got = ids(source.recommend(query, k=12))
        assert seed not in got
        assert len(got) == len(set(got))
        if name not in SEED_AWARE:
            continue
        assert len([i for i in got if i in same]) >= 4, got
        last_same = max(got.index(i) for i in got if i in same)
        first_other = min((got.index(i) for i in got if i in other), default=len(got))
        assert last_same < first_other, f"{name}: {got}"
        # Scores agree: every same-group item outscores every other-group item.
        scores = source.score(query)
        idx = board.catalog.index_of
        assert min(scores[idx[i]] for i in same if i != seed) > max(scores[idx[i]] for i in other)


@pytest.mark.parametrize("name", sorted(CF_SOURCES))
def test_exclusions_and_filters(name: str, fitted: dict, board: BasketData) -> None:
    source = fitted[name]
    query = Query(
        seed_items=("A0", "A2"),
        exclude=frozenset({"A1", "B2"}),
        categories=frozenset({"x"}),  # odd items: A1 A3 A5 B1 B3 B5
        price=PriceRange(low=3.0, high=6.0),  # drops A1 and B1 (price 2)
    )
    got = source.recommend(query, k=12)
    assert got, name
    for cand in got:
        item = board.catalog.get(cand.item_id)
        assert cand.item_id not in {"A0", "A2", "A1", "B2"}
        assert item.category == "x"
        assert item.price is not None and 3.0 <= item.price <= 6.0
        assert cand.source == name
        assert cand.score > 0
    if name in SEED_AWARE:
        assert set(ids(got)[:2]) == {"A3", "A5"}


@pytest.mark.parametrize("name", sorted(CF_SOURCES))
def test_evidence_kind_text_and_numbers(name: str, fitted: dict) -> None:
    got = fitted[name].recommend(Query(seed_items=("B1", "B4")), k=5)
    assert got
    for cand in got:
        assert cand.evidence, (name, cand)
        for ev in cand.evidence:
            assert ev.kind == KINDS[name]
            assert ev.text and "{" not in ev.text
            assert ev.numbers
            assert all(isinstance(v, float) and math.isfinite(v) for v in ev.numbers.values())
            assert ev.to_dict()["kind"] == KINDS[name]
    if name in ("rules", "item_knn"):  # seed-anchored evidence names the seed
        assert any("B item 1" in e.text or "B item 4" in e.text for e in got[0].evidence)


@pytest.mark.parametrize("name", sorted(CF_SOURCES))
def test_pickle_round_trip(name: str, fitted: dict, tmp_path) -> None:
    source = fitted[name]
    query = Query(seed_items=("A1",), user_id="u3")
    before = source.recommend(query, k=8)
    path = tmp_path / f"{name}.pkl"
    source.save(path)
    loaded = type(source).load(path)
    after = loaded.recommend(query, k=8)
    assert ids(after) == ids(before)
    np.testing.assert_allclose([c.score for c in after], [c.score for c in before])
    assert [c.evidence for c in after] == [c.evidence for c in before]
    assert pickle.loads(pickle.dumps(source)).config == source.config


@pytest.mark.parametrize("name", sorted(CF_SOURCES))
def test_no_opinion_and_unknown_seeds(name: str, fitted: dict, board: BasketData) -> None:
    source = fitted[name]
    empty = Query()
    scores = source.score(empty)
    assert scores.shape == (len(board.catalog),)
    if name in SEED_AWARE:
        assert not scores.any()
        assert source.recommend(empty, k=5) == []
        assert source.recommend(Query(seed_items=("no-such-item",)), k=5) == []
        assert source.recommend(Query(user_id="stranger"), k=5) == []
    else:
        assert len(source.recommend(empty, k=5)) == 5
    with_unknown = source.recommend(Query(seed_items=("nope", "A0")), k=6)
    assert ids(with_unknown) == ids(source.recommend(Query(seed_items=("A0",)), k=6))


@pytest.mark.parametrize("name", sorted(USER_AWARE))
def test_known_user_without_seeds_gets_their_group(name: str) -> None:
    data = checkerboard(with_users=True)
    source = make_source(name, TEST_OPTIONS.get(name)).fit(data)
    for user, group in (("u2", "A"), ("u12", "B")):
        got = ids(source.recommend(Query(user_id=user), k=4))
        assert got and all(i.startswith(group) for i in got), (name, user, got)


@pytest.mark.parametrize("name", sorted(CF_SOURCES))
def test_config_errors_name_the_key(name: str) -> None:
    with pytest.raises(ConfigError, match="bogus_knob"):
        make_source(name, {"bogus_knob": 1})


def test_config_validation_and_unknown_source() -> None:
    with pytest.raises(ConfigError, match=r"unknown CF source 'nope'.*item_knn"):
        make_source("nope")
    with pytest.raises(ConfigError, match=r"item_knn\.neighbours"):
        make_source("item_knn", {"neighbours": 0})
    with pytest.raises(ConfigError, match=r"rules\.min_confidence"):
        make_source("rules", {"min_confidence": 1.5})
    with pytest.raises(ConfigError, match="combine"):
        make_source("rules", {"combine": "mean"})
    with pytest.raises(ConfigError, match="expected int"):
        make_source("als", {"factors": "many"})
    assert make_source("als", {"regularization": 1}).config.regularization == 1.0


def test_unfitted_source_raises() -> None:
    for name in CF_SOURCES:
        with pytest.raises(IndexStateError):
            make_source(name).recommend(Query(seed_items=("A0",)))


def test_user_knn_falls_back_to_baskets_without_user_ids() -> None:
    assert UserKNNSource().fit(checkerboard(with_users=False)).unit == "baskets"
    assert UserKNNSource().fit(checkerboard(with_users=True)).unit == "users"
    source = make_source("user_knn", {"neighbours": 5}).fit(checkerboard(with_users=False))
    cand = source.recommend(Query(seed_items=("A2",)), k=1)[0]
    assert cand.evidence[0].text.startswith("in ") and "of 5 similar baskets" in cand.evidence[0].text
    assert cand.evidence[0].numbers["neighbours"] == 5.0


# --- hand-computed examples -------------------------------------------------------------

GROCERY = ["bread", "milk", "butter", "eggs", "jam"]
GROCERY_BASKETS = [
    ["milk", "bread"],
    ["milk", "bread", "butter"],
    ["milk", "eggs"],
    ["bread", "butter"],
    ["eggs"],
    ["bread", "jam"],
]  # baskets holding: bread 4, milk 3, butter 2, eggs 2, jam 1 (of 6)


@pytest.fixture(scope="module")
def grocery() -> BasketData:
    items = [Item(i, i.title(), price=1.0, category="dairy" if i in ("milk", "butter") else "bakery")
             for i in GROCERY]
    rows = [
        {"basket_id": f"b{n}", "item_id": item, "timestamp": n}
        for n, basket in enumerate(GROCERY_BASKETS)
        for item in basket
    ]
    return BasketData.build(Catalog(items), Interactions(pd.DataFrame(rows)))


def test_association_rule_numbers(grocery: BasketData) -> None:
    source = make_source("rules", {"min_support": 1, "min_confidence": 0.0}).fit(grocery)
    assert isinstance(source, AssociationRulesSource)
    idx = grocery.catalog.index_of
    # butter -> bread: 2 baskets with both, butter in 2, bread in 4 of 6.
    rule = source.rule(idx["butter"], idx["bread"])
    assert rule is not None
    assert rule["support"] == 2 and rule["seed_baskets"] == 2
    assert rule["confidence"] == pytest.approx(1.0)
    assert rule["lift"] == pytest.approx(1.0 / (4 / 6))
    assert rule["strength"] == pytest.approx(math.log(1.5), rel=1e-6)
    # bread -> butter: confidence 2/4, lift 0.5 / (2/6) = 1.5; bread -> jam: 1/4, lift 1.5.
    back = source.rule(idx["bread"], idx["butter"])
    assert back is not None and back["confidence"] == pytest.approx(0.5)
    assert back["lift"] == pytest.approx(1.5)
    # bread -> milk: confidence 2/4 = P(milk) = 3/6, lift exactly 1: not a rule.
    assert source.rule(idx["bread"], idx["milk"]) is None
    # milk -> eggs: lift (1/3)/(2/6) = 1: not a rule either.
    assert source.rule(idx["milk"], idx["eggs"]) is None

    got = source.recommend(Query(seed_items=("bread",)), k=5)
    assert ids(got) == ["butter", "jam"]
    assert got[0].score == pytest.approx(0.5 * math.log(1.5), rel=1e-6)
    assert got[1].score == pytest.approx(0.25 * math.log(1.5), rel=1e-6)
    ev = got[0].evidence[0]
    assert ev.text == (
        "bought together with Bread in 2 of 4 baskets that had it (confidence 50%, lift 1.5)"
    )
    assert ev.numbers["support"] == 2.0 and ev.numbers["seed_index"] == float(idx["bread"])

    # min_support drops the one-basket rule bread -> jam.
    strict = make_source("rules", {"min_support": 2, "min_confidence": 0.0}).fit(grocery)
    assert ids(strict.recommend(Query(seed_items=("bread",)), k=5)) == ["butter"]
    # Two seeds: 'sum' adds rule strengths, 'max' keeps the strongest.
    both = Query(seed_items=("butter", "jam"))
    summed = make_source("rules", {"min_support": 1, "min_confidence": 0.0, "combine": "sum"})
    s = summed.fit(grocery).score(both)[idx["bread"]]
    assert s == pytest.approx(math.log(1.5) + 1.0 * math.log(1.5), rel=1e-6)
    assert source.score(both)[idx["bread"]] == pytest.approx(math.log(1.5), rel=1e-6)


def test_popularity_order_and_evidence(grocery: BasketData) -> None:
    source = make_source("popularity").fit(grocery)
    got = source.recommend(Query(), k=5)
    assert ids(got) == ["bread", "milk", "butter", "eggs", "jam"]  # ties by catalog order
    assert got[0].score == pytest.approx(math.log1p(4))
    assert got[0].evidence[0].text == "in 4 of 6 baskets (top 20% of the shop)"
    assert got[2].evidence[0].numbers["rank"] == 3.0 == got[3].evidence[0].numbers["rank"]
    linear = make_source("popularity", {"scale": "linear", "min_baskets": 2}).fit(grocery)
    assert ids(linear.recommend(Query(), k=5)) == ["bread", "milk", "butter", "eggs"]
    dairy = source.recommend(Query(categories=frozenset({"dairy"})), k=5)
    assert ids(dairy) == ["milk", "butter"]
    assert dairy[1].evidence[0].text.startswith("popular in dairy: #2 of 2 items")


def test_item_knn_similarity_numbers(grocery: BasketData) -> None:
    source = make_source(
        "item_knn", {"shrinkage": 0.0, "min_co_baskets": 1, "basket_weighting": "none"}
    ).fit(grocery)
    idx = grocery.catalog.index_of
    scores = source.score(Query(seed_items=("bread",)))
    # cosine(bread, butter) = 2 / sqrt(4 * 2); cosine(bread, milk) = 2 / sqrt(4 * 3)
    assert scores[idx["butter"]] == pytest.approx(2 / math.sqrt(8), rel=1e-6)
    assert scores[idx["milk"]] == pytest.approx(2 / math.sqrt(12), rel=1e-6)
    ev = source.recommend(Query(seed_items=("bread",)), k=1)[0].evidence[0]
    assert ev.text == "often in the same basket as Bread (2 baskets, similarity 0.71)"


def test_als_fold_in_matches_implicit_user_solve() -> None:
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy import sparse

    data = checkerboard(with_users=True)
    source = make_source("als", {"factors": 6, "iterations": 5}).fit(data)
    assert isinstance(source, ALSSource)
    model = AlternatingLeastSquares(
        factors=6, regularization=0.05, alpha=10.0, iterations=5, num_threads=1, random_state=42
    )
    matrix = data.user_items.astype(np.float32).tocsr()
    matrix.data[:] = 1.0
    model.fit(matrix, show_progress=False)
    np.testing.assert_allclose(model.item_factors, source.item_vectors, atol=1e-6)
    seeds = np.array([1, 4, 7])
    row = sparse.csr_matrix((np.ones(3, np.float32), seeds, [0, 3]), shape=(1, data.n_items))
    np.testing.assert_allclose(
        source.fold_in(seeds, np.ones(3)), model.recalculate_user(0, row), rtol=1e-4, atol=1e-5
    )


def test_sparse_helpers() -> None:
    from scipy import sparse

    b = sparse.random(60, 9, density=0.3, format="csr", random_state=3)
    b.data[:] = 1.0
    weights = np.linspace(0.5, 2.0, 60)
    counts, values = cooccurrence(b, weights, min_count=2)
    dense = (b.T @ b).toarray()
    np.fill_diagonal(dense, 0)
    dense[dense < 2] = 0
    np.testing.assert_allclose(counts.toarray(), dense)
    np.testing.assert_allclose(values, (b.T @ sparse.diags(weights) @ b).toarray()[counts.nonzero()])
    for r in range(9):
        assert np.all(np.diff(counts.indices[counts.indptr[r] : counts.indptr[r + 1]]) > 0)
    keep = top_n_mask(np.array([0, 4, 5]), np.array([3.0, 1.0, 3.0, 2.0, 5.0]), 2)
    assert keep.tolist() == [True, False, True, False, True]


def test_empty_data_gives_no_opinion() -> None:
    catalog = Catalog([Item("x", "X"), Item("y", "Y")])
    frame = pd.DataFrame({"basket_id": ["b1"], "item_id": ["x"], "user_id": ["u1"]})
    data = BasketData.build(catalog, Interactions(frame))  # one single-item basket: no pairs
    for name in CF_SOURCES:
        source = make_source(name, TEST_OPTIONS.get(name)).fit(data)
        got = source.recommend(Query(seed_items=("x",)), k=3)
        assert all(c.item_id == "y" for c in got)
        if name in ("rules", "item_knn", "user_knn"):
            assert got == []


def test_next_item_learns_the_order_of_a_sequence() -> None:
    """Known answer: every shopper buys a kettle, then tea, then mugs, then a tray."""
    items = [Item(k, k.title(), 1.0) for k in ("kettle", "tea", "mugs", "tray", "socks", "hat")]
    rows = []
    for user in range(30):
        chain = ("kettle", "tea", "mugs", "tray") if user % 2 else ("socks", "hat")
        for step, item in enumerate(chain):
            rows.append({"basket_id": f"{user}-{step}", "item_id": item, "user_id": f"u{user}", "timestamp": step})
    data = BasketData.build(Catalog(items), Interactions(pd.DataFrame(rows)))
    source = make_source("next_item", {"dim": 16, "heads": 1, "layers": 1, "epochs": 80, "dropout": 0.0,
                                       "max_length": 4, "learning_rate": 0.01}).fit(data)
    assert ids(source.recommend(Query(seed_items=("kettle",)), k=1)) == ["tea"]
    assert ids(source.recommend(Query(seed_items=("kettle", "tea")), k=1)) == ["mugs"]
    assert ids(source.recommend(Query(seed_items=("socks",)), k=1)) == ["hat"]
    evidence = source.recommend(Query(seed_items=("tea",)), k=1)[0].evidence[0]
    assert evidence.kind == "next_item" and "after Tea" in evidence.text
    assert "tea" not in ids(source.recommend(Query(seed_items=("kettle",), exclude=frozenset({"tea"})), k=3))
    again = pickle.loads(pickle.dumps(source))
    assert ids(again.recommend(Query(seed_items=("kettle", "tea")), k=1)) == ["mugs"]


def test_the_basket_transformer_stops_on_its_held_out_baskets(board: BasketData) -> None:
    """The masked-item Transformer keeps the epoch with the best loss on the last tenth of
    the training baskets and stops `patience` epochs after it; on the checkerboard (three of
    six items per basket) the best loss is near log(5) (the hidden item is one of the group's
    five others, and the model knows which group; log(6) where a customer's basket is hidden
    whole), and the hidden items rank within the first five (NDCG@10 above 1/log2(6) = 0.39)."""
    source = make_source("transformer", {"patience": 3}).fit(board)
    report = source.fit_report
    assert 1 <= report["best_epoch"] <= report["epochs"] <= max(report["best_epoch"] + 3, source.config.min_epochs)
    # with customers, most of their baskets are hidden whole: each item is one of the group's six
    best_loss = math.log(6) if board.user_ids else math.log(5)
    assert report["validation_loss"] < best_loss + 0.15 and report["validation_ndcg@10"] > 0.39
    again = make_source("transformer", {"patience": 3}).fit(board)
    query = Query(seed_items=("A1", "A4"))
    np.testing.assert_allclose(again.score(query), source.score(query))  # seeded: the same model
    evidence = source.explain(query, board.catalog.index_of["A2"])
    assert evidence and evidence[0].text.startswith("shoppers whose baskets held A item 1, A item 4")
    with pytest.raises(ConfigError, match=r"transformer\.mask_share"):
        make_source("transformer", {"mask_share": 1.0})
    with pytest.raises(ConfigError, match=r"transformer\.mask_share_max: must be within \[mask_share, 1\)"):
        make_source("transformer", {"mask_share": 0.3, "mask_share_max": 0.2})
    with pytest.raises(ConfigError, match=r"transformer\.min_epochs"):
        make_source("transformer", {"min_epochs": 0})
    with pytest.raises(ConfigError, match=r"transformer\.next_basket_share"):
        make_source("transformer", {"next_basket_share": 1.5})


def test_the_basket_transformer_hides_a_share_drawn_for_each_basket() -> None:
    """Between mask_share and mask_share_max of each basket's items are hidden (at least one,
    never all) when the shopper has no history; with a history, `next_basket_share` of the
    baskets are hidden whole (the next-purchase question) and the history's items come as
    tokens tagged with how often and how recently they were bought."""
    from retrieval.cf.basket_transformer import MASK, BasketTransformerConfig, Example, _batch
    from retrieval.cf.purchase_history import PurchaseHistory

    baskets = [Example(np.arange(10, dtype=np.int64) + 10 * n, None) for n in range(400)]
    config = BasketTransformerConfig(mask_share=0.2, mask_share_max=0.6)
    batch = _batch(baskets, config, np.random.default_rng(0))
    hidden = np.bincount(batch.target_rows, minlength=400)
    assert hidden.min() == 2 and hidden.max() == 6 and len(set(hidden.tolist())) == 5
    first = config.mixture  # the [MASK]s of the mixture come first
    assert ((batch.tokens[:, :first] == MASK).all(axis=1) & ((batch.tokens >= 2).sum(axis=1) == 10 - hidden)).all()
    np.testing.assert_allclose(np.bincount(batch.target_rows, weights=batch.target_weights), 1.0, rtol=1e-6)
    assert len(batch.repeat_rows) == 0 and not batch.since.any()

    history = PurchaseHistory(np.array([500, 501]), np.array([3, 1]), np.array([0, 4]))
    whole = BasketTransformerConfig(next_basket_share=1.0, mixture=1)
    batch = _batch([Example(np.array([7, 8, 9]), history)], whole, np.random.default_rng(0))
    assert sorted(batch.target_items.tolist()) == [7, 8, 9]  # hidden whole
    assert batch.tokens[0].tolist() == [MASK, 502, 503]  # the [MASK] and the two history items
    assert batch.since[0].tolist() == [0, 1, 5] and batch.counts[0].tolist() == [0, 3, 1]
    assert batch.repeat_items.tolist() == [500, 501]
    np.testing.assert_allclose(batch.repeat_values, [[math.log(4), 1.0], [math.log(2), 0.2]], rtol=1e-6)
    query = _batch([Example(np.array([7]), history)], whole, None)  # a query: the cart is all seen
    assert query.tokens[0].tolist() == [MASK, 9, 502, 503] and len(query.target_rows) == 0


def test_purchase_histories_count_and_date_what_each_customer_bought() -> None:
    from retrieval.cf.purchase_history import histories

    rows = [("b1", "x", "ann", 1), ("b1", "y", "ann", 1), ("b2", "x", "bob", 2), ("b3", "x", "ann", 3),
            ("b4", "z", "ann", 4), ("b5", "y", None, 5)]
    frame = pd.DataFrame(rows, columns=["basket_id", "item_id", "user_id", "timestamp"])
    catalog = Catalog([Item(i, i.upper()) for i in "xyz"])
    data = BasketData.build(catalog, Interactions(frame))
    before, after = histories(data)
    assert before[0] is None and before[1] is None and before[4] is None  # first baskets; no customer
    third = before[2]  # ann's second basket: x and y once, in the latest basket
    assert third is not None and sorted(third.items.tolist()) == [0, 1] and third.since.tolist() == [0, 0]
    ann = after[data.user_index["ann"]]
    assert ann.items.tolist() == [2, 0, 1]  # z (latest), x (two baskets ago, twice), y
    assert ann.counts.tolist() == [1, 2, 1] and ann.since.tolist() == [0, 1, 2]


def test_the_transformer_learns_what_a_customer_buys_again() -> None:
    """Every customer buys their own staple in every basket next to two random items: with no
    cart, the customer's next purchase ranks the staple first, and the evidence says so."""
    rng = np.random.default_rng(3)
    items = [Item(f"i{n}", f"Item {n}") for n in range(40)]
    rows = []
    for user in range(30):
        for basket in range(12):
            for item in {f"i{user}", *(f"i{n}" for n in rng.choice(range(30, 40), 2, replace=False))}:
                rows.append({"basket_id": f"u{user}-{basket}", "item_id": item, "user_id": f"u{user}",
                             "timestamp": basket * 100 + user})
    data = BasketData.build(Catalog(items), Interactions(pd.DataFrame(rows)))
    source = make_source("transformer", {"dim": 16, "max_epochs": 30, "patience": 5}).fit(data)
    for user in (0, 7, 21):
        got = source.recommend(Query(user_id=f"u{user}"), k=3)
        assert got[0].item_id == f"i{user}", (user, ids(got))
        assert got[0].evidence[0].text.startswith("you bought it in 12 earlier orders")
    assert source.recommend(Query(user_id="stranger"), k=3) == []
    again = pickle.loads(pickle.dumps(source))
    assert ids(again.recommend(Query(user_id="u7"), k=3)) == ids(source.recommend(Query(user_id="u7"), k=3))


def test_the_transformer_starts_from_what_is_bought_together() -> None:
    from retrieval.cf.basket_transformer import (
        BasketTransformerConfig,
        _build_model,
        _start_from_cooccurrence,
    )

    config = BasketTransformerConfig(dim=8, heads=2)
    model = _build_model(30, config)
    rng = np.random.default_rng(0)
    baskets = [rng.choice(10, 4, replace=False) + 10 * (b % 3) for b in range(200)]  # three groups of ten
    _start_from_cooccurrence(model, baskets, 30, config.dim)
    start = model.items.weight[2:].detach().numpy()
    assert abs(float(start.std()) - config.dim ** -0.5) < 0.05  # the random start's scale
    same, other = float((start[0] @ start[1:10].T).mean()), float((start[0] @ start[10:20].T).mean())
    assert same > 0.3 and abs(other) < 0.05
    # a catalog with fewer items than the model has dimensions still starts from its counts
    wide = _build_model(30, BasketTransformerConfig())
    _start_from_cooccurrence(wide, baskets, 30, 64)
    start = wide.items.weight[2:].detach().numpy()
    assert float((start[0] @ start[1:10].T).mean()) > 3 * abs(float((start[0] @ start[10:20].T).mean()))
    with pytest.raises(ConfigError, match=r"transformer\.init"):
        BasketTransformerConfig(init="glove")
