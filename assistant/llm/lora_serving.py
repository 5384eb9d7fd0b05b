"""A lean forward for LoRA layers at inference: the same arithmetic as peft's, less Python.

peft's LoRA forward is written for training and for many adapters at once: per call it
checks its arguments, clones the base output, loops over the active adapters, casts dtypes,
runs dropout and scales the update. A 135M model with LoRA on every projection has 210 such
layers, called once per decoded token each, so on a CPU that bookkeeping is a real share of
a token's time. `lean_lora(model)` gives each LoRA layer of a model loaded for inference
(one adapter, eval mode, not merged) a forward that computes

    base(x) + linear(linear(x, A), scaling * B)

with scaling folded into a copy of B once. peft's own scaling is alpha / r; when that is a
power of two (the shipped adapter: 32 / 16 = 2), folding it in is exact in floating point,
so the logits are bit-for-bit what peft computes; otherwise they differ by rounding only.
"""

from __future__ import annotations

import types
from typing import Any


def _lean_forward(self: Any, x: Any, *args: Any, **kwargs: Any) -> Any:
    result = self.base_layer(x, *args, **kwargs)
    weight_a, scaled_b = self._cartsmith_lean
    update = lora_update(x.to(weight_a.dtype), weight_a, scaled_b)
    return result + update.to(result.dtype)


def lora_update(x: Any, weight_a: Any, scaled_b: Any) -> Any:
    """x A^T (s B)^T. A decoding step of several conversations at once (one token per row of
    x) multiplies row by row: a float32 matrix product sums in another order for several
    rows than for one, and each conversation must get the numbers it gets alone (the base
    4-bit layers and the norms already compute a row the same whatever the batch)."""
    import torch
    import torch.nn.functional as F

    if x.dim() == 3 and x.shape[0] > 1 and x.shape[1] == 1:
        return torch.cat([F.linear(F.linear(x[i:i + 1], weight_a), scaled_b) for i in range(x.shape[0])])
    return F.linear(F.linear(x, weight_a), scaled_b)


def lean_lora(model: Any) -> int:
    """Switch every single-adapter LoRA layer of an inference model to the lean forward;
    returns how many layers were switched (0 for a model without LoRA layers)."""
    import torch

    try:
        from peft.tuners.lora import LoraLayer
    except ImportError:  # pragma: no cover - peft is part of the llm extra
        return 0
    switched = 0
    for module in model.modules():
        if not isinstance(module, LoraLayer) or getattr(module, "merged", False):
            continue
        adapters = [name for name in module.active_adapters if name in module.lora_A]
        if len(adapters) != 1 or module.lora_variant or getattr(module, "use_dora", {}).get(adapters[0]):
            continue
        name = adapters[0]
        lora_a, lora_b = module.lora_A[name], module.lora_B[name]
        if not isinstance(lora_a, torch.nn.Linear) or not isinstance(lora_b, torch.nn.Linear):
            continue
        if lora_a.bias is not None or lora_b.bias is not None:
            continue
        with torch.no_grad():
            scaled_b = lora_b.weight.detach() * module.scaling[name]
        module._cartsmith_lean = (lora_a.weight.detach(), scaled_b)
        module.forward = types.MethodType(_lean_forward, module)
        switched += 1
    return switched
