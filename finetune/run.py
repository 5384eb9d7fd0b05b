"""`cartsmith finetune --config finetune/configs/default.toml`: data, QLoRA training, adapter.

The TOML file has a [data] section (`finetune.data.DataConfig`), a [train] section
(`finetune.train.TrainConfig`) and an optional [intent_reader] section
(`finetune.intent_reader_fit.IntentReaderConfig`; the reader is fitted after the adapter). The run builds the examples from the Online Retail
training period, writes them (train and held-out JSONL) next to the run's logs under
`runs/finetune/`, trains the LoRA adapter on the NF4 base and returns the adapter folder,
whose manifest also records the data configuration and the example counts.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prompts import prompt_version
from retrieval.config import read_toml
from retrieval.datasets import REPO_ROOT
from retrieval.errors import ConfigError

from .data import DataConfig, build_dataset, chat_only, data_hash
from .intent_reader_fit import IntentReaderConfig, fit_intent_reader
from .train import TrainConfig, train_lora

DEFAULT_CONFIG = REPO_ROOT / "finetune" / "configs" / "default.toml"
N_EVAL_LOSS = 32  # held-out examples used for the eval loss after training (time!)


def load_configs(config_path: str | Path) -> tuple[DataConfig, TrainConfig, dict[str, Any]]:
    path = Path(config_path)
    raw = read_toml(path)
    unknown = sorted(set(raw) - {"data", "train", "run", "intent_reader"})
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(unknown)}; known: data, train, run, intent_reader")
    data = DataConfig.from_dict(raw.get("data", {}), where=f"{path}[data]")
    train_values = dict(raw.get("train", {}))
    out = train_values.get("output_dir")
    if out and not Path(out).is_absolute():
        train_values["output_dir"] = str(REPO_ROOT / out)
    train = TrainConfig.from_dict(train_values, where=f"{path}[train]")
    return data, train, dict(raw.get("run", {}))


def load_intent_reader_config(config_path: str | Path) -> IntentReaderConfig:
    """The [intent_reader] section (defaults when absent); a relative output_dir is the repo's."""
    path = Path(config_path)
    values = dict(read_toml(path).get("intent_reader", {}))
    out = values.get("output_dir")
    if out and not Path(out).is_absolute():
        values["output_dir"] = str(REPO_ROOT / out)
    return IntentReaderConfig.from_dict(values, where=f"{path}[intent_reader]")


def run_intent_reader(config_path: str | Path = DEFAULT_CONFIG, echo: Callable[[str], None] | None = None) -> Path:
    """Fit only the intent reader (about a minute), on the config's data."""
    say = echo or (lambda text: print(text, file=sys.stderr, flush=True))
    data_config, _, _ = load_configs(config_path)
    return fit_intent_reader(data_config, load_intent_reader_config(config_path), say)


def combined_prompt_version() -> str:
    return f"{prompt_version('parse')}+{prompt_version('write')}"


def run_finetune(config_path: str | Path = DEFAULT_CONFIG, echo: Callable[[str], None] | None = None) -> Path:
    """Build the data, train the adapter, return its folder."""
    say = echo or (lambda text: print(text, file=sys.stderr, flush=True))
    data_config, train_config, run = load_configs(config_path)
    started = time.perf_counter()
    say("[finetune] building examples from the Online Retail training period "
        f"(invoices before {data_config.cutoff}) ...")
    dataset = build_dataset(data_config)
    say(f"[finetune] {dataset.stats} in {time.perf_counter() - started:.0f}s; data hash {dataset.hash}")
    data_dir = REPO_ROOT / str(run.get("data_dir", "runs/finetune"))
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", dataset.train), ("heldout", dataset.heldout)):
        with (data_dir / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    eval_examples = chat_only(dataset.heldout[:N_EVAL_LOSS])
    adapter = train_lora(train_config, chat_only(dataset.train), eval_examples,
                         data_hash=data_hash(dataset.train), prompt_version=combined_prompt_version())
    shrink_adapter(adapter)
    manifest_path = adapter / "cartsmith-adapter.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["data"] = {**data_config.to_dict(), **dataset.stats, "source": "UCI Online Retail, "
                        f"invoices before {data_config.cutoff}; held-out split by invoice"}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    fit_intent_reader(data_config, load_intent_reader_config(config_path), say)
    say(f"[finetune] done in {(time.perf_counter() - started) / 60:.1f} min: {adapter}")
    return adapter


def shrink_adapter(folder: Path) -> int:
    """Store the adapter's weights as float16 (half the bytes; peft casts them back on load).

    Returns the new size of adapter_model.safetensors in bytes."""
    import torch
    from safetensors.torch import load_file, save_file

    path = Path(folder) / "adapter_model.safetensors"
    tensors = load_file(str(path))
    if any(t.dtype != torch.float16 for t in tensors.values()):
        half = {k: v.to(torch.float16).contiguous() for k, v in tensors.items()}
        tmp = path.with_suffix(".tmp")
        save_file(half, str(tmp), metadata={"format": "pt"})
        tmp.replace(path)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Fine-tune the cartsmith LoRA adapter")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    parser.add_argument("--intent-reader-only", action="store_true",
                        help="fit only the intent reader (about a minute), not the LoRA adapter")
    args = parser.parse_args(argv)
    print(run_intent_reader(args.config) if args.intent_reader_only else run_finetune(args.config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
