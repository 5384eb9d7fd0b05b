"""Train a LoRA adapter on chat examples, on the 4-bit base it will be served on (QLoRA).

An example is {"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]};
the loss covers assistant tokens only (the reply and its end-of-turn token), every other
token is masked with -100 (`finetune.features`). The loop is a plain torch loop (AdamW,
warmup then linear decay, gradient accumulation, clipping, batches of similar lengths,
each example weighted once) that stops cleanly when `time_budget_minutes` runs out (wall
time, or the CPU time the run got), decaying the rate to reach zero by then, and prints
one line per `log_every` steps with loss, elapsed time and ETA.

The adapter folder is written atomically (`adapter_files`: temp folder, then rename) and
holds peft's adapter weights plus cartsmith-adapter.json, which names the base model id
that `assistant.llm.generation.load_model` insists on. The run is configured by
`train_config.TrainConfig` and reports through `training_progress`.

    >>> from finetune.train import TrainConfig, train_lora
    >>> path = train_lora(TrainConfig(output_dir="runs/adapters/parse-v1", max_steps=200),
    ...                   train, dev, data_hash="ab12...", prompt_version="parse-v1")
"""

from __future__ import annotations

import datetime as _dt
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.llm.loading import ensure_hf_folder, library_versions, load_base_model, model_id_for
from retrieval.config import check
from retrieval.errors import CartsmithError, ConfigError

from .adapter_files import prepare_output, save_adapter
from .features import (
    IGNORE_INDEX,
    batch_loss,
    collate,
    evaluate_loss,
    length_grouped_batches,
    tokenize_examples,
)

# Re-exported: a run is configured and started through this one module.
from .train_config import ALL_LINEAR, TrainConfig
from .training_progress import TrainingProgress

__all__ = ["ALL_LINEAR", "TrainConfig", "train_lora"]


def _prepare_model(config: TrainConfig, model: Any) -> Any:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    # bitsandbytes repacks NF4 weights for its bf16 CPU inference kernel on the first
    # forward pass run in eval mode without grad (an eval loss, say); that kernel has no
    # backward, so training afterwards would silently stop gradients at every base layer.
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
    model.config.use_cache = False
    if config.quantization == "nf4":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    else:
        for param in model.parameters():
            param.requires_grad = False
        if config.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    lora = LoraConfig(
        r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules), bias="none", task_type="CAUSAL_LM",
    )
    try:
        model = get_peft_model(model, lora)
    except ValueError as exc:
        raise ConfigError(f"train.target_modules: {exc}") from exc
    return model


