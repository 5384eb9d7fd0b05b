"""Loading the language model (fp32 or 4-bit NF4) and its adapter.

`assistant.llm.config` says which model and how (`LLMConfig`); `assistant.llm.model_files`
finds the model's files and converts a GGUF once into a Hugging Face folder in the model
cache; that folder is loaded here either in float32 or re-quantised to NF4 by bitsandbytes
(which also runs on CPU); `assistant.llm.output_head` may serve the output layer in bf16.

Nothing here downloads: every `from_pretrained` gets `local_files_only=True` and
HF_HUB_OFFLINE defaults to 1. torch/transformers are imported inside the functions, so
importing this module (for `LLMConfig`) is cheap.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Re-exported: callers load and locate models through this one module.
from assistant.llm.config import (
    DEFAULT_MODEL,
    PACKAGED_MODELS,
    PACKAGED_PREFIX,
    ComputeDtype,
    LLMConfig,
    Quantization,
    default_cache_dir,
    default_threads,
)
from assistant.llm.model_files import (
    ADAPTER_MANIFEST,
    MODEL_MANIFEST,
    ModelSource,
    ensure_hf_folder,
    file_sha256,
    model_id_for,
    packaged_gguf,
    resolve_model,
    write_json_atomic,
)
from assistant.llm.output_head import cast_output_head, cpu_has_native_bf16, resolved_head_dtype
from retrieval.errors import CartsmithError

__all__ = [
    "ADAPTER_MANIFEST", "DEFAULT_MODEL", "MODEL_MANIFEST", "PACKAGED_MODELS", "PACKAGED_PREFIX",
    "ComputeDtype", "LLMConfig", "LoadedModel", "ModelSource", "Quantization", "cast_output_head",
    "check_adapter_compatible", "cpu_has_native_bf16", "default_cache_dir", "default_threads",
    "ensure_hf_folder", "file_sha256", "library_versions", "load_base_model", "load_model",
    "model_bytes", "model_id_for", "packaged_gguf", "process_rss", "quantized_cache_folder",
    "read_adapter_manifest", "resolve_model", "resolved_head_dtype", "torch_dtype", "write_json_atomic",
]

if TYPE_CHECKING:  # pragma: no cover
    import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

log = logging.getLogger(__name__)


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

    from assistant.llm.thread_team import build_on_one_thread

    build_on_one_thread()  # the decoding thread takes the team of threads (thread_team)
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
        write_json_atomic(tmp / QUANTIZED_MANIFEST, {
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
        if config.lean_lora:
            from assistant.llm.lora_serving import lean_lora

            lean_lora(model)
    if config.fuse_projections:
        from assistant.llm.fused_projections import fuse_projections

        fuse_projections(model)
    head_dtype = resolved_head_dtype(config)
    if head_dtype != "float32":
        cast_output_head(model, head_dtype)

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
