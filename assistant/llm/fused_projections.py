"""Fused input projections at inference: q/k/v and gate/up each as one matmul.

A decoder layer of a Llama-style model (SmolLM2, Llama, Mistral, Qwen2) reads the same
hidden state with three attention projections and two MLP projections. On a CPU, decoding
one token at a time, each 4-bit matmul costs a fixed overhead on top of its arithmetic, so
five calls per layer cost more than two (bench/bench_llm.py and bench/bench_serving.py
measure the model with and without fusing).
`fuse_projections(model)` gives each layer one fused projection per group:

* the base weights are concatenated along the output dimension. An NF4 weight is
  dequantised and quantised again: its blocks of 64 consecutive values do not cross a row
  of these shapes, each block's largest value is exactly its scale, so every block gets
  back the same codes and scale and the fused weight holds the same numbers (checked:
  `fuse_projections` refuses a group whose re-quantised weight differs);
* a LoRA adapter served by `lora_serving.lean_lora` is fused the same way: A matrices
  stacked, the scaled B matrices as one block-diagonal matrix, so each output still gets
  only its own update.

The original modules are replaced by views of the fused one: the first of a group (q_proj,
gate_proj) computes all outputs and keeps them for the others, which hand back theirs when
called with the same input tensor and compute the fused product again otherwise, so the
result never depends on the order the model calls them in. Outputs equal the unfused
model's up to float rounding (the matmul's summation order); the tests compare them.
Inference only: training keeps the separate layers peft wraps. Imported (with torch) only
by `assistant.llm.loading.load_model`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

GROUPS: tuple[tuple[str, ...], ...] = (("q_proj", "k_proj", "v_proj"), ("gate_proj", "up_proj"))


class FusionError(Exception):
    """A group of projections cannot be fused exactly."""


def _base_and_lora(module: Any) -> tuple[Any, tuple[Any, Any] | None]:
    """(the plain or 4-bit linear layer, (A, scaled B) of a lean LoRA layer or None)."""
    lean = getattr(module, "_cartsmith_lean", None)
    base = getattr(module, "base_layer", None)
    if base is not None:
        if lean is None:  # a LoRA layer peft itself serves (merged, several adapters, DoRA)
            raise FusionError("a LoRA layer without the lean forward")
        return base, lean
    return module, None


def _is_4bit(layer: Any) -> bool:
    return type(layer).__name__ == "Linear4bit"


def _dense_weight(layer: Any) -> Any:
    if _is_4bit(layer):
        import bitsandbytes.functional as bnbf

        data, state = layer.weight.data, layer.weight.quant_state
        if getattr(state, "packing_format_for_cpu", False):
            # bitsandbytes repacks a CPU weight in place on its first forward; its inverse
            # rewrites the layer's state, so fusing is for freshly loaded models only
            raise FusionError("4-bit weights already repacked by a forward pass")
        return bnbf.dequantize_4bit(data, state).to(torch.float32)
    return layer.weight.detach()


def _fused_base(layers: Sequence[Any]) -> Any:
    first = layers[0]
    if any(type(layer) is not type(first) for layer in layers):
        raise FusionError("projections of different layer types")
    if any(layer.in_features != first.in_features for layer in layers):
        raise FusionError("projections of different input sizes")
    has_bias = [layer.bias is not None for layer in layers]
    if any(has_bias) and not all(has_bias):
        raise FusionError("some projections have a bias and some do not")
    weight = torch.cat([_dense_weight(layer) for layer in layers], dim=0)
    bias = torch.cat([layer.bias.detach() for layer in layers]) if all(has_bias) else None
    out_features = weight.shape[0]
    if not _is_4bit(first):
        if type(first) is not torch.nn.Linear:
            raise FusionError(f"cannot fuse {type(first).__name__} layers")
        fused = torch.nn.Linear(first.in_features, out_features, bias=bias is not None,
                                dtype=first.weight.dtype)
        with torch.no_grad():
            fused.weight.copy_(weight.to(first.weight.dtype))
            if bias is not None:
                fused.bias.copy_(bias)
        return fused.eval()
    import bitsandbytes as bnb

    state = first.weight.quant_state
    if state.nested:
        raise FusionError("double-quantised 4-bit weights")
    if any(layer.weight.quant_state.blocksize != state.blocksize for layer in layers) or \
            first.in_features % state.blocksize:
        raise FusionError("4-bit blocks that cross a row")
    fused = bnb.nn.Linear4bit(first.in_features, out_features, bias=bias is not None,
                              compute_dtype=first.compute_dtype, compress_statistics=False,
                              quant_type=first.weight.quant_type,
                              quant_storage=first.weight.quant_storage, device="cpu")
    fused.weight = bnb.nn.Params4bit(weight, requires_grad=False, blocksize=state.blocksize,
                                     compress_statistics=False, quant_type=first.weight.quant_type,
                                     quant_storage=first.weight.quant_storage, module=fused)
    fused = fused.to(first.weight.device)
    if bias is not None:
        fused.bias = torch.nn.Parameter(bias.to(first.bias.dtype), requires_grad=False)
    if not torch.equal(_dense_weight(fused), weight):
        raise FusionError("the re-quantised 4-bit weight differs from the original")
    return fused.eval()


def _fused_lora(loras: Sequence[tuple[Any, Any] | None]) -> tuple[Any, Any] | None:
    if all(lora is None for lora in loras):
        return None
    if any(lora is None for lora in loras):
        raise FusionError("LoRA on some projections of a group and not others")
    weight_a = torch.cat([a for a, _ in loras], dim=0)  # type: ignore[misc]
    scaled_b = torch.block_diag(*[b for _, b in loras])  # type: ignore[misc]
    return weight_a, scaled_b.to(weight_a.dtype)


class _FusedGroup:
    """The fused projection of one group and the outputs of its last call."""

    def __init__(self, base: Any, lora: tuple[Any, Any] | None, sizes: Sequence[int]) -> None:
        self.base = base
        self.lora = lora
        self.sizes = list(sizes)
        self.last: tuple[Any, tuple[Any, ...]] | None = None

    def outputs(self, x: Any) -> tuple[Any, ...]:
        from assistant.llm.lora_serving import lora_update

        out = self.base(x)
        if self.lora is not None:
            weight_a, scaled_b = self.lora
            out = out + lora_update(x.to(weight_a.dtype), weight_a, scaled_b).to(out.dtype)
        parts = tuple(p.contiguous() for p in out.split(self.sizes, dim=-1))
        self.last = (x, parts)
        return parts


class FusedPart(torch.nn.Module):
    """One projection's slice of a fused group (see the module docstring)."""

    def __init__(self, group: _FusedGroup, index: int) -> None:
        super().__init__()
        self.group = group
        self.index = index
        self.out_features = group.sizes[index]
        if index == 0:  # registered once, so the model's parameters count it once
            self.fused = group.base

    def forward(self, x: Any) -> Any:
        group = self.group
        last = group.last
        if self.index and last is not None and last[0] is x:
            out = last[1][self.index]
            if self.index == len(group.sizes) - 1:
                group.last = None  # the step's activations are not kept past it
            return out
        return group.outputs(x)[self.index]

    def extra_repr(self) -> str:
        return f"part {self.index} of {len(self.group.sizes)}, out_features={self.out_features}"


def fuse_projections(model: Any) -> int:
    """Fuse q/k/v and gate/up in every module that has them; returns how many groups were
    fused (0 for a model without such modules). A group that cannot be fused exactly stays
    as it was."""
    fused = 0
    with torch.no_grad():
        for module in list(model.modules()):
            for names in GROUPS:
                members = [getattr(module, name, None) for name in names]
                if any(m is None or not isinstance(m, torch.nn.Module) for m in members):
                    continue
                try:
                    split = [_base_and_lora(m) for m in members]
                    base = _fused_base([b for b, _ in split])
                    lora = _fused_lora([lora for _, lora in split])
                except FusionError:
                    continue
                group = _FusedGroup(base, lora, [b.out_features for b, _ in split])
                for index, name in enumerate(names):
                    setattr(module, name, FusedPart(group, index))
                fused += 1
    return fused
