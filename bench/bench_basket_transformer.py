"""The Transformer over baskets against ALS, on a sample of Online Retail's test baskets.

Online Retail with the default time split (train before 2011-10-01), half of each test
basket revealed (seed 13), a seeded sample of `--baskets` test baskets; ALS with its
default config, then the Transformer with each config given as JSON (default: its default
config), each fitted on the same training baskets in this process. Prints and writes
NDCG@10, recall@20, the fit's seconds and its report (epochs, the best epoch, the
validation loss).

    python bench/bench_basket_transformer.py [--baskets 1500] [--no-als] [CONFIG_JSON ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retrieval.storage import write_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=["{}"], help="BasketTransformerConfig fields as JSON")
    parser.add_argument("--baskets", type=int, default=1500, help="test baskets sampled (seeded)")
    parser.add_argument("--no-als", action="store_true", help="skip the ALS baseline")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)

    from retrieval.catalog import BasketData
    from retrieval.cf import make_source
    from retrieval.cf.basket_transformer import BasketTransformerConfig, BasketTransformerSource
    from retrieval.datasets import load_online_retail
    from retrieval.evaluate import SplitConfig, evaluate_source, split_interactions

    catalog, interactions, _ = load_online_retail()
    split = split_interactions(catalog, interactions, SplitConfig.parse(
        "time:2011-10-01", seed_fraction=0.5, seed=13, max_test_baskets=args.baskets))
    data = BasketData.build(catalog, split.train)
    print(f"{split.description}; {len(split.cases)} test baskets", file=sys.stderr)
    rows: list[dict[str, Any]] = []

    def measured(name: str, source: Any, config: dict[str, Any]) -> None:
        started = time.perf_counter()
        source.fit(data)
        fit_s = time.perf_counter() - started
        result = evaluate_source(source, split.cases, len(catalog))
        row = {"method": name, "config": config, "ndcg@10": round(result.metrics["ndcg@10"], 4),
               "recall@20": round(result.metrics["recall@20"], 4), "fit_s": round(fit_s, 1),
               "fit_report": {k: round(v, 4) for k, v in (getattr(source, "fit_report", None) or {}).items()}}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)

    if not args.no_als:
        measured("als", make_source("als"), {})
    for text in args.configs:
        fields = json.loads(text)
        measured("transformer", BasketTransformerSource(BasketTransformerConfig.from_dict(fields)), fields)
    report = {"split": split.description, "test_baskets": len(split.cases), "runs": rows,
              "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    if args.json_out:
        write_json(Path(args.json_out), report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
