"""How to fine-tune (`TrainConfig`): the base model and its quantization, the LoRA shape,
the optimiser's schedule, batches, time budget, evaluation and logging.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Literal

from assistant.llm.loading import DEFAULT_MODEL, LLMConfig, default_cache_dir
from retrieval.config import Config, check

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _default_threads() -> int:
    return os.cpu_count() or 1


@dataclasses.dataclass(frozen=True)
class TrainConfig(Config):
    """How to fine-tune. model/quantization/compute_dtype/cache_dir/threads mean what they
    mean in LLMConfig; the adapter must later be served with the same model and quantization.

    max_steps (optimizer steps) wins over epochs when set. time_budget_minutes stops
    training after the step that crosses it and still saves the adapter. eval_every: also
    evaluate every N steps (0: only before and after). gradient_checkpointing saves
    memory at about a third more time; the 135M model does not need it on CPU.
    """

    model: str = DEFAULT_MODEL
    quantization: Literal["nf4", "none"] = "nf4"
    compute_dtype: Literal["float32", "bfloat16"] = "bfloat16"
    cache_dir: str = dataclasses.field(default_factory=default_cache_dir)
    threads: int = dataclasses.field(default_factory=_default_threads)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ALL_LINEAR
    learning_rate: float = 2e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.03
    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 4
    grad_accum: int = 1
    max_seq_len: int = 512
    max_grad_norm: float = 1.0
    seed: int = 0
    output_dir: str = "runs/adapters/cartsmith-lora"
    overwrite: bool = False
    time_budget_minutes: float | None = None
    eval_every: int = 0
    eval_before: bool = True
    eval_batch_size: int = 8
    log_every: int = 10
    gradient_checkpointing: bool = False
    progress: bool = True
    loss_weighting: Literal["example", "token"] = "example"
    time_budget_clock: Literal["wall", "cpu"] = "wall"
    group_by_length: bool = True

    def validate(self) -> None:
        check(bool(self.model.strip()), "train.model", "must name a model")
        check(self.quantization in ("nf4", "none"), "train.quantization", "must be 'nf4' or 'none'")
        check(self.compute_dtype in ("float32", "bfloat16"), "train.compute_dtype",
              "must be 'float32' or 'bfloat16'")
        check(self.threads >= 1, "train.threads", "must be >= 1")
        check(self.lora_r >= 1, "train.lora_r", f"must be >= 1, got {self.lora_r}")
        check(self.lora_alpha > 0, "train.lora_alpha", "must be > 0")
        check(0 <= self.lora_dropout < 1, "train.lora_dropout", "must be in [0, 1)")
        check(len(self.target_modules) > 0 and all(self.target_modules), "train.target_modules",
              "must name at least one module")
        check(self.learning_rate > 0, "train.learning_rate", "must be > 0")
        check(self.weight_decay >= 0, "train.weight_decay", "must be >= 0")
        check(0 <= self.warmup_ratio < 1, "train.warmup_ratio", "must be in [0, 1)")
        check(self.epochs >= 1, "train.epochs", "must be >= 1")
        check(self.max_steps is None or self.max_steps >= 1, "train.max_steps", "must be >= 1 or unset")
        check(self.batch_size >= 1, "train.batch_size", "must be >= 1")
        check(self.grad_accum >= 1, "train.grad_accum", "must be >= 1")
        check(self.max_seq_len >= 16, "train.max_seq_len", "must be >= 16")
        check(self.max_grad_norm > 0, "train.max_grad_norm", "must be > 0")
        check(bool(self.output_dir.strip()), "train.output_dir", "must be a folder path")
        check(self.time_budget_minutes is None or self.time_budget_minutes > 0,
              "train.time_budget_minutes", "must be > 0 or unset")
        check(self.eval_every >= 0, "train.eval_every", "must be >= 0")
        check(self.eval_batch_size >= 1, "train.eval_batch_size", "must be >= 1")
        check(self.log_every >= 1, "train.log_every", "must be >= 1")
        check(self.loss_weighting in ("example", "token"), "train.loss_weighting",
              "must be 'example' or 'token'")
        check(self.time_budget_clock in ("wall", "cpu"), "train.time_budget_clock", "must be 'wall' or 'cpu'")

    def llm_config(self) -> LLMConfig:
        """The LLMConfig that loads this run's base model (and later serves the adapter)."""
        return LLMConfig(model=self.model, quantization=self.quantization,
                         compute_dtype=self.compute_dtype, cache_dir=self.cache_dir,
                         threads=self.threads)
