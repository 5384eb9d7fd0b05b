"""Parse time per turn with the intent reader against the tuned model alone, same process.

The generated held-out parse messages (`evals.model_eval.load_eval_data`, with the bundle on
screen where the case has one) are parsed by the shipped adapter (NF4) with and without the
intent reader, the two interleaved message by message so both see the same machine; each
round's median per variant, then the median over rounds and the ratio.

A third variant is the parser as served to one shopper (reader + `words_first`: the
reader's sure turns of the intents the words read as well are not decoded). `--set
handwritten` times an even spread of the hand-written messages (evals/parse/) instead.

    python bench/bench_parse.py [--set generated|handwritten] [--messages 60] [--rounds 3] [--threads 2] \
        [--json bench/results/bench_parse.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.storage import write_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="message_set", choices=("generated", "handwritten"), default="generated")
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)

    from parse_rounds import TimedParse, handwritten_spread, interleaved_rounds

    from assistant.llm.generation import LLMConfig, load_model
    from assistant.understand.intent_reader import SHIPPED_INTENT_READER, IntentReader
    from assistant.understand.parser import RequestParser
    from assistant.understand.words_first import WordsFirstConfig
    from evals.model_eval import ADAPTER_DIR, load_eval_data
    from retrieval.embeddings import Embedder

    if args.message_set == "handwritten":
        cases = handwritten_spread(args.messages)
    else:
        cases = [(message, summary) for message, summary, _ in load_eval_data(args.messages, 0).parse_cases]
    loaded = load_model(LLMConfig(adapter=str(ADAPTER_DIR), threads=args.threads))
    embedder = Embedder()
    reader = IntentReader.load(SHIPPED_INTENT_READER, embedder.encode, embedder.model_id)
    variants = {"model_only": RequestParser(loaded), "with_reader": RequestParser(loaded, intent_reader=reader),
                # as served, one shopper alone (never busy): sure turns of the words' intents skip the model
                "as_served": RequestParser(loaded, intent_reader=reader, words_first=WordsFirstConfig())}

    def timed(parser_: RequestParser) -> TimedParse:
        def parse(message: str, summary: str) -> tuple[float, int]:
            started = time.perf_counter()
            result = parser_.parse(message, summary)
            return time.perf_counter() - started, result.tokens
        return parse

    timing = interleaved_rounds({name: timed(p) for name, p in variants.items()}, cases, args.rounds)
    medians = timing["median_parse_s"]
    report = {
        "set": args.message_set, "messages": len(cases), "rounds": args.rounds, "threads": args.threads,
        "median_parse_s": medians, "round_medians_s": timing["round_medians_s"], "mean_tokens": timing["mean_tokens"],
        "ratio_with_reader_to_model_only": round(medians["with_reader"] / medians["model_only"], 3),
        "ratio_as_served_to_model_only": round(medians["as_served"] / medians["model_only"], 3),
        "read_from_words_share": timing["read_from_words_share"]["as_served"],
    }
    print(report)
    if args.json_out:
        write_json(Path(args.json_out), report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
