"""A Chroma collection of item embeddings: build, search with filters, staleness checks.

`ChromaIndex` keeps one collection per catalog. Each record is an item: id = item id,
embedding = the item's text vector, metadata = category, title and price (price left out
when unknown, so a price filter never admits an unpriced item, like `PriceRange.admits`).
The collection's own metadata is the manifest (data hash, embedding model id, dimension,
count; `collection_manifest`); `stale_reason` compares it with the catalog and embedder at
hand, and `ensure` rebuilds when they differ.

Local use goes through `chromadb.PersistentClient(path)`; `server_url="http://host:port"`
switches to `chromadb.HttpClient` (`chroma_client`). Category and price filters, and the
in-memory table that post-filters hits, are in `item_filters`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np

from .catalog import Catalog
from .chroma_client import VectorStoreConfig, make_client
from .collection_manifest import COMPLETE, build_manifest, manifest_entries, mismatch
from .embeddings import Embedder, chroma_embedding_function, normalize_rows
from .errors import IndexStateError
from .item_filters import FilterTable, item_metadata, where_filter
from .records import PriceRange


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
        return build_manifest(catalog, self.embedder.model_id,
                              dimension if dimension is not None else self.embedder.dimension)

    def manifest(self) -> dict[str, Any]:
        """The manifest stored with the collection ({} when it has none)."""
        return manifest_entries(self.collection.metadata)

    def stale_reason(self, catalog: Catalog) -> str | None:
        """Why the stored collection does not serve this catalog + embedder (None: it does)."""
        if not self._exists():
            return "no collection yet"
        self._forget()
        return mismatch(self.manifest(), catalog, self.embedder.model_id, self.count)

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
            metadata={**manifest, COMPLETE: False},
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
        collection.modify(metadata={**manifest, COMPLETE: True})
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
        within: Collection[str] | None = None,
    ) -> list[tuple[str, float, np.ndarray | None]]:
        """Like `search` for a vector, with each hit's stored vector when asked (else None).
        `within`: only these item ids are searched (Chroma's `ids` filter; every id must be
        in the collection); empty gives []."""
        if k <= 0:
            return []
        vec = self.query_vector(vector)
        if within is not None:
            wanted = list(dict.fromkeys(within))
            if not wanted:
                return []
            banned = set(exclude)
            return self._run(vec, min(k + len(banned), len(wanted)), where_filter(categories, price),
                             banned, k, with_embeddings, ids=wanted)
        return self._query(vec, k, categories, price, set(exclude), with_embeddings=with_embeddings)

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
             k: int | None, with_embeddings: bool, ids: list[str] | None = None,
             ) -> list[tuple[str, float, np.ndarray | None]]:
        """One Chroma query: up to n neighbours (among `ids` when given), banned ids dropped,
        first k kept (None: all)."""
        if n <= 0:
            return []
        include = ["distances", "embeddings"] if with_embeddings else ["distances"]
        extra: dict[str, Any] = {} if ids is None else {"ids": ids}
        res = self.collection.query(query_embeddings=[vec], n_results=n, where=where, include=include,
                                    **extra)
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
