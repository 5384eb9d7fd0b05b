"""Fit time of every candidate source on the real training data (ALS included), 2 cores.

Median of `--repeats` fits per source on the Online Retail training period (before
2011-10-01) and on the Instacart sample; the ratio column is against popularity counting,
the cheapest fit, run in the same process.

    python bench/bench_cf_fit.py [--repeats 3] [--json reports/bench_cf_fit.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retrieval.catalog import BasketData
from retrieval.cf import CF_SOURCES, make_source
from retrieval.datasets import load_instacart, load_online_retail
from retrieval.evaluate import SplitConfig, split_interactions
from retrieval.storage import write_json


def time_fits(data: BasketData, repeats: int) -> dict[str, float]:
    medians = {}
    for name in CF_SOURCES:
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            make_source(name).fit(data)
            runs.append(time.perf_counter() - start)
        medians[name] = statistics.median(runs)
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {}
    catalog, inter, _ = load_online_retail()
    split = split_interactions(catalog, inter, SplitConfig())
    datasets = {"online-retail (train < 2011-10-01)": BasketData.build(catalog, split.train)}
    ic_catalog, ic_inter = load_instacart()
    datasets["instacart sample"] = BasketData.build(ic_catalog, ic_inter)
    for label, data in datasets.items():
        medians = time_fits(data, args.repeats)
        base = max(medians["popularity"], 1e-6)
        results[label] = {
            "baskets": data.baskets.shape[0], "items": data.n_items, "users": len(data.user_ids),
            "fit_seconds": {k: round(v, 3) for k, v in medians.items()},
            "ratio_to_popularity": {k: round(v / base, 1) for k, v in medians.items()},
        }
        print(f"\n{label}: {data.baskets.shape[0]:,} baskets x {data.n_items:,} items, {len(data.user_ids):,} users")
        print(f"{'source':<12}{'fit s (median)':>16}{'x popularity':>14}")
        for name, sec in medians.items():
            print(f"{name:<12}{sec:>16.3f}{sec / base:>14.1f}")
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
