"""The output layer (vocabulary logits) served in another dtype: bfloat16 halves the bytes
the largest matmul of a small model reads per token, on CPUs with native bf16 instructions.
"""

from __future__ import annotations

import functools
from typing import Any

from assistant.llm.config import LLMConfig


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
