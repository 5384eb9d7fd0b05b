"""A Chroma collection of item embeddings: build, search with filters, staleness checks.

`ChromaIndex` keeps one collection per catalog. Each record is an item: id = item id,
embedding = the item's text vector, metadata = category, title and price (price left out
when unknown, so a price filter never admits an unpriced item, like `PriceRange.admits`).
The collection's own metadata is the manifest (data hash, embedding model id, dimension,
count); `stale_reason` compares it with the catalog and embedder at hand, and `ensure`
rebuilds when they differ.

Local use goes through `chromadb.PersistentClient(path)`; `server_url="http://host:port"`
switches to `chromadb.HttpClient`. Telemetry is always off.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from .catalog import Catalog
from .config import Config, check
from .embeddings import Embedder, chroma_embedding_function, normalize_rows
from .errors import IndexStateError
from .records import PriceRange

MANIFEST_FORMAT = 1
_KEY = "cartsmith:"  # prefix of manifest keys in the collection metadata


@dataclasses.dataclass(frozen=True)
class VectorStoreConfig(Config):
    """Where the Chroma collection lives and how its HNSW index is built.

    path: folder for `PersistentClient` (ignored when `server_url` is set).
    server_url: "http://host:port" (or https) of a Chroma server, for `HttpClient`.
    space: HNSW distance; similarities are reported as cosine for all three on unit vectors.
    ef_search: HNSW search breadth; keep it above the largest k you ask for.
    post_filter_max: filtered searches whose filter admits enough of the catalog first fetch
        this many unfiltered neighbours and filter them in memory (on 50k items Chroma's
        `where` costs ~40 ms, an unfiltered top-2000 ~10 ms); when fewer than k pass, the
        `where` query runs. 0: always use `where`.
    """

    path: str = ".cache/chroma"
    server_url: str | None = None
    collection: str = "cartsmith_items"
    space: str = "cosine"
    batch_size: int = 2000
    progress: bool = False
    ef_construction: int = 100
    ef_search: int = 100
    max_neighbors: int = 16
    store_documents: bool = False
    post_filter_max: int = 2000

    def validate(self) -> None:
        check(self.space in ("cosine", "ip", "l2"), "vector_store.space",
              f"must be cosine, ip or l2, got {self.space!r}")
        check(self.batch_size >= 1, "vector_store.batch_size", "must be >= 1")
        check(self.post_filter_max >= 0, "vector_store.post_filter_max", "must be >= 0")
        check(3 <= len(self.collection) <= 512, "vector_store.collection",
              "must be 3 to 512 characters")
        check(self.ef_construction >= 1 and self.ef_search >= 1 and self.max_neighbors >= 2,
              "vector_store", "ef_construction and ef_search must be >= 1, max_neighbors >= 2")
        if self.server_url is not None:
            parsed = urlparse(self.server_url)
            check(parsed.scheme in ("http", "https") and bool(parsed.hostname),
                  "vector_store.server_url",
                  f"must look like http://host:port, got {self.server_url!r}")
        else:
            check(bool(self.path.strip()), "vector_store.path", "must name a folder")


def chroma_settings() -> Any:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def make_client(config: VectorStoreConfig) -> Any:
    """A Chroma client for the config: HttpClient for server_url, else PersistentClient(path)."""
    settings = chroma_settings()
    import chromadb

    if config.server_url:
        parsed = urlparse(config.server_url)
        ssl = parsed.scheme == "https"
        port = parsed.port or (443 if ssl else 8000)
        try:
            return chromadb.HttpClient(host=parsed.hostname or "localhost", port=port, ssl=ssl,
                                       settings=settings)
        except Exception as exc:  # chromadb raises ValueError/ConnectionError variants
            raise IndexStateError(f"cannot reach the Chroma server at {config.server_url}: {exc}") from exc
    path = os.path.expanduser(config.path)
    os.makedirs(path, exist_ok=True)
    return chromadb.PersistentClient(path=path, settings=settings)


def where_filter(categories: Iterable[str] | None = None, price: PriceRange | None = None) -> dict[str, Any] | None:
    """A Chroma `where` dict for category membership and a price range (None: no filter)."""
    clauses: list[dict[str, Any]] = []
    cats = sorted(set(categories or ()))
    if len(cats) == 1:
        clauses.append({"category": {"$eq": cats[0]}})
    elif cats:
        clauses.append({"category": {"$in": cats}})
    if price is not None:
        if price.low is not None:
            clauses.append({"price": {"$gte": float(price.low)}})
        if price.high is not None:
            clauses.append({"price": {"$lte": float(price.high)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def item_metadata(item: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"title": item.title, "category": item.category or ""}
    if item.price is not None and np.isfinite(item.price):
        meta["price"] = float(item.price)
    return meta


@dataclasses.dataclass
class FilterTable:
    """Category and price of every indexed item, in memory, for post-filtering hits."""

    row_of: dict[str, int]
    categories: np.ndarray  # object array of str
    prices: np.ndarray  # float64, NaN when unknown
    category_counts: dict[str, int]
    sorted_prices: np.ndarray

    @classmethod
    def build(cls, ids: Sequence[str], categories: Sequence[str], prices: Sequence[float | None]) -> FilterTable:
        cats = np.array([c or "" for c in categories], dtype=object)
        price_arr = np.array([np.nan if p is None else float(p) for p in prices], dtype=np.float64)
        counts: dict[str, int] = {}
        for c in cats:
            counts[c] = counts.get(c, 0) + 1
        finite = np.sort(price_arr[np.isfinite(price_arr)])
        return cls({i: r for r, i in enumerate(ids)}, cats, price_arr, counts, finite)

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> FilterTable:
        items = catalog.items
        return cls.build([it.item_id for it in items], [it.category for it in items],
                         [it.price for it in items])

    def __len__(self) -> int:
        return len(self.row_of)

    def share(self, categories: Collection[str] | None, price: PriceRange | None) -> float:
        """Estimated share of items passing the filter (categories x price, as if independent)."""
        n = max(len(self), 1)
        share = 1.0
        if categories:
            share *= sum(self.category_counts.get(c, 0) for c in set(categories)) / n
        if price is not None and (price.low is not None or price.high is not None):
            lo = 0 if price.low is None else int(np.searchsorted(self.sorted_prices, price.low, "left"))
            hi = (len(self.sorted_prices) if price.high is None
                  else int(np.searchsorted(self.sorted_prices, price.high, "right")))
            share *= max(hi - lo, 0) / n
        return share

    def admits(self, item_id: str, categories: Collection[str] | None, price: PriceRange | None) -> bool:
        row = self.row_of.get(item_id)
        if row is None:
            return False
        if categories and self.categories[row] not in categories:
            return False
        if price is None or (price.low is None and price.high is None):
            return True
        value = self.prices[row]
        return bool(np.isfinite(value)) and price.admits(float(value))


class ChromaIndex:
    """Item vectors in a Chroma collection.

    >>> index = ChromaIndex(VectorStoreConfig(path="runs/chroma"), embedder)
    >>> index.ensure(catalog, lambda: embedder.encode([it.text() for it in catalog.items]))
    >>> index.search("birthday candles", k=5, price=PriceRange(high=10))
    [('SKU123', 0.71), ...]
    """

    def __init__(
        self,
        config: VectorStoreConfig | None = None,
        embedder: Embedder | None = None,
        *,
        client: Any = None,
    ) -> None:
        self.config = config or VectorStoreConfig()
        self._embedder = embedder
        self._client = client
        self._collection: Any = None
        self._count: int | None = None
        self._table: FilterTable | None = None

    # -- plumbing -------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder()
        return self._embedder

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(self.config)
        return self._client

    def _ef(self) -> Any:
        return chroma_embedding_function(self.embedder)

    @property
    def collection(self) -> Any:
        """The collection; IndexStateError when it was never built."""
        if self._collection is None:
            try:
                self._collection = self.client.get_collection(self.config.collection,
                                                              embedding_function=self._ef())
            except Exception as exc:
                if self._exists():
                    raise
                raise IndexStateError(
                    f"Chroma collection {self.config.collection!r} does not exist at "
                    f"{self.config.server_url or self.config.path}; build the index first"
                ) from exc
        return self._collection

    def _exists(self) -> bool:
        names = [getattr(c, "name", c) for c in self.client.list_collections()]
        return self.config.collection in names

    def __getstate__(self) -> dict[str, Any]:  # clients and collections never pickle
        return {"config": self.config, "_embedder": self._embedder, "_client": None,
                "_collection": None, "_count": None, "_table": None}

    def count(self) -> int:
        if self._count is None:
            self._count = int(self.collection.count())
        return self._count

    def _forget(self) -> None:
        self._collection = None
        self._count = None
        self._table = None

    def attach_catalog(self, catalog: Catalog) -> None:
        """Use this catalog's categories and prices for in-memory post-filtering (else they
        are read from the collection at the first filtered search)."""
        self._table = FilterTable.from_catalog(catalog)

    def filter_table(self) -> FilterTable:
        if self._table is None:
            ids: list[str] = []
            cats: list[str] = []
            prices: list[float | None] = []
            page = 10_000
            offset = 0
            while True:
                got = self.collection.get(include=["metadatas"], limit=page, offset=offset)
                if not got["ids"]:
                    break
                for item_id, meta in zip(got["ids"], got["metadatas"], strict=True):
                    meta = meta or {}
                    ids.append(item_id)
                    cats.append(str(meta.get("category", "")))
                    price = meta.get("price")
                    prices.append(None if price is None else float(price))
                offset += len(got["ids"])
            self._table = FilterTable.build(ids, cats, prices)
        return self._table

    # -- manifest -------------------------------------------------------------------------
    def manifest_for(self, catalog: Catalog, dimension: int | None = None) -> dict[str, Any]:
        return {
            f"{_KEY}format": MANIFEST_FORMAT,
            f"{_KEY}data_hash": catalog.content_hash(),
            f"{_KEY}model_id": self.embedder.model_id,
            f"{_KEY}dimension": int(dimension if dimension is not None else self.embedder.dimension),
            f"{_KEY}count": len(catalog),
        }

    def manifest(self) -> dict[str, Any]:
        """The manifest stored with the collection ({} when it has none)."""
        meta = dict(self.collection.metadata or {})
        return {k: v for k, v in meta.items() if k.startswith(_KEY)}

    def stale_reason(self, catalog: Catalog) -> str | None:
        """Why the stored collection does not serve this catalog + embedder (None: it does)."""
        if not self._exists():
            return "no collection yet"
        self._forget()
        stored = self.manifest()
        if not stored.get(f"{_KEY}complete"):
            return "an earlier build did not finish"
        if stored.get(f"{_KEY}format") != MANIFEST_FORMAT:
            return "built by another cartsmith version"
        if stored.get(f"{_KEY}model_id") != self.embedder.model_id:
            return (f"embedding model changed ({stored.get(f'{_KEY}model_id')} -> "
                    f"{self.embedder.model_id})")
        if stored.get(f"{_KEY}data_hash") != catalog.content_hash():
            return "catalog changed since the index was built"
        if self.count() != len(catalog) or stored.get(f"{_KEY}count") != len(catalog):
            return f"holds {self.count()} items, catalog has {len(catalog)}"
        return None

    def is_current(self, catalog: Catalog) -> bool:
        return self.stale_reason(catalog) is None

    def ensure(self, catalog: Catalog, embeddings: np.ndarray | Callable[[], np.ndarray] | None = None) -> bool:
        """Rebuild when stale; True when it rebuilt. `embeddings` may be a thunk (only run if
        needed); None embeds the item texts with the embedder."""
        if self.is_current(catalog):
            self._table = FilterTable.from_catalog(catalog)
            return False
        if embeddings is None:
            vecs = self.embedder.encode([it.text() for it in catalog.items],
                                        progress=self.config.progress)
        elif callable(embeddings):
            vecs = embeddings()
        else:
            vecs = embeddings
        self.build(catalog, vecs)
        return True

    # -- build ----------------------------------------------------------------------------
    def drop(self) -> None:
        if self._exists():
            self.client.delete_collection(self.config.collection)
        self._forget()

    def build(self, catalog: Catalog, embeddings: np.ndarray) -> None:
        """Replace the collection with the catalog's items and these vectors (row i = item i)."""
        vecs = np.asarray(embeddings, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != len(catalog):
            raise IndexStateError(
                f"embeddings have shape {vecs.shape}, expected ({len(catalog)}, dimension)"
            )
        if self.config.space != "l2" or self.embedder.config.normalize:
            vecs = normalize_rows(vecs)
        manifest = self.manifest_for(catalog, vecs.shape[1])
        self.drop()
        cfg = self.config
        collection = self.client.create_collection(
            cfg.collection,
            configuration={
                "hnsw": {
                    "space": cfg.space,
                    "ef_construction": cfg.ef_construction,
                    "ef_search": cfg.ef_search,
                    "max_neighbors": cfg.max_neighbors,
                },
            },
            metadata={**manifest, f"{_KEY}complete": False},
            embedding_function=self._ef(),
        )
        self._collection = collection
        try:
            limit = int(self.client.get_max_batch_size())
        except Exception:  # pragma: no cover - older servers
            limit = cfg.batch_size
        batch = max(1, min(cfg.batch_size, limit))
        items = catalog.items
        starts = range(0, len(items), batch)
        bar = None
        if cfg.progress and len(items) > batch:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), desc="chroma upsert", unit="item")
        try:
            for start in starts:
                chunk = items[start:start + batch]
                kwargs: dict[str, Any] = {}
                if cfg.store_documents:
                    kwargs["documents"] = [it.text() for it in chunk]
                collection.upsert(
                    ids=[it.item_id for it in chunk],
                    embeddings=vecs[start:start + batch],
                    metadatas=[item_metadata(it) for it in chunk],
                    **kwargs,
                )
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        collection.modify(metadata={**manifest, f"{_KEY}complete": True})
        self._forget()  # re-read so the cached metadata is the final one
        self._table = FilterTable.from_catalog(catalog)

    # -- search ---------------------------------------------------------------------------
    def query_vector(self, query: str | np.ndarray) -> np.ndarray:
        if isinstance(query, str):
            return self.embedder.encode_query(query)
        vec = np.asarray(query, dtype=np.float32).reshape(-1)
        return normalize_rows(vec[None, :])[0]

    def search(
        self,
        query: str | np.ndarray,
        k: int = 10,
        categories: Collection[str] | None = None,
        price: PriceRange | None = None,
        exclude: Collection[str] = (),
    ) -> list[tuple[str, float]]:
        """Top-k (item_id, cosine similarity) for a text or a vector, best first.

        `categories` / `price` are applied by Chroma as a `where` filter; `exclude` ids are
        dropped (the search over-fetches to still return k).
        """
        if k <= 0:
            return []
        hits = self._query(self.query_vector(query), k, categories, price, set(exclude))
        return [(item_id, sim) for item_id, sim, _ in hits]

    def search_by_items(
        self,
        item_ids: Sequence[str],
        k: int = 10,
        categories: Collection[str] | None = None,
        price: PriceRange | None = None,
        exclude: Collection[str] = (),
    ) -> list[tuple[str, float]]:
        """Top-k items similar to the mean of these items' stored vectors (the items
        themselves excluded). Unknown ids are ignored; none known gives []."""
        if k <= 0 or not item_ids:
            return []
        got = self.collection.get(ids=list(dict.fromkeys(item_ids)), include=["embeddings"])
        stored = got.get("embeddings")
        if stored is None or len(stored) == 0:
            return []
        centre = normalize_rows(np.asarray(stored, dtype=np.float32)).mean(axis=0)
        banned = set(exclude) | set(got["ids"])
        hits = self._query(normalize_rows(centre[None, :])[0], k, categories, price, banned)
        return [(item_id, sim) for item_id, sim, _ in hits]

    def search_vector(
        self,
        vector: np.ndarray,
        k: int = 10,
        categories: Collection[str] | None = None,
        price: PriceRange | None = None,
        exclude: Collection[str] = (),
        *,
        with_embeddings: bool = False,
    ) -> list[tuple[str, float, np.ndarray | None]]:
        """Like `search` for a vector, with each hit's stored vector when asked (else None)."""
        if k <= 0:
            return []
        return self._query(self.query_vector(vector), k, categories, price, set(exclude),
                           with_embeddings=with_embeddings)

    def _query(
        self,
        vec: np.ndarray,
        k: int,
        categories: Collection[str] | None,
        price: PriceRange | None,
        banned: set[str],
        *,
        with_embeddings: bool = False,
    ) -> list[tuple[str, float, np.ndarray | None]]:
        total = self.count()
        where = where_filter(categories, price)
        if where is None:
            return self._run(vec, min(k + len(banned), total), None, banned, k, with_embeddings)
        cats = set(categories) if categories else None
        limit = self.config.post_filter_max
        if limit > 0:
            table = self.filter_table()
            share = table.share(cats, price)
            if share <= 0.0:
                return []
            # Hits cluster by topic, so far fewer than share * n of the n nearest pass a
            # category filter; fetch the full budget when even a fair share would be ~2x k.
            if share * min(limit, total) >= 2 * (k + len(banned)) or total <= limit:
                n = min(max(limit, k + len(banned)), total)
                hits = self._run(vec, n, None, banned, None, False)
                passing = [h for h in hits if table.admits(h[0], cats, price)][:k]
                if len(passing) >= k or n >= total:
                    if not with_embeddings:
                        return passing
                    vecs = self.get_embeddings([h[0] for h in passing])
                    return [(i, sim, vecs.get(i)) for i, sim, _ in passing]
        return self._run(vec, k + len(banned), where, banned, k, with_embeddings)

    def _run(self, vec: np.ndarray, n: int, where: dict[str, Any] | None, banned: set[str],
             k: int | None, with_embeddings: bool) -> list[tuple[str, float, np.ndarray | None]]:
        """One Chroma query: up to n neighbours, banned ids dropped, first k kept (None: all)."""
        if n <= 0:
            return []
        include = ["distances", "embeddings"] if with_embeddings else ["distances"]
        res = self.collection.query(query_embeddings=[vec], n_results=n, where=where, include=include)
        ids = res["ids"][0]
        dists = res["distances"][0]
        embs = res["embeddings"][0] if with_embeddings else [None] * len(ids)
        out: list[tuple[str, float, np.ndarray | None]] = []
        for item_id, dist, emb in zip(ids, dists, embs, strict=True):
            if item_id in banned:
                continue
            vec_out = np.asarray(emb, dtype=np.float32) if with_embeddings else None
            out.append((item_id, self._similarity(float(dist)), vec_out))
            if k is not None and len(out) == k:
                break
        return out

    def _similarity(self, distance: float) -> float:
        if self.config.space == "l2":  # squared L2 on unit vectors: |a-b|^2 = 2 - 2cos
            return 1.0 - distance / 2.0
        return 1.0 - distance  # cosine and ip distances are 1 - similarity

    def get_embeddings(self, item_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (ids not in the collection are absent)."""
        got = self.collection.get(ids=list(item_ids), include=["embeddings"])
        vecs = got.get("embeddings")
        if vecs is None:
            return {}
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], vecs, strict=True)}


__all__ = [
    "ChromaIndex",
    "VectorStoreConfig",
    "item_metadata",
    "make_client",
    "where_filter",
]
