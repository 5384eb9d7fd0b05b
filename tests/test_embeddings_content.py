"""Embeddings, content similarity, the Chroma index and derived categories, on the real
packaged all-MiniLM-L6-v2 model and a hand-made 20-item catalog (known answers)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import dataclasses
import pickle

import numpy as np
import pytest

from retrieval.catalog import Catalog
from retrieval.categories import (
    COLOUR_WORDS,
    ClusterConfig,
    default_n_clusters,
    derive_categories,
    title_terms,
)
from retrieval.content import ChromaSource, ContentSource
from retrieval.embeddings import (
    DEFAULT_MODEL,
    Embedder,
    EmbeddingConfig,
    chroma_embedding_function,
    resolve_model,
)
from retrieval.errors import CartsmithError, ConfigError, IndexStateError
from retrieval.records import Item, PriceRange, Query
from retrieval.vector_store import ChromaIndex, VectorStoreConfig, where_filter

pytestmark = pytest.mark.slow

ITEMS = [
    # kitchen
    ("k1", "Stainless Steel Chef's Knife", 24.0, "kitchen"),
    ("k2", "Non-Stick Frying Pan 28cm", 19.5, "kitchen"),
    ("k3", "Wooden Chopping Board", 12.0, "kitchen"),
    ("k4", "Ceramic Coffee Mug", 6.5, "kitchen"),
    # garden
    ("g1", "Garden Hose 30m with Spray Nozzle", 29.0, "garden"),
    ("g2", "Terracotta Plant Pot", 8.0, "garden"),
    ("g3", "Pruning Shears", 15.0, "garden"),
    ("g4", "Wildflower Seed Mix", 3.5, "garden"),
    # party
    ("p1", "Birthday Cake Candles", 2.5, "party"),
    ("p2", "Helium Party Balloons", 7.0, "party"),
    ("p3", "Paper Party Plates", 4.0, "party"),
    ("p4", "Happy Birthday Banner", 5.5, "party"),
    # stationery
    ("s1", "Blue Ballpoint Pens", 3.0, "stationery"),
    ("s2", "A5 Lined Notebook", 4.5, "stationery"),
    ("s3", "Desk Stapler with Staples", 9.0, "stationery"),
    ("s4", "Sticky Notes", 2.0, None),
    # picnic
    ("o1", "Waterproof Picnic Blanket", 22.0, "outdoor"),
    ("o2", "Wicker Picnic Basket", 35.0, "outdoor"),
    ("o3", "Insulated Cool Bag", 14.0, "outdoor"),
    ("o4", "Reusable Plastic Wine Glasses", None, "outdoor"),
]


def make_catalog(with_categories: bool = True) -> Catalog:
    return Catalog([
        Item(item_id=i, title=t, price=p, category=(c or "stationery") if with_categories else "")
        for i, t, p, c in ITEMS
    ])


def title_of(catalog: Catalog, item_id: str) -> str:
    return catalog.get(item_id).title


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return make_catalog()


@pytest.fixture(scope="module")
def vectors(embedder: Embedder, catalog: Catalog) -> np.ndarray:
    return embedder.encode([it.text() for it in catalog.items])


@pytest.fixture(scope="module")
def content(embedder: Embedder, catalog: Catalog, vectors: np.ndarray) -> ContentSource:
    return ContentSource(vectors, embedder=embedder).fit_catalog(catalog)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, catalog: Catalog,
          vectors: np.ndarray) -> ChromaIndex:
    path = tmp_path_factory.mktemp("chroma")
    idx = ChromaIndex(VectorStoreConfig(path=str(path)), embedder)
    assert idx.ensure(catalog, vectors) is True
    return idx


KNOWN_ANSWERS = [
    ("something to light a birthday cake", "p1"),
    ("a picnic in the park", "o1"),
    ("water the plants in my garden", "g1"),
    ("cut vegetables for dinner", "k3"),
    ("pens to write with", "s1"),
    ("hot drink cup", "k4"),
]


# -- the embedder ---------------------------------------------------------------------------
def test_embedder_vectors_are_unit_float32(embedder: Embedder, vectors: np.ndarray) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(ITEMS), embedder.dimension) == (20, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.model_id.startswith("packaged:all-MiniLM-L6-v2@")
    # the query cache gives the same vector, and a copy the caller may change
    q1 = embedder.encode_query("picnic")
    q1[:] = 0
    q2 = embedder.encode_query("picnic")
    np.testing.assert_allclose(q2, embedder.encode(["picnic"])[0], atol=1e-6)
    assert np.linalg.norm(q2) == pytest.approx(1.0, abs=1e-5)


def test_packaged_model_resolves_without_importing_the_package() -> None:
    resolved = resolve_model(DEFAULT_MODEL)
    assert resolved.is_local and os.path.isfile(os.path.join(resolved.location, "config.json"))


def test_missing_model_path_gives_clear_error(tmp_path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ConfigError, match="does not exist") as err:
        Embedder(EmbeddingConfig(model=str(missing)))
    assert isinstance(err.value, CartsmithError) and str(missing) in str(err.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no sentence-transformers model"):
        Embedder(EmbeddingConfig(model=str(empty)))
    with pytest.raises(ConfigError, match="unknown packaged model"):
        Embedder(EmbeddingConfig(model="packaged:nope"))
    with pytest.raises(ConfigError, match="batch_size"):
        EmbeddingConfig.from_dict({"batch_size": 0})


def test_embedder_pickles_without_the_model(embedder: Embedder) -> None:
    assert embedder.loaded
    clone = pickle.loads(pickle.dumps(embedder))
    assert not clone.loaded and clone.model_id == embedder.model_id


# -- content source -------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), KNOWN_ANSWERS)
def test_content_text_query_known_answers(content: ContentSource, catalog: Catalog, text: str,
                                          expected: str) -> None:
    got = [c.item_id for c in content.recommend(Query(text=text), k=3)]
    assert expected in got, (text, [title_of(catalog, i) for i in got])


def test_content_seed_query_and_evidence(content: ContentSource) -> None:
    cands = content.recommend(Query(seed_items=("p1",)), k=3)
    ids = [c.item_id for c in cands]
    assert "p1" not in ids and "p4" in ids  # the birthday banner, not the candles themselves
    ev = cands[0].evidence[0]
    assert ev.kind == "similar_text" and cands[0].source == "content"
    assert ev.text.startswith("similar to Birthday Cake Candles (similarity 0.")
    assert ev.numbers["similarity"] == pytest.approx(cands[0].score, abs=1e-3)

    both = content.recommend(Query(seed_items=("o1",), text="picnic"), k=3)
    assert both[0].item_id == "o2"
    texts = [e.text for e in both[0].evidence]
    assert texts[0].startswith("similar to Waterproof Picnic Blanket")
    assert texts[1].startswith("matches 'picnic' (similarity")


def test_content_filters_and_exclusions(content: ContentSource, catalog: Catalog) -> None:
    q = Query(text="something to light a birthday cake", price=PriceRange(high=5.0), exclude=frozenset({"p4"}))
    cands = content.recommend(q, k=5)
    assert cands and all(catalog.get(c.item_id).price <= 5.0 for c in cands)
    assert "p4" not in {c.item_id for c in cands}
    party = content.recommend(Query(text="birthday", categories=frozenset({"party"})), k=10)
    assert {catalog.get(c.item_id).category for c in party} == {"party"}
    assert content.recommend(Query(), k=5) == []


def test_content_pickles_without_model(content: ContentSource, embedder: Embedder) -> None:
    blob = pickle.dumps(content)
    assert len(blob) < content.embeddings.nbytes + 20_000  # the matrix plus a little: no model
    clone = pickle.loads(blob)
    assert clone.embedder is not None and not clone.embedder.loaded
    clone.set_embedder(embedder)
    assert clone.recommend(Query(text="picnic"), k=1)[0].item_id in {"o1", "o2"}


def test_near_duplicates(embedder: Embedder) -> None:
    cat = Catalog([
        Item("a", "Red Retrospot Lunch Bag"), Item("b", "Blue Retrospot Lunch Bag"),
        Item("c", "Garden Hose 30m"), Item("d", "Pink Retrospot Lunch Bag"),
    ])
    src = ContentSource(embedder=embedder).fit_catalog(cat)
    dups = [i for i, _ in src.near_duplicates(0, threshold=0.8)]
    assert set(dups) == {1, 3}
    assert src.similar_to_item(0, k=1)[0][0] in (1, 3)


# -- chroma ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), KNOWN_ANSWERS)
def test_chroma_known_answers(index: ChromaIndex, text: str, expected: str) -> None:
    got = [i for i, _ in index.search(text, k=3)]
    assert expected in got


def test_chroma_matches_exact_cosine(index: ChromaIndex, content: ContentSource) -> None:
    hits = index.search("party decorations", k=5)
    exact = content.recommend(Query(text="party decorations"), k=5)
    assert [i for i, _ in hits] == [c.item_id for c in exact]
    for (_, sim), cand in zip(hits, exact, strict=True):
        assert sim == pytest.approx(cand.score, abs=1e-4)


def test_chroma_filters(index: ChromaIndex, catalog: Catalog) -> None:
    cheap = index.search("something to light a birthday cake", k=20, price=PriceRange(low=3, high=6))
    assert cheap and all(3 <= catalog.get(i).price <= 6 for i, _ in cheap)
    assert "o4" not in {i for i, _ in index.search("wine", k=20, price=PriceRange(high=100))}
    garden = index.search("gift", k=20, categories={"garden", "kitchen"})
    assert len(garden) == 8 and {catalog.get(i).category for i, _ in garden} == {"garden", "kitchen"}
    one = index.search("gift", k=20, categories={"party"}, price=PriceRange(low=4), exclude={"p3"})
    assert sorted(i for i, _ in one) == ["p2", "p4"]
    # Chroma's own `where` (post-filtering off) gives the same answers as the in-memory path
    plain = ChromaIndex(dataclasses.replace(index.config, post_filter_max=0), index.embedder)
    for cats, price in [({"party"}, PriceRange(low=4)), ({"garden", "kitchen"}, None),
                        (None, PriceRange(high=5)), ({"outdoor"}, PriceRange(low=20, high=30))]:
        slow = plain.search("gift", k=3, categories=cats, price=price)
        fast = index.search("gift", k=3, categories=cats, price=price)
        assert [i for i, _ in slow] == [i for i, _ in fast]
        assert [s for _, s in slow] == pytest.approx([s for _, s in fast], abs=1e-5)
    assert where_filter() is None
    assert where_filter({"a"}, PriceRange(low=1)) == {"$and": [{"category": {"$eq": "a"}}, {"price": {"$gte": 1.0}}]}


def test_chroma_search_by_items(index: ChromaIndex) -> None:
    hits = index.search_by_items(["o1", "o2"], k=3)
    ids = [i for i, _ in hits]
    assert "o1" not in ids and "o2" not in ids and len(ids) == 3
    assert "o3" in ids  # the cool bag goes with the picnic
    assert index.search_by_items(["unknown"], k=3) == []


def test_chroma_source(index: ChromaIndex, catalog: Catalog) -> None:
    from retrieval.sources import CandidateSource

    src = ChromaSource(index).fit(_basket_data(catalog))
    assert isinstance(src, CandidateSource)
    cands = src.recommend(Query(text="something to light a birthday cake", exclude=frozenset({"p4"})), k=3)
    assert cands[0].item_id == "p1" and cands[0].source == "chroma"
    assert cands[0].evidence[0].text.startswith("matches 'something to light a birthday cake'")
    seeded = src.recommend(Query(seed_items=("o1", "g1"), categories=frozenset({"outdoor", "garden"})), k=4)
    assert {c.item_id for c in seeded}.isdisjoint({"o1", "g1"})
    assert all(c.evidence[0].text.startswith("similar to ") for c in seeded)


def test_stale_manifest_triggers_rebuild(tmp_path, embedder: Embedder, catalog: Catalog,
                                         vectors: np.ndarray) -> None:
    cfg = VectorStoreConfig(path=str(tmp_path / "db"), collection="items_test")
    idx = ChromaIndex(cfg, embedder)
    with pytest.raises(IndexStateError, match="build the index"):
        idx.count()
    assert idx.stale_reason(catalog) == "no collection yet"
    assert idx.ensure(catalog, vectors) is True
    assert idx.ensure(catalog, lambda: pytest.fail("must not re-embed a current index")) is False

    # a reopened client sees the same manifest
    again = ChromaIndex(cfg, embedder)
    assert again.is_current(catalog) and again.count() == 20

    changed = Catalog([dataclasses.replace(it, price=99.0) if it.item_id == "k1" else it
                       for it in catalog.items])
    assert "catalog changed" in (again.stale_reason(changed) or "")
    assert again.ensure(changed, vectors) is True
    assert again.is_current(changed) and not again.is_current(catalog)
    assert again.search("knife", k=1, price=PriceRange(low=50))[0][0] == "k1"

    other_model = Embedder(EmbeddingConfig(max_seq_length=64), model=embedder.model)
    assert "embedding model changed" in (ChromaIndex(cfg, other_model).stale_reason(changed) or "")


def test_chroma_embedding_function_round_trip(tmp_path, embedder: Embedder) -> None:
    import chromadb
    from chromadb.config import Settings

    ef = chroma_embedding_function(embedder)
    out = ef(["picnic blanket", "garden hose"])
    assert len(out) == 2
    np.testing.assert_allclose(np.asarray(out), embedder.encode(["picnic blanket", "garden hose"]), atol=1e-5)
    config = ef.get_config()
    rebuilt = type(ef).build_from_config(config)
    assert rebuilt.get_config() == config and not rebuilt.embedder.loaded
    assert type(ef).name() == "cartsmith_sentence_embedder" and not ef.is_legacy()

    client = chromadb.PersistentClient(path=str(tmp_path / "ef"), settings=Settings(anonymized_telemetry=False))
    col = client.create_collection("docs", embedding_function=ef, configuration={"hnsw": {"space": "cosine"}})
    col.add(ids=["a", "b"], documents=["picnic blanket", "garden hose"])
    # opened again without naming an embedding function: Chroma rebuilds ours from the config
    reopened = client.get_collection("docs")
    assert reopened.configuration_json["embedding_function"]["name"] == "cartsmith_sentence_embedder"
    res = reopened.query(query_texts=["watering the lawn"], n_results=1)
    assert res["ids"][0] == ["b"]


# -- categories -----------------------------------------------------------------------------
def test_derived_categories(embedder: Embedder) -> None:
    bare = make_catalog(with_categories=False)
    vectors = embedder.encode([it.text() for it in bare.items])  # titles only, no category hint
    cfg = ClusterConfig(n_clusters=5)
    cats = derive_categories(bare, vectors, cfg)
    assert cats == derive_categories(bare, vectors, cfg)  # deterministic
    by_id = dict(zip([it.item_id for it in bare.items], cats, strict=True))
    assert by_id["p1"] == by_id["p4"]  # birthday candles & banner
    assert by_id["o1"] == by_id["o2"]  # picnic blanket & basket
    assert by_id["p1"] != by_id["g1"]
    names = set(cats)
    assert 2 <= len(names) <= 5 and all(names)
    for name in names:
        words = name.replace(",", " ").replace("&", " ").split()
        assert 1 <= len(words) <= 3
        assert not any(w in COLOUR_WORDS or any(ch.isdigit() for ch in w) for w in words)
    assert "picnic" in by_id["o1"]
    relabelled = bare.with_categories(cats)
    assert relabelled.get("p1").category == by_id["p1"]


def test_category_helpers() -> None:
    assert default_n_clusters(20) == 8
    assert default_n_clusters(49_688) == 40
    assert default_n_clusters(1600) == 20
    assert default_n_clusters(3) == 3
    assert title_terms("SET OF 6 RED T-LIGHT HOLDERS 12cm") == ["t-light", "holders"]


def _basket_data(catalog: Catalog):
    from scipy import sparse

    from retrieval.catalog import BasketData

    empty = sparse.csr_matrix((0, len(catalog)), dtype=np.float32)
    return BasketData(catalog, empty, np.zeros(0, dtype=np.int64), [], empty, [])
