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

    def validate(self) -> None:
        check(self.space in ("cosine", "ip", "l2"), "vector_store.space",
              f"must be cosine, ip or l2, got {self.space!r}")
        check(self.batch_size >= 1, "vector_store.batch_size", "must be >= 1")
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
                "_collection": None}

    def count(self) -> int:
        return int(self.collection.count())

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
        self._collection = None
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
        self._collection = None

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
        self._collection = None  # re-read so the cached metadata is the final one

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
        hits = self._query(self.query_vector(query), k, where_filter(categories, price), set(exclude))
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
        hits = self._query(normalize_rows(centre[None, :])[0], k, where_filter(categories, price), banned)
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
        return self._query(self.query_vector(vector), k, where_filter(categories, price),
                           set(exclude), with_embeddings=with_embeddings)

    def _query(self, vec: np.ndarray, k: int, where: dict[str, Any] | None, banned: set[str],
               *, with_embeddings: bool = False) -> list[tuple[str, float, np.ndarray | None]]:
        collection = self.collection
        n = k + len(banned)
        if where is None:
            n = min(n, collection.count())
        if n <= 0:
            return []
        include = ["distances", "embeddings"] if with_embeddings else ["distances"]
        res = collection.query(query_embeddings=[vec], n_results=n, where=where, include=include)
        ids = res["ids"][0]
        dists = res["distances"][0]
        embs = res["embeddings"][0] if with_embeddings else [None] * len(ids)
        out: list[tuple[str, float, np.ndarray | None]] = []
        for item_id, dist, emb in zip(ids, dists, embs, strict=True):
            if item_id in banned:
                continue
            vec_out = np.asarray(emb, dtype=np.float32) if with_embeddings else None
            out.append((item_id, self._similarity(float(dist)), vec_out))
            if len(out) == k:
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
