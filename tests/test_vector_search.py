"""The vector search interface (`retrieval.vector_search`): one contract, run against both
backends on a tiny synthetic "compass" (known neighbours), and the chat path's retrieval
through Chroma giving the same bundles as exact search on the default shop, through an
in-process persistent client and through a real Chroma server (HttpClient)."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_chroma_server import server  # noqa: F401  (the module-scoped Chroma server fixture)

from assistant.compose.composer import BundleComposer, ComposerConfig
from assistant.compose.needs_book import NeedsBook, shipped_needs_path
from retrieval.catalog import Catalog
from retrieval.embeddings import Embedder
from retrieval.errors import ConfigError
from retrieval.records import Item
from retrieval.shop_index import ShopIndex
from retrieval.vector_search import (
    ChromaSearch,
    ExactSearch,
    VectorSearch,
    make_vector_search,
    top_rows,
)
from retrieval.vector_store import ChromaIndex, VectorStoreConfig

# -- the contract, on a compass: eight unit vectors 45 degrees apart (row i at i x 45 deg) --
ANGLES = [i * 45.0 for i in range(8)]
IDS = [f"c{i}" for i in range(len(ANGLES))]


def _unit(degrees: float) -> np.ndarray:
    rad = math.radians(degrees)
    return np.array([math.cos(rad), math.sin(rad), 0.0], dtype=np.float32)


COMPASS = np.stack([_unit(a) for a in ANGLES])
NORTH_BY_EAST = _unit(10.0)  # 10 deg: rows by angle away: 0 (10), 1 (35), 7 (55), 2 (80), ...
EXPECTED = [0, 1, 7, 2, 6, 3, 5, 4]


def _exact() -> ExactSearch:
    return ExactSearch(COMPASS * 3.0)  # not unit length: the search normalises


def _chroma(tmp_path: Path) -> ChromaSearch:
    catalog = Catalog([Item(item_id=i, title=f"Compass point {i}") for i in IDS])
    store = ChromaIndex(VectorStoreConfig(path=str(tmp_path / "chroma"), collection="compass"), Embedder())
    store.build(catalog, COMPASS)
    search = ChromaSearch(store, IDS)
    search.check()
    return search


@pytest.fixture(params=["exact", "chroma"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> VectorSearch:
    return _exact() if request.param == "exact" else _chroma(tmp_path)


def _rows(hits: list[tuple[int, float]]) -> list[int]:
    return [row for row, _ in hits]


def test_contract_nearest_neighbours_best_first(backend: VectorSearch) -> None:
    assert isinstance(backend, VectorSearch) and backend.size == len(ANGLES)
    hits = backend.nearest(NORTH_BY_EAST, 3)
    assert _rows(hits) == EXPECTED[:3]
    for row, sim in hits:
        assert sim == pytest.approx(math.cos(math.radians(ANGLES[row] - 10.0)), abs=1e-5)
    # the query's length does not matter: cosine
    assert _rows(backend.nearest(NORTH_BY_EAST * 7.0, 3)) == EXPECTED[:3]


def test_contract_n_larger_than_the_set_gives_every_row(backend: VectorSearch) -> None:
    assert _rows(backend.nearest(NORTH_BY_EAST, 100)) == EXPECTED


def test_contract_rows_filter(backend: VectorSearch) -> None:
    assert _rows(backend.nearest(NORTH_BY_EAST, 2, rows=[4, 2, 6, 2])) == [2, 6]
    assert _rows(backend.nearest(NORTH_BY_EAST, 10, rows=[5, 3])) == [3, 5]
    with pytest.raises(IndexError):
        backend.nearest(NORTH_BY_EAST, 2, rows=[0, len(ANGLES)])


def test_contract_empty_results(backend: VectorSearch) -> None:
    assert backend.nearest(NORTH_BY_EAST, 0) == []
    assert backend.nearest(NORTH_BY_EAST, -3) == []
    assert backend.nearest(NORTH_BY_EAST, 5, rows=[]) == []


def test_contract_similarities_cover_at_least_the_top_n(backend: VectorSearch) -> None:
    sims = backend.similarities(NORTH_BY_EAST, 3)
    assert sims.shape == (len(ANGLES),)
    for row, sim in backend.nearest(NORTH_BY_EAST, 3):
        assert sims[row] == pytest.approx(sim, abs=1e-6)
    unscored = ~np.isfinite(sims)
    if backend.exact:
        assert not unscored.any()  # exact search scores every row
    else:
        assert set(np.flatnonzero(unscored)) == set(EXPECTED[3:])
        assert np.all(sims[unscored] == -np.inf)


def test_exact_ties_break_by_row_and_unit_matrices_are_shared() -> None:
    tied = np.stack([_unit(90.0), _unit(0.0), _unit(-90.0), _unit(0.0), _unit(90.0)])
    search = ExactSearch(tied)
    assert search.matrix is tied  # already unit rows: no copy of the catalog's matrix
    assert _rows(search.nearest(_unit(0.0), 3)) == [1, 3, 0]
    assert _rows(search.nearest(_unit(0.0), 3, rows=[4, 2, 0])) == [0, 2, 4]
    assert top_rows(np.array([0.5, np.nan, 0.5, 0.9]), 10) == [(3, 0.9), (0, 0.5), (2, 0.5)]


def test_make_vector_search_modes(tmp_path: Path) -> None:
    store = ChromaIndex(VectorStoreConfig(path=str(tmp_path / "unused")), Embedder())
    assert isinstance(make_vector_search("auto", COMPASS, store, IDS), ExactSearch)  # embedded store
    assert isinstance(make_vector_search("exact", COMPASS, store, IDS), ExactSearch)
    with pytest.raises(ConfigError):
        make_vector_search("faiss", COMPASS, store, IDS)
    with pytest.raises(ConfigError):
        make_vector_search("chroma", COMPASS, None, IDS)


def test_composer_config_validates_the_search_settings() -> None:
    assert ComposerConfig().vector_search == "auto"
    assert ComposerConfig.from_dict({"vector_search": "chroma", "search_depth": 500}).search_depth == 500
    with pytest.raises(ConfigError):
        ComposerConfig(vector_search="faiss")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        ComposerConfig.from_dict({"vector_serch": "exact"})
    with pytest.raises(ConfigError):
        ComposerConfig(search_depth=10)  # fewer than the candidate pool


# -- the default shop: Chroma in the chat path gives the same bundles as exact search --------
REQUESTS = [  # (need, budget, guests, the shopper's words)
    ("tea party", 40.0, 6, "a tea party for six, £40"),
    ("present for a gardener", None, None, "a present for a gardener"),
    ("cat lover", None, None, "something for a cat lover"),
]
WORD_NEEDS = ["tea party", "present for a gardener", "christmas lights", "gingham and keep calm",
              "picnic", "pizza delivery"]
MENTIONS = ["lunchbox", "a teapot", "tea pot", "laptop", "red retrospot lunch bag"]


@pytest.fixture(scope="module")
def needs(shop_index: ShopIndex) -> NeedsBook:
    book = NeedsBook.load(shipped_needs_path())
    book.warm(shop_index.embedder.encode)
    return book


@pytest.fixture(scope="module")
def exact_composers(shop_index: ShopIndex, needs: NeedsBook) -> tuple[BundleComposer, BundleComposer]:
    with_book = BundleComposer(shop_index, needs=needs)
    assert isinstance(with_book.matcher.search, ExactSearch)  # the embedded default
    return with_book, BundleComposer(shop_index)


def _signature(composer: BundleComposer) -> list[tuple[str, tuple[str, ...] | None, tuple[str, ...]]]:
    """What a chat turn gets from the composer for the requests above."""
    out = []
    for need, budget, guests, text in REQUESTS:
        made = composer.compose(need=need, budget=budget, guests=guests, request_text=text)
        out.append((text, made.bundle.item_ids if made.bundle else None, made.lacking))
    return out


def _word_signature(composer: BundleComposer) -> list[object]:
    """The need-by-words path (no needs book), need matching and mention resolving."""
    out: list[object] = []
    for need in WORD_NEEDS:
        made = composer.compose(need=need)
        ok, best, _ = composer.need_match(need)
        out.append((need, made.bundle.item_ids if made.bundle else None, made.no_match,
                    [it.item_id for it in made.alternatives], ok, round(best, 4)))
    for match in composer.resolve(MENTIONS):
        out.append((match.mention, match.item.item_id if match.item else None, match.how,
                    match.similarity, [it.item_id for it in match.alternatives]))
    return out


def _assert_same(exact: tuple[BundleComposer, BundleComposer],
                 chroma: tuple[BundleComposer, BundleComposer]) -> None:
    assert isinstance(chroma[0].matcher.search, ChromaSearch) and isinstance(chroma[1].matcher.search, ChromaSearch)
    bundles = _signature(chroma[0])
    assert bundles == _signature(exact[0])
    assert all(ids for _, ids, _ in bundles)  # every request got a bundle
    assert _word_signature(chroma[1]) == _word_signature(exact[1])


def test_the_exact_default_scores_as_the_matrix_product(exact_composers: tuple[BundleComposer, BundleComposer]
                                                        ) -> None:
    composer = exact_composers[1]
    assert isinstance(composer.matcher.search, ExactSearch)
    assert composer.matcher.search.matrix is composer.embeddings
    for text in ("tea party", "cat lover"):
        expected = composer.embeddings @ composer.content.text_vector(text)
        assert np.array_equal(composer.matcher.text_sims(text), expected)


def test_chroma_in_process_gives_the_same_bundles(shop_index: ShopIndex, needs: NeedsBook,
                                                  exact_composers: tuple[BundleComposer, BundleComposer]
                                                  ) -> None:
    """The index's own Chroma collection (persistent client in the index folder)."""
    config = ComposerConfig(vector_search="chroma")
    chroma = BundleComposer(shop_index, config, needs=needs), BundleComposer(shop_index, config)
    _assert_same(exact_composers, chroma)


@pytest.fixture(scope="module")
def served_index(shop_index: ShopIndex, server: str) -> Iterator[ShopIndex]:  # noqa: F811
    """The default shop with its vectors on a Chroma server, as `cartsmith index
    --chroma-server` leaves it (the rest of the index shared, read only)."""
    store = ChromaIndex(VectorStoreConfig(server_url=server, collection="default_shop"), shop_index.embedder)
    content = BundleComposer(shop_index).content
    store.build(shop_index.catalog, content.embeddings)
    served = copy.copy(shop_index)
    served.vector_store = store
    yield served
    store.drop()


def test_chroma_server_gives_the_same_bundles(served_index: ShopIndex, needs: NeedsBook,
                                              exact_composers: tuple[BundleComposer, BundleComposer]) -> None:
    """`auto` picks the HttpClient backend for an index whose vectors are on a server."""
    chroma = BundleComposer(served_index, needs=needs), BundleComposer(served_index)
    assert isinstance(chroma[0].matcher.search, ChromaSearch) and chroma[0].matcher.search.index.config.server_url
    _assert_same(exact_composers, chroma)
