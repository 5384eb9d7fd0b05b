"""End-to-end turn latency of the assistant on the default shop (NF4 + shipped adapter).

For a fixed set of bundle requests (fresh session each) and follow-up edits, reports the
median and p95 of the whole turn, where the time goes (guard/parse/act/write/finish), the
time until the bundle is known (what the UI shows as cards before the text), tokens
generated per turn, and the process RSS. A template-writer run in the same process is the
baseline the model's cost is measured against.

    python bench/bench_turn.py [--repeats 2] [--json reports/bench_turn.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.storage import write_json

OPENERS = [
    "a bundle for a tea party under £20",
    "something to go with a red retrospot lunch bag",
    "christmas decorations for my tree, about 15 pounds",
    "a birthday gift set for a girl who likes unicorns",
    "garden party things, 4 items",
    "I need a present for my mum who loves baking, max £25",
]
FOLLOW_UPS = ["make it cheaper", "swap the second one", "add it all to my cart"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(assistant, repeats: int) -> dict:
    totals, until_bundle, tokens = [], [], []
    stages: dict[str, list[float]] = {}
    kinds: dict[str, int] = {}
    writers: dict[str, int] = {}
    for _ in range(repeats):
        for opener in OPENERS:
            session = assistant.open_session()
            for text in [opener, *FOLLOW_UPS]:
                reply = assistant.turn(session, text)
                kinds[reply.kind] = kinds.get(reply.kind, 0) + 1
                t = reply.timings
                if reply.kind == "bundle":
                    writers[reply.writer] = writers.get(reply.writer, 0) + 1
                    totals.append(t["total"])
                    until_bundle.append(t.get("guard", 0) + t.get("parse", 0) + t.get("act", 0))
                    tokens.append(reply.tokens_generated)
                    for name in ("guard", "parse", "act", "write", "finish"):
                        stages.setdefault(name, []).append(t.get(name, 0.0))
    return {
        "bundle_turns": len(totals),
        "reply_kinds": kinds,
        # who wrote the bundle answers: "model", or "template" where the model's failed its checks
        "bundle_writers": writers,
        "p50_s": round(statistics.median(totals), 3) if totals else None,
        "p95_s": round(percentile(totals, 0.95), 3) if totals else None,
        "bundle_known_p50_s": round(statistics.median(until_bundle), 3) if until_bundle else None,
        "bundle_known_p95_s": round(percentile(until_bundle, 0.95), 3) if until_bundle else None,
        "tokens_per_turn_median": statistics.median(tokens) if tokens else None,
        "stage_median_s": {k: round(statistics.median(v), 4) for k, v in stages.items()},
    }


def main() -> int:
    from assistant.dialogue.service import Assistant, AssistantConfig
    from assistant.llm.batching import disable_batching
    from retrieval.shop_index import ShopIndex

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the product's)")
    args = parser.parse_args()
    before = rss_mb()
    base = AssistantConfig(sessions=":memory:")
    if args.threads is not None:
        base = base.replace(threads=args.threads)
    index = ShopIndex.load(base.index_path())
    results: dict[str, Any] = {}
    llm: Any = None  # one model for every run
    # the served default (batched decoding, a conversation alone in the batch), the model
    # without the batch scheduler (decoded in the turn's thread, as before batching), and the
    # template writer as the baseline of the model's cost
    runs = (("model", base), ("model_unbatched", base.replace(batching=False)),
            ("template_baseline", base.replace(writer="template")))
    for label, config in runs:
        start = time.perf_counter()
        if label == "model_unbatched" and llm is not None:
            disable_batching(llm)
        assistant = Assistant(config, index=index, llm=llm)
        llm = assistant.llm
        load_s = time.perf_counter() - start
        assistant.turn(assistant.open_session(), OPENERS[0])  # warm-up: first query loads the embedder
        results[label] = {"load_s": round(load_s, 2), **run(assistant, args.repeats)}
        results[label]["rss_mb"] = round(rss_mb(), 1)
        print(label, json.dumps(results[label], indent=2))
    results["rss_before_mb"] = round(before, 1)
    if results["model_unbatched"]["p50_s"]:
        results["batched_over_unbatched_p50"] = round(results["model"]["p50_s"] / results["model_unbatched"]["p50_s"], 3)
    if results["template_baseline"]["p50_s"]:
        results["model_over_template_p50"] = round(results["model"]["p50_s"] / results["template_baseline"]["p50_s"], 2)
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
