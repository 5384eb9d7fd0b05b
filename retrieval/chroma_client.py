"""Where the Chroma collection lives and how its HNSW index is built (`VectorStoreConfig`),
and the client that reaches it: `chromadb.PersistentClient(path)` locally, or
`chromadb.HttpClient` for `server_url="http://host:port"`. Telemetry is always off.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any
from urllib.parse import urlparse

from .config import Config, check
from .errors import IndexStateError


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
