"""Parse time as served now against the parser of an earlier commit, same messages, same machine.

Issue #13's parse-time target is "not above today's": the parser of the commit the issue was
filed against (`0e63d8d` by default: its code, its shipped adapter) and the parser as served now
(intent reader + words first) read an even spread of the hand-written messages (evals/parse/).
Two modules of the same name cannot live in one interpreter, so each code runs in a worker
process of its own (the earlier one from a `git worktree` of the commit, removed at the end);
the workers take the messages in turn, one parse at a time, so both see the same machine.
Each round's median per worker, then the median over rounds and the ratio now / then.

    python bench/bench_parse_since.py [--base 0e63d8d] [--messages 60] [--rounds 3] [--threads 2] \
        [--json bench/results/bench_parse_since.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.storage import write_json

REPO = Path(__file__).resolve().parent.parent

# Runs inside a worker, with the worker's own checkout first on sys.path: builds that code's
# parser the way its service did (reader and words first only where the code has them).
_WORKER = r'''
import inspect, json, sys, time
sys.path.insert(0, sys.argv[1])
threads = int(sys.argv[2])
from assistant.llm.generation import LLMConfig, load_model
from assistant.understand.parser import RequestParser
adapter = sys.argv[1] + "/finetune/adapters/cartsmith-smollm2-lora"  # the shipped adapter of that code
loaded = load_model(LLMConfig(adapter=adapter, threads=threads))
if "intent_reader" in inspect.signature(RequestParser.__init__).parameters:
    from assistant.understand.intent_reader import SHIPPED_INTENT_READER, IntentReader
    from assistant.understand.words_first import WordsFirstConfig
    from retrieval.embeddings import Embedder
    embedder = Embedder()
    reader = IntentReader.load(SHIPPED_INTENT_READER, embedder.encode, embedder.model_id)
    parser = RequestParser(loaded, intent_reader=reader, words_first=WordsFirstConfig())
else:
    parser = RequestParser(loaded)
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    case = json.loads(line)
    started = time.perf_counter()
    result = parser.parse(case["message"], case["summary"])
    print(json.dumps({"seconds": time.perf_counter() - started, "tokens": result.tokens}), flush=True)
'''


class _Worker:
    def __init__(self, checkout: Path, threads: int) -> None:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        self.process = subprocess.Popen([sys.executable, "-c", _WORKER, str(checkout), str(threads)],
                                        cwd=checkout, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._read()  # the ready line: the model is loaded

    def _read(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"a parse worker stopped (exit {self.process.wait()}); its stderr is above")
        return json.loads(line)

    def parse(self, message: str, summary: str) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"message": message, "summary": summary}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="0e63d8d", help="the earlier commit (default: #13's filing point)")
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)

    from parse_rounds import handwritten_spread, interleaved_rounds

    cases = handwritten_spread(args.messages)
    base_commit = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=REPO, check=True,
                                 capture_output=True, text=True).stdout.strip()
    head_commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, check=True,
                                 capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="cartsmith-base-") as scratch:
        base_dir = Path(scratch) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_dir), base_commit], cwd=REPO,
                       check=True, capture_output=True)
        try:
            workers = {"then": _Worker(base_dir, args.threads), "now": _Worker(REPO, args.threads)}
            def timed(worker: _Worker) -> Callable[[str, str], tuple[float, int]]:
                def parse(message: str, summary: str) -> tuple[float, int]:
                    answer = worker.parse(message, summary)
                    return answer["seconds"], answer["tokens"]
                return parse

            timing = interleaved_rounds({name: timed(w) for name, w in workers.items()}, cases, args.rounds)
            for worker in workers.values():
                worker.close()
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_dir)], cwd=REPO,
                           capture_output=True)
    medians = timing["median_parse_s"]
    report = {
        "set": "handwritten", "messages": len(cases), "rounds": args.rounds, "threads": args.threads,
        "then_commit": base_commit, "now_commit": head_commit, "measured_at": time.strftime("%Y-%m-%d"),
        "median_parse_s": medians, "round_medians_s": timing["round_medians_s"], "mean_tokens": timing["mean_tokens"],
        "ratio_now_to_then": round(medians["now"] / medians["then"], 3),
        "now_read_from_words_share": timing["read_from_words_share"]["now"],
    }
    print(report)
    if args.json_out:
        write_json(Path(args.json_out), report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
