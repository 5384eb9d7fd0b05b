"""A threaded server's memory: one malloc arena pool, not one per thread.

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
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

__all__ = ["DEFAULT_ARENAS", "limit_malloc_arenas"]

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's malloc.h
DEFAULT_ARENAS = 2


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads created from now on; False where this is not
    glibc, or MALLOC_ARENA_MAX is already set (the operator's choice wins)."""
    if arenas < 1:
        raise ValueError(f"arenas: must be at least 1, got {arenas}")
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = mallopt(M_ARENA_MAX, arenas) == 1
    if done:
        log.info("malloc arenas capped at %d for this server's threads", arenas)
    return done
