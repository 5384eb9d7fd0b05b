"""Prompt-lookup drafting vs plain greedy decoding for the writer (NF4 + shipped adapter).

The same held-out bundles are worded with `LLMConfig.prompt_lookup` 0 (off) and 3 (the
default) in one process, alternating, prompt cache off so every answer pays its prompt;
reports the median seconds per answer for each, the ratio, and whether the texts match.

    python bench/bench_drafting.py [--bundles 6] [--repeats 3] [--json bench/results/bench_drafting.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.storage import write_json


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=60)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import torch

    from assistant.llm.generation import LLMConfig, generate, load_model
    from assistant.write.writer import write_prompt
    from evals.model_eval import ADAPTER_DIR, load_eval_data

    torch.set_num_threads(1)
    data = load_eval_data(n_parse=0, n_write=args.bundles)
    base = load_model(LLMConfig(adapter=str(ADAPTER_DIR), threads=1))
    prompts = [[{"role": "user", "content": write_prompt(bundle, need)}] for bundle, need in data.write_cases]
    generate(base, prompts[0], max_new_tokens=4)  # warm-up
    variants = {"plain": 0, "drafting": 3}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    texts: dict[str, list[str]] = {}
    tokens: dict[str, int] = {}
    for _ in range(args.repeats):
        for name, lookup in variants.items():
            loaded = dataclasses.replace(base, config=dataclasses.replace(
                base.config, prompt_lookup=lookup, prompt_cache=False))
            started = time.perf_counter()
            out = [generate(loaded, p, max_new_tokens=args.max_new_tokens) for p in prompts]
            seconds[name].append((time.perf_counter() - started) / len(prompts))
            texts[name] = [g.text for g in out]
            tokens[name] = sum(g.n_new_tokens for g in out)
    medians = {name: round(statistics.median(v), 3) for name, v in seconds.items()}
    results = {
        "bundles": len(prompts), "repeats": args.repeats, "tokens": tokens,
        "seconds_per_answer_median": medians,
        "speedup": round(medians["plain"] / medians["drafting"], 3),
        "same_text": texts["plain"] == texts["drafting"],
        "load_avg": os.getloadavg(),
    }
    print(json.dumps(results, indent=2))
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
