"""Batched vs unbatched decoding in one process: N conversations of 3 turns (a bundle, "make
it cheaper", "swap the second one") sent from N threads to `Assistant.turn` (model writer).
Prints turns/s, the median turn, the median time per stage, who worded the bundles and,
when batching, the scheduler's counters (mean rows per step, seconds in prefill and steps).

    python bench/bench_batching.py SESSIONS BATCHING(0|1) [THREADS]

docs/BENCHMARKS.md "Batched decoding" lists the runs (1 and 8 sessions, each both ways).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.dialogue.service import Assistant, AssistantConfig

ANCHORS = ["tea party", "picnic for two", "cat lover", "gardener", "baker", "baby shower", "wedding", "retro kitchen"]


def main() -> None:
    sessions, batching = int(sys.argv[1]), sys.argv[2] == "1"
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    assistant = Assistant(AssistantConfig.from_dict({"sessions": tempfile.mktemp(), "writer": "model",
                                                     "batching": batching, "threads": threads}))
    assistant.turn(assistant.open_session(), "a present for a gardener")  # warm-up

    def conversation(i: int) -> list[tuple[float, dict[str, float], str]]:
        session, out = assistant.open_session(), []
        for text in [f"a bundle for a {ANCHORS[i % len(ANCHORS)]}, about £{20 + i}", "make it cheaper",
                     "swap the second one"]:
            began = time.perf_counter()
            reply = assistant.turn(session, text)
            out.append((time.perf_counter() - began, reply.timings, reply.writer))
        return out

    began = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        turns = [t for conv in pool.map(conversation, range(sessions)) for t in conv]
    wall = time.perf_counter() - began
    print(f"n={sessions} batching={batching} turns/s={len(turns) / wall:.3f} "
          f"p50={statistics.median(t[0] for t in turns):.2f}")
    for stage in ("guard", "parse", "act", "write", "finish"):
        print(stage, round(statistics.mean(t[1].get(stage, 0.0) for t in turns), 3))
    print("writers", {w: sum(t[2] == w for t in turns) for w in {t[2] for t in turns}})
    s = assistant.scheduler
    if s is not None:
        print("prompt", s.prompt_tokens, "reused", s.reused_tokens, "steps", s.steps,
              "mean rows", round(s.batched_rows / max(1, s.steps), 2), "prefill_s", round(s.prefill_s, 1),
              "step_s", round(s.step_s, 1))


if __name__ == "__main__":
    main()
