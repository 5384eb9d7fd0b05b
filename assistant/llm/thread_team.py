"""Which thread decodes with torch's team of intra-op threads.

torch's intra-op threads are an OpenMP team per calling thread. On a 2-core machine the
first thread that runs a parallel region with two threads owns the only team that helps:
a second thread's team of two runs no faster than one thread, and costs the first nothing
(`bench/bench_thread_teams.py`: the same matrix-vector work 0.53 s in a decoding thread
whose team is the first, 0.92 s once the loading thread had used a team of two first, 0.88 s
on one thread). So the thread that builds the assistant (the needs book's embeddings, the
model) works on one thread, and each thread
that decodes asks for the configured count where it decodes: the batching scheduler's loop
(the product's default: every model call of the process decodes there), or, with batching
off, the caller's thread (the CLI's main thread, or the first server worker to decode).
"""

from __future__ import annotations


def build_on_one_thread() -> None:
    """For the thread that builds the assistant or loads the model: its tensor work
    (embedding the needs book, quantising, the adapter) must not take the team a decoding
    thread needs. Later threads start with this count too, until a decoding thread asks for
    its own."""
    import torch

    torch.set_num_threads(1)


def decode_on(threads: int) -> None:
    """For a thread about to decode: the configured count of intra-op threads (per thread:
    another thread's setting is not changed)."""
    import torch

    wanted = max(1, threads)
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
