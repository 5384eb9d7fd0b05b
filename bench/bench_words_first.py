"""Which turns the words read as well as the model: the evidence behind `words_first`.

Every hand-written message (evals/parse/) is parsed by the shipped adapter (NF4) with the
intent reader, always decoded, and also read from the words alone: the intent
`WordsFirstConfig.intent_from_words` would give it while the model is busy (the shortlist's
one intent; of several, the likeliest, or "question" for a message phrased as one), its
slots from the words (`served_request`). Both readings are served as the product serves them
(`evals.served_reading`, default shop) and judged whole against the label
(`evals.parse_set.score_parse_set`). Grouped by the reader's shortlist: each intent when it
is the only one, "always" / "busy" / "model" for the config's groups, and "several" for
shortlists of more than one intent.

    python bench/bench_words_first.py [--threads 2] [--json bench/results/bench_words_first.json]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.storage import write_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", dest="json_out", default="bench/results/bench_words_first.json")
    args = parser.parse_args(argv)

    from assistant.llm.generation import LLMConfig, load_model
    from assistant.records import Request
    from assistant.safety.guard import check_input, redact
    from assistant.understand.intent_reader import SHIPPED_INTENT_READER, IntentReader
    from assistant.understand.parser import RequestParser
    from assistant.understand.shopper_cues import phrased_as_question
    from assistant.understand.words_first import WordsFirstConfig
    from evals.model_eval import ADAPTER_DIR
    from evals.parse_set import load_parse_set, needs_book_judge, score_parse_set
    from evals.served_reading import ServingShop, served_reading
    from retrieval.embeddings import Embedder

    cases = load_parse_set()
    loaded = load_model(LLMConfig(adapter=str(ADAPTER_DIR), threads=args.threads))
    embedder = Embedder()
    reader = IntentReader.load(SHIPPED_INTENT_READER, embedder.encode, embedder.model_id)
    model = RequestParser(loaded, intent_reader=reader)  # no words_first: every turn decoded
    config = WordsFirstConfig()
    shop, judge = ServingShop(), needs_book_judge()

    groups: dict[str, list[int]] = defaultdict(list)
    model_readings, word_readings = [], []
    for n, case in enumerate(cases):
        message = redact(check_input(case.say))
        shortlist, _ = model.intents_for(message, case.summary)
        parsed = model.parse(message, case.summary)
        busy_intent = config.intent_from_words(shortlist, lambda: True, phrased_as_question(message))
        model_readings.append(served_reading(case, parsed.request, parsed.sure_intent, shop))
        word_readings.append(served_reading(case, Request(busy_intent or shortlist[0]), parsed.sure_intent, shop))
        if len(shortlist) > 1:
            groups["several"].append(n)
        else:
            only = shortlist[0]
            groups[only].append(n)
            groups["always" if only in config.intents else "busy" if only in config.busy_intents
                   else "model"].append(n)
        if n % 50 == 0:
            print(f"[{n}/{len(cases)}]", file=sys.stderr)

    def whole(readings: list[Any], rows: list[int]) -> int:
        picked = [cases[i] for i in rows]
        return len(rows) - len(score_parse_set(picked, [readings[i] for i in rows], judge)["failures"])

    table = {name: {"n": len(rows), "model_whole": whole(model_readings, rows),
                    "words_whole": whole(word_readings, rows)} for name, rows in sorted(groups.items())}
    for name, row in table.items():
        print(f"{name:12s} n {row['n']:4d}  model {row['model_whole']:4d}  words {row['words_whole']:4d}")
    write_json(Path(args.json_out), {"cases": len(cases), "groups": table,
                                     "config": {"intents": config.intents, "busy_intents": config.busy_intents},
                                     "command": "python bench/bench_words_first.py " + " ".join(argv or sys.argv[1:])})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
