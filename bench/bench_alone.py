"""One conversation alone: batched decoding (the scheduler's single-row path) against
unbatched decoding, alternated in one process so neither gains from running first.

    python bench/bench_alone.py [--rounds 3] [--variants batched,unbatched,unbatched_worker] [--json OUT]

Six opening requests per round and variant; the order of the variants rotates each round.
Variants: "batched" (the model decodes in the scheduler's thread), "unbatched" (in the
caller's thread, here the main thread) and "unbatched_worker" (in a worker thread, as the
HTTP API and the web UI call the assistant). Prints (and writes) the median turn, parse and
write seconds per variant.

Only the first thread that decodes with two intra-op threads gets a fast team
(`assistant/llm/thread_team.py`), and switching batching off and on starts a new scheduler
thread: alternating variants in one process therefore measures threads that are not the
first. `--variants batched` alone measures the product as served (one scheduler thread for
the process's life); compare two commits by running it in each.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_report import emit

from assistant.dialogue.service import Assistant, AssistantConfig
from assistant.llm.batching import disable_batching, enable_batching, scheduler_for
from assistant.records import Reply

OPENINGS = ["a tea party for six friends, budget £40", "something for a cat lover",
            "a present for my mum who loves baking", "a picnic hamper for two", "a wedding present around £35",
            "a gift for a gardener, about £20"]
VARIANTS = ("batched", "unbatched", "unbatched_worker")


def _turn_in_worker(assistant: Assistant, text: str) -> Reply:
    """One turn in a fresh worker thread, as a server's thread pool runs it."""
    out: dict[str, Reply] = {}
    worker = threading.Thread(target=lambda: out.update(reply=assistant.turn(assistant.open_session(), text)))
    worker.start()
    worker.join()
    return out["reply"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated, from " + ", ".join(VARIANTS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        parser.error(f"--variants: unknown {unknown}; choose from {', '.join(VARIANTS)}")
    assistant = Assistant(AssistantConfig.from_dict({"sessions": tempfile.mktemp(), "writer": "model"}))
    if assistant.scheduler is None:
        raise SystemExit("the assistant has no decoding scheduler: batching is off in its config")
    loaded, batching_config = assistant.scheduler.loaded, assistant.config.batching_config()
    assistant.turn(assistant.open_session(), "a present for a gardener")  # warm-up
    times: dict[str, dict[str, list[float]]] = {v: {"turn": [], "parse": [], "write": []} for v in variants}
    for round_index in range(args.rounds):
        shift = round_index % len(variants)
        order = variants[shift:] + variants[:shift]
        for variant in order:
            if variant.startswith("unbatched"):
                disable_batching(loaded)  # generations decode in the caller's thread
            elif scheduler_for(loaded) is None:
                enable_batching(loaded, batching_config)
            for text in OPENINGS:
                began = time.perf_counter()
                if variant == "unbatched_worker":
                    reply = _turn_in_worker(assistant, text)
                else:
                    reply = assistant.turn(assistant.open_session(), text)
                times[variant]["turn"].append(time.perf_counter() - began)
                times[variant]["parse"].append(reply.timings.get("parse", 0.0))
                times[variant]["write"].append(reply.timings.get("write", 0.0))
    report: dict[str, object] = {
        variant: {f"{stage}_p50_s": round(statistics.median(values), 3) for stage, values in stages.items()}
        | {"turns": len(stages["turn"])} for variant, stages in times.items()}
    for other in ("unbatched", "unbatched_worker"):
        if "batched" in times and other in times:
            report[f"batched_over_{other}_turn_p50"] = round(
                statistics.median(times["batched"]["turn"]) / statistics.median(times[other]["turn"]), 3)
    emit(report, args.json)


if __name__ == "__main__":
    main()
