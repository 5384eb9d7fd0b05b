"""Atomic folder writes and the embedding cache."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .catalog import Catalog
from .embeddings import Embedder


def cache_dir() -> Path:
    return Path(os.environ.get("CARTSMITH_CACHE", Path.home() / ".cache" / "cartsmith"))


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `target` in one rename.

    On any error the temporary folder is removed and `target` is left as it was, so a
    failed build never leaves a half-written index behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    try:
        tmp.rename(target)
    except BaseException:
        if old.exists():
            old.rename(target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def cached_embeddings(catalog: Catalog, embedder: Embedder, *, progress: bool | None = None) -> np.ndarray:
    """Item embeddings, cached on disk by catalog content hash and embedding model."""
    key = f"{catalog.content_hash()}-{embedder.model_id.replace('/', '_').replace(':', '_')}"
    path = cache_dir() / "embeddings" / f"{key}.npy"
    if path.exists():
        matrix = np.load(path)
        if matrix.shape[0] == len(catalog):
            return matrix
    matrix = embedder.encode([it.text() for it in catalog.items], progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, matrix)
    os.replace(tmp, path)
    return matrix


def write_json(path: Path, data: object) -> None:
    """`data` as indented JSON at `path` (folders made, written atomically): the reports of
    the bench scripts and evals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
