"""Training examples as tensors: tokenised chats with masked labels, padded batches of
similar lengths, and the loss (per token or per example).

An example is `{"messages": [...]}` in chat form; only assistant turns (the reply and its
end-of-turn marker) carry labels, every other token is masked with -100.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Sequence
from typing import Any

from assistant.llm.generation import build_prompt
from retrieval.errors import CartsmithError

log = logging.getLogger("finetune.train")
IGNORE_INDEX = -100


@dataclasses.dataclass(frozen=True)
class Features:
    """One tokenised example: ids and labels (-100 where the loss is masked)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def n_target_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def _check_example(example: Any, index: int) -> list[dict[str, str]]:
    messages = example.get("messages") if isinstance(example, dict) else None
    if not isinstance(messages, list) or not messages:
        raise CartsmithError(f"example {index}: expected {{'messages': [...]}} with at least one message")
    for j, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant") \
                or not isinstance(message.get("content"), str):
            raise CartsmithError(f"example {index}, message {j}: expected role system|user|assistant and str content")
    if not any(m["role"] == "assistant" for m in messages):
        raise CartsmithError(f"example {index}: has no assistant message to learn from")
    return messages


def tokenize_example(tokenizer: Any, example: dict[str, Any], max_seq_len: int,
                     index: int = 0) -> Features | None:
    """Token ids of the chat, labels only on assistant turns (reply + end-of-turn marker).

    Spans are found on the rendered text (prompt-so-far vs. prompt-with-this-reply) and
    mapped to tokens through the tokenizer's offsets, so merges at turn boundaries cannot
    shift the mask. Returns None when truncation to max_seq_len leaves no target token.
    """
    messages = _check_example(example, index)
    full = build_prompt(tokenizer, messages, add_generation_prompt=False)
    spans: list[tuple[int, int]] = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        through = build_prompt(tokenizer, messages[: i + 1], add_generation_prompt=False)
        if i:
            before = build_prompt(tokenizer, messages[:i], add_generation_prompt=True)
        else:  # a conversation that opens with the assistant: the reply starts at its content
            found = through.rfind(message["content"]) if message["content"] else -1
            before = through[:found] if found >= 0 else ""
        if not full.startswith(through) or not through.startswith(before):
            raise CartsmithError(
                "the tokenizer's chat template does not render conversations incrementally; "
                "cannot tell assistant tokens apart"
            )
        spans.append((len(before), len(through)))
    encoded = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    labels = [IGNORE_INDEX] * len(ids)
    for t, (start, end) in enumerate(encoded["offset_mapping"]):
        if end > start and any(start < b and end > a for a, b in spans):
            labels[t] = ids[t]
    ids, labels = ids[:max_seq_len], labels[:max_seq_len]
    if all(label == IGNORE_INDEX for label in labels[1:]):
        return None
    return Features(ids, labels)


def tokenize_examples(tokenizer: Any, examples: Sequence[dict[str, Any]], max_seq_len: int,
                      what: str = "train") -> list[Features]:
    features = []
    skipped = 0
    for i, example in enumerate(examples):
        feature = tokenize_example(tokenizer, example, max_seq_len, i)
        if feature is None:
            skipped += 1
        else:
            features.append(feature)
    if skipped:
        log.warning("%s: %d example(s) had no assistant token within max_seq_len=%d and were skipped",
                    what, skipped, max_seq_len)
    return features


def collate(features: Sequence[Features], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors: input_ids, attention_mask, labels."""
    import torch

    width = max(len(f.input_ids) for f in features)
    input_ids = torch.full((len(features), width), pad_id, dtype=torch.long)
    labels = torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long)
    attention = torch.zeros((len(features), width), dtype=torch.long)
    for i, f in enumerate(features):
        n = len(f.input_ids)
        input_ids[i, :n] = torch.tensor(f.input_ids)
        labels[i, :n] = torch.tensor(f.labels)
        attention[i, :n] = 1
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def batch_loss(model: Any, batch: dict[str, Any], per_example: bool = False) -> tuple[Any, int]:
    """(summed token cross-entropy, number of target tokens) for one batch; with per_example,
    (sum over examples of each example's mean token cross-entropy, number of examples)."""
    import torch

    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)
    logits = out.logits[:, :-1, :].float()
    targets = batch["labels"][:, 1:]
    token_loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
        ignore_index=IGNORE_INDEX, reduction="none",
    ).reshape(targets.shape)
    counts = (targets != IGNORE_INDEX).sum(dim=1)
    if per_example:
        return (token_loss.sum(dim=1) / counts.clamp(min=1)).sum(), int((counts > 0).sum())
    return token_loss.sum(), int(counts.sum())


def length_grouped_batches(lengths: Sequence[int], batch_size: int, rng: random.Random,
                           window: int = 64) -> list[list[int]]:
    """Shuffled batches of similar lengths: shuffle, sort inside windows of `window` batches'
    worth of examples, cut into batches, shuffle the batches. Padding is what a CPU step
    wastes most on when short parse targets and long write targets are mixed."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    span = max(batch_size, window * batch_size)
    batches: list[list[int]] = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start:start + span], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def evaluate_loss(model: Any, tokenizer: Any, examples: Sequence[dict[str, Any] | Features],
                  *, max_seq_len: int = 512, batch_size: int = 8) -> float | None:
    """Mean cross-entropy per assistant token (None for no examples). Leaves train/eval mode as found."""
    import torch

    if not examples:
        return None
    features = [e if isinstance(e, Features) else tokenize_example(tokenizer, e, max_seq_len, i)
                for i, e in enumerate(examples)]
    usable = [f for f in features if f is not None]
    if not usable:
        return None
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for start in range(0, len(usable), batch_size):
                loss, n = batch_loss(model, collate(usable[start:start + batch_size], pad))
                total += float(loss)
                count += n
    finally:
        model.train(was_training)
    return total / max(count, 1)
