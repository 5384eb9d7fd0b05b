"""Time to the first streamed words of a bundle answer, with the real model writer.

    python bench/bench_stream.py [--rounds 3] [--json OUT]

Each opening request is one turn of a fresh conversation, run as the HTTP API and the web UI
run it (one turn per worker thread, the model decoding in the scheduler's thread). Per turn
it records when the bundle's cards were ready (`on_bundle`), when the first answer text was
released (`on_text`: the first line the model wrote and the checks passed) and when the turn
ended. The baseline is the same turn's end: before line release the first words went out
only then. Prints (and writes) medians over every turn of every round, and the ratio of
first text to turn end.
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

from bench_alone import OPENINGS
from bench_report import emit

from assistant.dialogue.service import Assistant, AssistantConfig


def _one_turn(assistant: Assistant, text: str) -> dict[str, float | str]:
    marks: dict[str, float] = {}
    pieces: list[str] = []
    out: dict[str, object] = {}

    def on_text(piece: str) -> None:
        marks.setdefault("first_text", time.perf_counter())
        pieces.append(piece)

    def work() -> None:
        out["reply"] = assistant.turn(assistant.open_session(), text,
                                      on_bundle=lambda _: marks.setdefault("cards", time.perf_counter()),
                                      on_text=on_text)

    began = time.perf_counter()
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    ended = time.perf_counter()
    reply = out["reply"]
    assert "".join(pieces) == reply.text, "the streamed pieces must add up to the answer"  # type: ignore[attr-defined]
    return {"cards_s": marks.get("cards", ended) - began, "first_text_s": marks.get("first_text", ended) - began,
            "turn_s": ended - began, "writer": str(reply.writer)}  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    assistant = Assistant(AssistantConfig.from_dict({"sessions": tempfile.mktemp(), "writer": "model"}))
    _one_turn(assistant, "a present for a gardener")  # warm-up
    turns = [_one_turn(assistant, text) for _ in range(args.rounds) for text in OPENINGS]
    median = {key: round(statistics.median(float(t[key]) for t in turns), 3)
              for key in ("cards_s", "first_text_s", "turn_s")}
    writers: dict[str, int] = {}
    for t in turns:
        writers[str(t["writer"])] = writers.get(str(t["writer"]), 0) + 1
    emit({"turns": len(turns), "cards_p50_s": median["cards_s"], "first_text_p50_s": median["first_text_s"],
          "turn_end_p50_s": median["turn_s"],
          "first_text_over_turn_end_p50": round(median["first_text_s"] / median["turn_s"], 3),
          "first_text_p90_s": round(sorted(float(t["first_text_s"]) for t in turns)[int(0.9 * (len(turns) - 1))], 3),
          "writers": writers}, args.json)


if __name__ == "__main__":
    main()
