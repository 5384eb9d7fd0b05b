"""A threaded server's memory: one malloc arena pool, not one per thread, and freed blocks given back.

glibc gives each thread that allocates its own malloc arena, up to eight per core. A
server answering 32 shoppers at once runs a thread per request, and every thread that
tokenises, builds a prompt or composes a bundle keeps an arena of its own that is rarely
handed back, so the process's resident memory climbs with concurrency although the data it
holds does not (measured in docs/BENCHMARKS.md, "The load bench"). Capping the arenas
(`mallopt(M_ARENA_MAX, n)`, the same as the MALLOC_ARENA_MAX environment variable) makes
the threads share a few. glibc fixes its arena limit the first time a thread needs an arena
of its own, so the cap must come before any other thread allocates: `cartsmith serve` sets
it first thing (`create_app` sets it too, for servers built in Python, where it only helps if
no thread has allocated yet). A value the operator set in the environment is left alone.

glibc also raises its mmap threshold each time a large block is freed (up to 32 MB), after
which the blocks of tensors and JSON that a turn allocates and frees come from the heap,
where freed pages often stay resident. A fixed threshold (`mallopt(M_MMAP_THRESHOLD)`, the
same as MALLOC_MMAP_THRESHOLD_) keeps blocks of 256 KiB and more in their own mappings,
given back when freed: on the load bench (32 shoppers x 20 turns, one run each) the peak
RSS went from 1,607 to 1,532 MB and the RSS after the run from 1,489 to 1,345 MB; runs of
one code vary by about 100 MB at the end (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from typing import Any

__all__ = ["DEFAULT_ARENAS", "DEFAULT_MMAP_THRESHOLD", "fix_mmap_threshold", "tune_malloc"]

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
DEFAULT_ARENAS = 2
DEFAULT_MMAP_THRESHOLD = 256 * 1024


def _mallopt() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt


def fix_mmap_threshold(threshold: int = DEFAULT_MMAP_THRESHOLD) -> bool:
    """Blocks of `threshold` bytes and more get their own mappings from now on, whatever is
    freed later; False where this is not glibc, or MALLOC_MMAP_THRESHOLD_ is set."""
    if not 4096 <= threshold <= 32 * 1024 * 1024:
        raise ValueError(f"threshold: must be between 4096 and 33554432 bytes, got {threshold}")
    mallopt = None if os.environ.get("MALLOC_MMAP_THRESHOLD_") else _mallopt()
    return mallopt is not None and mallopt(M_MMAP_THRESHOLD, threshold) == 1


def tune_malloc(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads created from now on, and fix its mmap threshold
    (`fix_mmap_threshold`); False where this is not glibc, or MALLOC_ARENA_MAX is already set
    (the operator's choice wins)."""
    if arenas < 1:
        raise ValueError(f"arenas: must be at least 1, got {arenas}")
    fix_mmap_threshold()
    mallopt = None if os.environ.get("MALLOC_ARENA_MAX") else _mallopt()
    done = mallopt is not None and mallopt(M_ARENA_MAX, arenas) == 1
    if done:
        log.info("malloc arenas capped at %d for this server's threads", arenas)
    return done
