"""Picking one of a fixed list of answers by log-likelihood, all scored in one batched
forward pass (intent classification without free text)."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence

from assistant.llm.chat_prompt import Message, build_prompt
from assistant.llm.decoding import _encode
from assistant.llm.loading import LoadedModel
from retrieval.errors import CartsmithError


@dataclasses.dataclass(frozen=True)
class Choice:
    """generate_choice's pick. scores are what was compared (mean log-prob per token when
    length-normalised, else the sum); probabilities are a softmax over the scores."""

    option: str
    index: int
    scores: tuple[float, ...]
    logprobs: tuple[float, ...]
    probabilities: tuple[float, ...]
    seconds: float


def generate_choice(
    loaded: LoadedModel,
    messages: Sequence[Message],
    options: Sequence[str],
    *,
    length_normalize: bool = True,
    include_end: bool = True,
) -> Choice:
    """Pick the option the model finds likeliest as the whole assistant reply.

    All options are scored in one batched forward pass over prompt+option. include_end
    also scores the end-of-turn token after each option, so "add" does not win merely by
    being a prefix of "add_to_cart". length_normalize compares mean log-prob per token.
    """
    import torch

    if not options:
        raise CartsmithError("generate_choice: options must not be empty")
    if len(set(options)) != len(options):
        raise CartsmithError("generate_choice: options must be distinct")
    started = time.perf_counter()
    tokenizer = loaded.tokenizer
    prompt_text = build_prompt(tokenizer, messages)
    prompt_ids = _encode(tokenizer, prompt_text)
    end_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if not isinstance(end_id, int) or end_id == tokenizer.unk_token_id:
        end_id = tokenizer.eos_token_id
    rows: list[list[int]] = []
    option_lengths: list[int] = []
    for option in options:
        if not option:
            raise CartsmithError("generate_choice: options must be non-empty strings")
        joint = _encode(tokenizer, prompt_text + option)
        if joint[: len(prompt_ids)] == prompt_ids and len(joint) > len(prompt_ids):
            option_ids = joint[len(prompt_ids):]
        else:  # the option merged with the prompt's last token: score it on its own
            option_ids = _encode(tokenizer, option)
        if include_end and end_id is not None:
            option_ids = [*option_ids, int(end_id)]
        rows.append(prompt_ids + option_ids)
        option_lengths.append(len(option_ids))
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = loaded.device
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long, device=device)
    attention = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention[i, : len(row)] = 1
    with torch.inference_mode():
        logits = loaded.model(input_ids=input_ids, attention_mask=attention, use_cache=False).logits
        logprobs_all = torch.log_softmax(logits.float(), dim=-1)
    sums: list[float] = []
    for i, row in enumerate(rows):
        start = len(prompt_ids)
        positions = torch.arange(start - 1, len(row) - 1, device=device)
        targets = torch.tensor(row[start:], dtype=torch.long, device=device)
        sums.append(float(logprobs_all[i, positions, targets].sum()))
    scores = [s / n for s, n in zip(sums, option_lengths, strict=True)] if length_normalize else sums
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    best = max(range(len(options)), key=lambda i: scores[i])
    return Choice(
        option=options[best],
        index=best,
        scores=tuple(scores),
        logprobs=tuple(sums),
        probabilities=tuple(e / total for e in exps),
        seconds=time.perf_counter() - started,
    )
