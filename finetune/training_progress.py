"""The training run's clock and its one-line progress reports (steps, loss, learning rate,
elapsed time and ETA), logged and, when enabled, printed to stderr.
"""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("finetune.train")


class TrainingProgress:
    """Steps, loss and time. clock "cpu" counts this process's CPU seconds per thread it
    uses, which on a machine shared with other jobs measures the compute the run got
    (equal to wall time on an otherwise idle machine); "wall" counts wall time."""

    def __init__(self, enabled: bool, total_steps: int, clock: str = "wall", threads: int = 1) -> None:
        self.enabled = enabled
        self.total = total_steps
        self.clock = clock
        self.threads = max(1, threads)
        self.restart()

    def restart(self) -> None:
        self.started = time.perf_counter()
        self.started_cpu = time.process_time()

    def wall(self) -> float:
        return time.perf_counter() - self.started

    def elapsed(self) -> float:
        if self.clock == "cpu":
            return (time.process_time() - self.started_cpu) / self.threads
        return self.wall()

    def line(self, text: str) -> None:
        log.info(text)
        if self.enabled:
            print(f"[train] {text}", file=sys.stderr, flush=True)

    def step(self, step: int, loss: float, lr: float) -> None:
        elapsed = self.elapsed()
        eta = elapsed / step * (self.total - step) if step else 0.0
        self.line(f"step {step}/{self.total} loss {loss:.4f} lr {lr:.2e} "
                  f"elapsed {format_duration(elapsed)} eta {format_duration(eta)}")


def format_duration(seconds: float) -> str:
    """Seconds as h:mm:ss."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
