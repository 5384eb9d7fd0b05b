"""Next purchase of a returning customer, with no cart: the sequence model against ALS and popularity.

Online Retail split in time at 2011-10-01 (the sequence model is the `transformer`, which
reads the customer's earlier baskets; `next_item` is the older causal next-item model). A
returning customer bought before the split and after it; the question is their first invoice after it (its distinct items), asked with
nothing but their id (`Query(user_id=...)`: no seed items), the way `cartsmith recommend
--user ID` and the opening bundle for a known shopper would ask. Every source is fitted on
the lines before the split in this process; Recall@10 and NDCG@10 over the customers (a
seeded sample of `--customers`), and the ratio of each to ALS.

    python bench/bench_next_purchase.py [--customers 1000] [--methods popularity,bought_before,als,transformer] \
        [--json bench/results/bench_next_purchase.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retrieval.storage import write_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000, help="returning customers sampled (seeded)")
    parser.add_argument("--methods", default="popularity,bought_before,als,user_knn,next_item,transformer",
                        help="sources by name, and bought_before: the customer's own earlier items, "
                             "the most often bought first (a reference, not a source)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd

    from retrieval.catalog import BasketData, Interactions
    from retrieval.cf import make_source
    from retrieval.cf.purchase_history import histories
    from retrieval.datasets import load_online_retail
    from retrieval.evaluate import ranking_metrics

    catalog, interactions, _ = load_online_retail()
    frame = interactions.frame
    cut = pd.Timestamp("2011-10-01")
    before, after = frame[frame["timestamp"] < cut], frame[frame["timestamp"] >= cut]
    known = set(before["user_id"].dropna())
    later = after[after["user_id"].isin(known)]
    first = later.sort_values("timestamp").groupby("user_id")["basket_id"].first()
    rng = np.random.default_rng(args.seed)
    users = sorted(first.index)
    users = [users[i] for i in sorted(rng.choice(len(users), size=min(args.customers, len(users)), replace=False))]
    baskets = later.groupby("basket_id")["item_id"].apply(lambda s: frozenset(s))
    cases = [(user, baskets[first[user]]) for user in users]
    data = BasketData.build(catalog, Interactions(before.reset_index(drop=True)))
    print(f"{len(known):,} customers before the split, {len(first):,} of them returning; "
          f"{len(cases)} sampled", file=sys.stderr)

    rows: list[dict[str, Any]] = []
    for name in args.methods.split(","):
        started = time.perf_counter()
        if name == "bought_before":  # a reference, not a source: their own items, most often first
            ranked_for = functools.partial(_bought_before, histories(data)[1], data)
        else:
            ranked_for = functools.partial(_asked, make_source(name).fit(data))
        fit_s = time.perf_counter() - started
        sums: dict[str, float] = {}
        for user, hidden in cases:
            ranked = ranked_for(str(user))
            for key, value in ranking_metrics(ranked, hidden, (10, 20)).items():
                sums[key] = sums.get(key, 0.0) + value
        row = {"method": name, "ndcg@10": round(sums["ndcg@10"] / len(cases), 4),
               "recall@10": round(sums["recall@10"] / len(cases), 4), "fit_s": round(fit_s, 1)}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    als = next((r for r in rows if r["method"] == "als"), None)
    if als and als["ndcg@10"] > 0:
        for row in rows:
            row["ndcg@10_vs_als"] = round(row["ndcg@10"] / als["ndcg@10"], 3)
    report = {"split": "time at 2011-10-01", "returning_customers": len(first), "customers": len(cases),
              "runs": rows, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": "python bench/bench_next_purchase.py " + " ".join(argv or sys.argv[1:])}
    print(json.dumps(report, indent=1))
    if args.json_out:
        write_json(Path(args.json_out), report)
    return 0


def _bought_before(after_split: dict[int, Any], data: Any, user: str) -> list[str]:
    import numpy as np

    history = after_split.get(data.user_index.get(user, -1))
    if history is None:
        return []
    order = np.lexsort((history.since, -history.counts))[:20]
    return [data.catalog.items[i].item_id for i in history.items[order]]


def _asked(source: Any, user: str) -> list[str]:
    from retrieval.evaluate import ranked_ids
    from retrieval.records import Query

    return ranked_ids(source, Query(user_id=user), 20)


if __name__ == "__main__":
    raise SystemExit(main())
