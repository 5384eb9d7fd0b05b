"""QLoRA training step time on parse examples: 1 vs 2 threads, the old long parse prompt
(parse.v2) vs the current short one, in one process.

Each variant trains the NF4 SmolLM2 base with `finetune.train.train_lora` (the real
training path, the default config's LoRA and batch settings) for --steps optimizer steps
of batch 2 x 2 on the same parse examples from the Online Retail training period, and
reports seconds per step from the run's manifest (training steps only, model load
excluded); the median of --repeats runs is kept. This is what chose `threads = 2` and the
short prompt in `finetune/configs/default.toml`.

    python bench/bench_train_step.py [--steps 8] [--repeats 1] [--json bench/results/bench_train_step.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.storage import write_json

VARIANTS = (("1 thread, parse.v2", 1, "v2"), ("2 threads, parse.v2", 2, "v2"), ("2 threads, parse.v3", 2, "v3"))


def parse_examples(version: str, n: int) -> list[dict[str, list[dict[str, str]]]]:
    from finetune.data import DataConfig, build_dataset
    from prompts import render

    data = build_dataset(DataConfig(n_train=n, n_heldout=1, parse_share=1.0))
    out = []
    for example in data.train:
        meta = example["meta"]
        prompt = render("parse", version, bundle=meta["summary"], message=meta["message"])
        out.append({"messages": [{"role": "user", "content": prompt}, example["messages"][-1]]})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from finetune.run import load_configs
    from finetune.train import train_lora

    _, defaults, _ = load_configs(Path(__file__).resolve().parent.parent / "finetune" / "configs" / "default.toml")
    n = args.steps * defaults.batch_size * defaults.grad_accum
    examples = {version: parse_examples(version, n) for version in {v for _, _, v in VARIANTS}}
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="cartsmith-bench-train-") as tmp:
        for label, threads, version in VARIANTS:
            runs = []
            for repeat in range(args.repeats):
                config = defaults.replace(threads=threads, max_steps=args.steps, time_budget_minutes=None,
                                          time_budget_clock="wall", progress=False, overwrite=True,
                                          output_dir=str(Path(tmp) / f"{threads}-{version}-{repeat}"))
                out = train_lora(config, examples[version], examples[version][:2], data_hash="bench",
                                 prompt_version=f"parse.{version}")
                manifest = json.loads((out / "cartsmith-adapter.json").read_text(encoding="utf-8"))
                runs.append(manifest["training_minutes"]["wall"] * 60 / manifest["steps"])
            results[label] = {"seconds_per_step": round(statistics.median(runs), 2),
                              "runs": [round(r, 2) for r in runs]}
            print(label, results[label], flush=True)
    base = results[VARIANTS[0][0]]["seconds_per_step"]
    report = {"steps": args.steps, "batch": f"{defaults.batch_size} x {defaults.grad_accum}", "variants": results,
              "speedup_vs_1_thread_v2": {k: round(base / r["seconds_per_step"], 3) for k, r in results.items()},
              "load_average_at_end": os.getloadavg()[0]}
    print(json.dumps(report, indent=2))
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
