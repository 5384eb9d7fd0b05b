"""Serving options of the NF4 model + shipped adapter, against peft's own forward, in one process.

Each variant loads the packaged SmolLM2 in NF4 with the shipped LoRA adapter and times one
decoding step (1 new token, and 4 at once as a verified draft does) after a 300-token
prompt, median of `--repeats` runs of `--steps` steps:

* peft: peft's LoRA forward, float32 output layer (the baseline);
* lean: `assistant.llm.lora_serving.lean_lora` (the same arithmetic, less Python);
* lean + bf16 head: the output layer served in bfloat16 (`LLMConfig.head_dtype`);
* the last one again with 2 threads;
* + fused projections: q/k/v and gate/up as one matmul each (`LLMConfig.fuse_projections`,
  the default), 1 and 2 threads.

    python bench/bench_serving.py [--repeats 3] [--steps 20] [--json reports/bench_serving.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.storage import write_json

ADAPTER = Path(__file__).resolve().parent.parent / "finetune" / "adapters" / "cartsmith-smollm2-lora"
VARIANTS = (
    ("peft", {"lean_lora": False, "head_dtype": "float32", "threads": 1, "fuse_projections": False}),
    ("lean", {"lean_lora": True, "head_dtype": "float32", "threads": 1, "fuse_projections": False}),
    ("lean + bf16 head", {"lean_lora": True, "head_dtype": "bfloat16", "threads": 1, "fuse_projections": False}),
    ("lean + bf16 head, 2 threads", {"lean_lora": True, "head_dtype": "bfloat16", "threads": 2,
                                     "fuse_projections": False}),
    ("lean + bf16 head + fused", {"lean_lora": True, "head_dtype": "bfloat16", "threads": 1,
                                  "fuse_projections": True}),
    ("lean + bf16 head + fused, 2 threads", {"lean_lora": True, "head_dtype": "bfloat16", "threads": 2,
                                             "fuse_projections": True}),
)


def step_ms(loaded, width: int, steps: int, repeats: int) -> float:
    import torch

    from assistant.llm.decoding import _cache_kwarg

    model = loaded.model
    kwarg = _cache_kwarg(model)
    torch.manual_seed(0)
    prompt = torch.randint(100, 20_000, (1, 300))
    with torch.inference_mode():
        cache = getattr(model(input_ids=prompt, use_cache=True), kwarg)
        feed = prompt[:, -width:]
        for _ in range(3):
            model(input_ids=feed, use_cache=True, logits_to_keep=width, **{kwarg: cache})
            cache.crop(-width)
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(steps):
                model(input_ids=feed, use_cache=True, logits_to_keep=width, **{kwarg: cache})
                cache.crop(-width)
            runs.append((time.perf_counter() - start) / steps * 1000)
    return round(statistics.median(runs), 2)


def main() -> int:
    from assistant.llm.generation import LLMConfig, load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for label, options in VARIANTS:
        loaded = load_model(LLMConfig(adapter=str(ADAPTER), **options))
        results[label] = {"step_1_token_ms": step_ms(loaded, 1, args.steps, args.repeats),
                          "step_4_tokens_ms": step_ms(loaded, 4, args.steps, args.repeats)}
        print(label, results[label], flush=True)
        del loaded
    base = results["peft"]["step_1_token_ms"]
    report = {"variants": results, "speedup_vs_peft_1_token": {
        label: round(base / r["step_1_token_ms"], 3) for label, r in results.items()},
        "load_average_at_end": os.getloadavg()[0]}
    print(json.dumps(report["speedup_vs_peft_1_token"], indent=2))
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