def train_lora(
    config: TrainConfig,
    train_examples: Sequence[dict[str, Any]],
    eval_examples: Sequence[dict[str, Any]],
    *,
    data_hash: str,
    prompt_version: str,
) -> Path:
    """Fine-tune a LoRA adapter; return the adapter folder (config.output_dir)."""
    import torch

    check(bool(data_hash), "train_lora.data_hash", "must identify the training data")
    check(bool(prompt_version), "train_lora.prompt_version", "must name the prompt version")
    if not train_examples:
        raise CartsmithError("train_lora: no training examples")
    output = prepare_output(config)
    started = time.perf_counter()
    random.seed(config.seed)
    torch.manual_seed(config.seed)

    llm_config = config.llm_config()
    folder = ensure_hf_folder(llm_config)
    base_id = model_id_for(llm_config)
    model, tokenizer = load_base_model(llm_config, folder, base_id)
    train_features = tokenize_examples(tokenizer, train_examples, config.max_seq_len, "train")
    eval_features = tokenize_examples(tokenizer, eval_examples, config.max_seq_len, "eval")
    if not train_features:
        raise CartsmithError("train_lora: no training example has an assistant token within max_seq_len")
    model = _prepare_model(config, model)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    batches_per_epoch = math.ceil(len(train_features) / config.batch_size)
    steps_per_epoch = max(1, math.ceil(batches_per_epoch / config.grad_accum))
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    warmup = int(config.warmup_ratio * total_steps)
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)

    budget_s = config.time_budget_minutes * 60 if config.time_budget_minutes else None

    def lr_factor(step: int) -> float:
        """Warmup, then linear decay to zero by the last planned step or, with a time
        budget, by the end of the budget, whichever comes first: a run the clock stops
        still ends annealed instead of at a high learning rate."""
        if step < warmup:
            return (step + 1) / (warmup + 1)
        done = (step - warmup) / max(1, total_steps - warmup)
        if budget_s is not None and step > 0:
            done = max(done, progress.elapsed() / budget_s)
        return max(0.0, 1.0 - done)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    progress = TrainingProgress(config.progress, total_steps, config.time_budget_clock, config.threads)
    progress.line(
        f"base {base_id} ({config.quantization}, compute {config.compute_dtype}), "
        f"{len(train_features)} train / {len(eval_features)} eval examples, {total_steps} steps, "
        f"{n_trainable:,} trainable parameters"
    )
    eval_before = None
    if config.eval_before and eval_features:
        eval_before = evaluate_loss(model, tokenizer, eval_features, batch_size=config.eval_batch_size)
        progress.line(f"eval loss before training {eval_before:.4f}")

    progress.restart()  # elapsed/ETA/time budget count training steps only
    order_rng = random.Random(config.seed)
    step, micro, epoch = 0, 0, 0
    stop_reason = "completed"
    losses: list[float] = []
    history: list[dict[str, float]] = []
    window_loss, window_tokens = 0.0, 0
    evals: list[dict[str, float]] = []
    optimizer.zero_grad(set_to_none=True)
    while step < total_steps:
        epoch += 1
        if config.group_by_length:
            batches = length_grouped_batches([len(f.input_ids) for f in train_features], config.batch_size,
                                             order_rng)
        else:
            order = list(range(len(train_features)))
            order_rng.shuffle(order)
            batches = [order[i:i + config.batch_size] for i in range(0, len(order), config.batch_size)]
        group_tokens = 0
        group: list[dict[str, Any]] = []
        for b_index, indices in enumerate(batches):
            group.append(collate([train_features[i] for i in indices], pad))
            last_of_epoch = b_index == len(batches) - 1
            if len(group) < config.grad_accum and not last_of_epoch:
                continue
            # Mean over the accumulation group, per example by default: a token-weighted mean
            # lets long written answers drown the few tokens that carry a parse's intent.
            per_example = config.loss_weighting == "example"
            if per_example:
                group_tokens = sum(int(((g["labels"][:, 1:] != IGNORE_INDEX).sum(dim=1) > 0).sum()) for g in group)
            else:
                group_tokens = sum(int((g["labels"][:, 1:] != IGNORE_INDEX).sum()) for g in group)
            step_loss = 0.0
            for batch in group:
                loss_sum, _ = batch_loss(model, batch, per_example)
                (loss_sum / max(group_tokens, 1)).backward()
                step_loss += float(loss_sum.detach())
                micro += 1
            group = []
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            mean = step_loss / max(group_tokens, 1)
            losses.append(mean)
            window_loss += step_loss
            window_tokens += group_tokens
            if step % config.log_every == 0 or step == total_steps or step == 1:
                shown = window_loss / max(window_tokens, 1)
                history.append({"step": step, "loss": round(shown, 5)})
                progress.step(step, shown, float(scheduler.get_last_lr()[0]))
                window_loss, window_tokens = 0.0, 0
            if config.eval_every and step % config.eval_every == 0 and eval_features and step < total_steps:
                value = evaluate_loss(model, tokenizer, eval_features, batch_size=config.eval_batch_size)
                evals.append({"step": step, "eval_loss": round(value or 0.0, 5)})
                progress.line(f"step {step} eval loss {value:.4f}")
            if step >= total_steps:
                break
            if budget_s is not None and progress.elapsed() >= budget_s:
                stop_reason = "time_budget"
                progress.line(f"time budget of {config.time_budget_minutes} min reached at step {step}; stopping")
                break
        if stop_reason != "completed":
            break

    eval_after = evaluate_loss(model, tokenizer, eval_features, batch_size=config.eval_batch_size) \
        if eval_features else None
    if eval_after is not None:
        progress.line(f"eval loss after training {eval_after:.4f}")
    tail = losses[-10:]
    minutes = (time.perf_counter() - started) / 60
    manifest = {
        "base_model_id": base_id,
        "base_model": config.model,
        "quantization": config.quantization,
        "compute_dtype": config.compute_dtype,
        "data_hash": data_hash,
        "prompt_version": prompt_version,
        "metrics": {
            "train_loss": round(sum(tail) / len(tail), 5) if tail else None,
            "train_loss_first": round(losses[0], 5) if losses else None,
            "eval_loss_before": round(eval_before, 5) if eval_before is not None else None,
            "eval_loss": round(eval_after, 5) if eval_after is not None else None,
            "history": history,
            "evals": evals,
        },
        "steps": step,
        "planned_steps": total_steps,
        "epochs": round(micro / max(batches_per_epoch, 1), 3),
        "stop_reason": stop_reason,
        "minutes": round(minutes, 3),
        "train_threads": config.threads,
        "training_minutes": {"wall": round(progress.wall() / 60, 3),
                             "cpu_per_thread": round((time.process_time() - progress.started_cpu)
                                                     / max(1, config.threads) / 60, 3)},
        "n_train": len(train_features),
        "n_eval": len(eval_features),
        "trainable_parameters": n_trainable,
        "lora": {"r": config.lora_r, "alpha": config.lora_alpha, "dropout": config.lora_dropout,
                 "target_modules": list(config.target_modules)},
        "train_config": {k: v for k, v in config.to_dict().items() if k not in ("cache_dir", "threads")},
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "library_versions": library_versions(),
    }
    save_adapter(model, manifest, output, overwrite=config.overwrite)
    progress.line(f"adapter saved to {output} ({step} steps, {minutes:.1f} min, {stop_reason})")
    return output
