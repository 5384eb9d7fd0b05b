"""What a Chroma collection records about its build, in its own metadata (format, data
hash, embedding model id, dimension, count, whether the build finished), and why a stored
collection no longer serves a catalog and an embedder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .catalog import Catalog

MANIFEST_FORMAT = 1
_KEY = "cartsmith:"  # prefix of manifest keys in the collection metadata
COMPLETE = f"{_KEY}complete"  # False while a build is under way


def build_manifest(catalog: Catalog, model_id: str, dimension: int) -> dict[str, Any]:
    return {
        f"{_KEY}format": MANIFEST_FORMAT,
        f"{_KEY}data_hash": catalog.content_hash(),
        f"{_KEY}model_id": model_id,
        f"{_KEY}dimension": int(dimension),
        f"{_KEY}count": len(catalog),
    }


def manifest_entries(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The manifest's keys of a collection's metadata ({} when it has none)."""
    return {k: v for k, v in dict(metadata or {}).items() if k.startswith(_KEY)}


def mismatch(stored: Mapping[str, Any], catalog: Catalog, model_id: str,
             count: Callable[[], int]) -> str | None:
    """Why a collection with this manifest does not serve the catalog embedded by model_id
    (None: it does). count: the collection's size, asked only when everything else matches."""
    if not stored.get(COMPLETE):
        return "an earlier build did not finish"
    if stored.get(f"{_KEY}format") != MANIFEST_FORMAT:
        return "built by another cartsmith version"
    if stored.get(f"{_KEY}model_id") != model_id:
        return f"embedding model changed ({stored.get(f'{_KEY}model_id')} -> {model_id})"
    if stored.get(f"{_KEY}data_hash") != catalog.content_hash():
        return "catalog changed since the index was built"
    if count() != len(catalog) or stored.get(f"{_KEY}count") != len(catalog):
        return f"holds {count()} items, catalog has {len(catalog)}"
    return None
