"""Why a model decodes slower outside the main thread on a 2-core machine: torch's intra-op
threads are an OpenMP team per calling thread, and once one thread owns a team of two, a
second thread's team of two runs no faster than one thread.

    python bench/bench_thread_teams.py [--repeats 5] [--json OUT]

The same small matrix-vector work (60 layers of 576 x 576, the shape of the writer model's
projections, 400 times) timed in the main thread with 1 and 2 intra-op threads, then in a
fresh thread with 2 after the main thread has used 2 (as the decoding thread or a server's
worker thread runs after loading). Medians over repeats, alternated. Then, in a second
process, the product's arrangement (`assistant/llm/thread_team.py`): the main thread works
on one thread only and a long-lived decoding thread is the first to use two.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from bench_report import emit

SHAPE, LAYERS, STEPS = 576, 60, 400


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--decoding-thread-first", action="store_true",
                        help="(internal) time only the product's arrangement, print seconds")
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(1, SHAPE)
    weights = [torch.randn(SHAPE, SHAPE) for _ in range(LAYERS)]

    def work(threads: int) -> float:
        torch.set_num_threads(threads)
        began = time.perf_counter()
        with torch.inference_mode():
            for _ in range(STEPS):
                y = x
                for w in weights:
                    y = torch.nn.functional.linear(y, w).tanh_()
        return time.perf_counter() - began

    def in_fresh_thread(threads: int) -> float:
        out: dict[str, float] = {}
        worker = threading.Thread(target=lambda: out.update(s=work(threads)))
        worker.start()
        worker.join()
        return out["s"]

    if args.decoding_thread_first:
        print(json.dumps(_decoding_thread_first(work, args.repeats)))
        return
    work(2)  # the main thread owns a team of two from here on, as after loading the model
    times: dict[str, list[float]] = {"main_2_threads": [], "main_1_thread": [], "fresh_thread_2_threads": []}
    for _ in range(args.repeats):
        times["main_2_threads"].append(work(2))
        times["main_1_thread"].append(work(1))
        times["fresh_thread_2_threads"].append(in_fresh_thread(2))
    torch.set_num_threads(2)
    report: dict[str, object] = {name: round(statistics.median(values), 3) for name, values in times.items()}
    report["fresh_thread_over_main"] = round(
        statistics.median(times["fresh_thread_2_threads"]) / statistics.median(times["main_2_threads"]), 3)
    second = subprocess.run([sys.executable, __file__, "--decoding-thread-first", "--repeats", str(args.repeats)],
                            capture_output=True, text=True, check=True)
    report["decoding_thread_first_2_threads"] = json.loads(second.stdout.strip().splitlines()[-1])
    report["cpus"] = os.cpu_count()
    emit(report, args.json)


def _decoding_thread_first(work: Callable[[int], float], repeats: int) -> float:
    """Median seconds of the work on two threads in a long-lived thread that is the first to
    use two, while the main thread works on one (the product's arrangement)."""
    jobs: queue.Queue[int | None] = queue.Queue()
    done: queue.Queue[float] = queue.Queue()

    def decoding_thread() -> None:
        while (threads := jobs.get()) is not None:
            done.put(work(threads))

    worker = threading.Thread(target=decoding_thread, daemon=True)
    work(1)  # the main thread's own work, on one thread
    worker.start()
    times = []
    for _ in range(repeats):
        jobs.put(2)
        times.append(done.get())
        work(1)
    jobs.put(None)
    worker.join()
    return round(statistics.median(times), 3)


if __name__ == "__main__":
    main()
