"""One BLAS thread for the composer's small collaborative-filtering calls."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_blas: dict[str, Any] = {"controller": None, "limiter": None, "depth": 0}
_blas_lock = threading.Lock()


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run small BLAS calls (the factor models' fold-in solves) on one thread: with two
    threads on shared, busy cores each call waits for a descheduled thread (measured
    130-1,100 ms vs 30 ms per compose on a loaded 2-core box). The limit is process-wide,
    so overlapping calls share one limiter and the last one out restores the original."""
    with _blas_lock:
        if _blas["depth"] == 0:
            if _blas["controller"] is None:
                import threadpoolctl

                _blas["controller"] = threadpoolctl.ThreadpoolController()
            _blas["limiter"] = _blas["controller"].limit(limits=1, user_api="blas")
        _blas["depth"] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas["depth"] -= 1
            if _blas["depth"] == 0:
                _blas["limiter"].restore_original_limits()
                _blas["limiter"] = None
