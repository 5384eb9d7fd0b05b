"""What keeps the rows of a shared batch apart: left padding of each row's KV cache, and
attention that gives each row exactly what it gets alone (`assistant.llm.batching`)."""

from __future__ import annotations

from typing import Any

__all__ = ["ROWWISE_ATTENTION", "layers_of", "left_pad", "use_rowwise_attention"]


def left_pad(tensor: Any, n: int, dim: int = 2) -> Any:
    """`n` zero positions in front along `dim` (masked out by the attention mask)."""
    if n <= 0:
        return tensor
    import torch

    shape = list(tensor.shape)
    shape[dim] = n
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)


def layers_of(past: Any, n_layers: int) -> list[tuple[Any, Any] | None]:
    if past is None:
        return [None] * n_layers
    return [(layer.keys, layer.values) if getattr(layer, "is_initialized", True) else None
            for layer in past.layers]


ROWWISE_ATTENTION = "cartsmith_rowwise_sdpa"


def _rowwise_sdpa(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, **kwargs: Any) -> Any:
    """Scaled dot-product attention that gives each row of a batch what it gets alone: the
    row's padding is cut from its keys and values before the call, so the softmax sums over
    the same positions in the same order as an unpadded, unbatched step. One row (or no
    mask) is plain SDPA, unchanged."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if query.shape[0] == 1 or attention_mask is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    outputs = []
    for i in range(query.shape[0]):
        allowed = attention_mask[i, 0, -1]
        if allowed.dtype != torch.bool:
            allowed = allowed == 0
        start = int(torch.nonzero(allowed)[0]) if bool(allowed.any()) else 0
        mask = attention_mask[i:i + 1, :, :, start:] if query.shape[2] > 1 else None
        out, _ = sdpa_attention_forward(module, query[i:i + 1], key[i:i + 1, :, start:], value[i:i + 1, :, start:],
                                        mask, **kwargs)
        outputs.append(out)
    return torch.cat(outputs), None


def use_rowwise_attention(model: Any) -> None:
    """Switch an SDPA model to `_rowwise_sdpa` (registered once with transformers, with
    SDPA's own mask builder); a model on another attention keeps it."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ROWWISE_ATTENTION, _rowwise_sdpa)
    AttentionMaskInterface.register(ROWWISE_ATTENTION, sdpa_mask)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    for config in {id(c): c for c in (base.config, getattr(base.config, "text_config", None)) if c is not None}.values():
        if getattr(config, "_attn_implementation", None) == "sdpa":
            config._attn_implementation = ROWWISE_ATTENTION
