"""The thread that builds the assistant works on one torch thread, and a decoding thread
asks for its own count without changing another thread's (`assistant/llm/thread_team.py`;
the speed this buys is measured by `bench/bench_thread_teams.py` and `bench/bench_alone.py`,
never asserted here)."""

from __future__ import annotations

import threading

import torch

from assistant.llm.thread_team import build_on_one_thread, decode_on


def test_the_building_thread_works_on_one_and_a_decoding_thread_on_its_own_count() -> None:
    before = torch.get_num_threads()
    try:
        build_on_one_thread()
        assert torch.get_num_threads() == 1
        seen: dict[str, int] = {}

        def decoding() -> None:
            seen["at start"] = torch.get_num_threads()
            decode_on(2)
            seen["decoding"] = torch.get_num_threads()

        worker = threading.Thread(target=decoding)
        worker.start()
        worker.join()
        assert seen == {"at start": 1, "decoding": 2}
        assert torch.get_num_threads() == 1  # the building thread's count is its own
        decode_on(0)  # a count below one is one
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
