"""Retrieval speed on the Instacart catalog: embedding, Chroma build, top-k query latency.

    .venv/bin/python bench/bench_retrieval.py --json reports/bench_retrieval.json
    .venv/bin/python bench/bench_retrieval.py --limit 5000 --repeats 2      # quick run

Measures, on the CPU the process runs on:
  * embedding throughput (items/s) of the item texts (product name + aisle + department);
  * Chroma index build throughput (items/s, batched upserts into a PersistentClient);
  * top-k text-query latency p50/p95 over ~200 queries: end to end (embed the query, then
    search Chroma), Chroma search alone, and exact numpy cosine for comparison;
    each repeat clears the query cache; reported numbers are medians over repeats;
  * recall@k of Chroma's HNSW against the exact cosine top-k.
Target: end-to-end top-50 p50 <= 20 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.storage import write_json

os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from retrieval.catalog import Catalog  # noqa: E402
from retrieval.embeddings import Embedder, EmbeddingConfig  # noqa: E402
from retrieval.records import Item  # noqa: E402
from retrieval.vector_store import ChromaIndex, VectorStoreConfig  # noqa: E402

DEFAULT_PRODUCTS = ROOT.parent / "shared" / "data" / "instacart_sample"
TARGET_P50_MS = 20.0

# Shopper needs in words; aisle names fill the rest of the query set.
NEEDS = [
    "something for a picnic in the park", "birthday party snacks", "gluten free pasta",
    "healthy breakfast cereal", "baby food pouches", "dog treats", "cat litter",
    "ingredients for tacos", "vegan protein", "sparkling water", "cold brew coffee",
    "dark chocolate", "paper towels", "laundry detergent for sensitive skin", "dish soap",
    "greek yogurt", "fresh berries", "avocados for guacamole", "pizza night", "movie night snacks",
    "bbq sauce for ribs", "hot dog buns", "ice cream for kids", "lactose free milk",
    "almond milk", "oat milk for coffee", "green tea", "energy drink", "hangover cure",
    "cold and flu medicine", "sunscreen", "shampoo for curly hair", "toothpaste", "diapers",
    "wet wipes", "spaghetti and tomato sauce", "rice for sushi", "soy sauce", "curry paste",
    "frozen pizza", "frozen vegetables", "chicken breast", "ground beef", "salmon fillet",
    "tofu", "hummus and pita", "cheese for a cheese board", "crackers", "red wine",
    "craft beer", "lemonade", "orange juice", "bread for sandwiches", "peanut butter",
    "strawberry jam", "honey", "maple syrup for pancakes", "pancake mix", "eggs",
    "butter for baking", "flour and sugar for a cake", "chocolate chips for cookies",
    "vanilla extract", "olive oil", "salad dressing", "snacks for a road trip",
    "kids lunchbox ideas", "low sugar granola", "coconut water", "trail mix", "kombucha",
]


def load_catalog(folder: Path, limit: int | None) -> Catalog:
    products = pd.read_csv(folder / "products.csv")
    aisles = pd.read_csv(folder / "aisles.csv")
    departments = pd.read_csv(folder / "departments.csv")
    frame = products.merge(aisles, on="aisle_id", how="left").merge(departments, on="department_id", how="left")
    if limit:
        frame = frame.iloc[:limit]
    items = [
        Item(item_id=str(pid), title=str(name), category=str(dept),
             attributes={"aisle": str(aisle)})
        for pid, name, aisle, dept in frame[["product_id", "product_name", "aisle", "department"]].itertuples(index=False)
    ]
    return Catalog(items)


def build_queries(folder: Path, n: int) -> list[str]:
    aisles = pd.read_csv(folder / "aisles.csv")["aisle"].astype(str).tolist()
    queries = list(dict.fromkeys(NEEDS + [a for a in aisles if a not in ("missing", "other")]))
    return queries[:n]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--products", type=Path, default=DEFAULT_PRODUCTS,
                    help="folder with products.csv, aisles.csv, departments.csv")
    ap.add_argument("--limit", type=int, default=None, help="only the first N products")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64, help="embedding batch size")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for bulk item encoding (default: torch's, one per core)")
    ap.add_argument("--query-threads", type=int, default=1,
                    help="torch threads for query encoding (default 1; see EmbeddingConfig)")
    ap.add_argument("--upsert-batch", type=int, default=2000, help="Chroma upsert batch size")
    ap.add_argument("--chroma-dir", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--embeddings", type=Path, default=None,
                    help="reuse item vectors from this .npy (written there if missing)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    import torch

    catalog = load_catalog(args.products, args.limit)
    queries = build_queries(args.products, args.queries)
    n = len(catalog)
    print(f"catalog: {n:,} items from {args.products}; {len(queries)} queries; k={args.k}; "
          f"torch threads={torch.get_num_threads()}, cpus={os.cpu_count()}", flush=True)

    embedder = Embedder(EmbeddingConfig(batch_size=args.batch_size, progress=not args.no_progress,
                                        progress_min_items=1000, threads=args.threads,
                                        query_threads=args.query_threads))
    t0 = time.perf_counter()
    _ = embedder.model
    load_s = time.perf_counter() - t0
    texts = [it.text() for it in catalog.items]

    embed_s: float | None = None
    if args.embeddings is not None and args.embeddings.exists():
        vectors = np.load(args.embeddings)
        if vectors.shape[0] != n:
            raise SystemExit(f"{args.embeddings}: {vectors.shape[0]} rows, catalog has {n}")
        print(f"item vectors loaded from {args.embeddings} (embedding throughput not measured)")
    else:
        embedder.encode(texts[:64], progress=False)  # warm-up
        t0 = time.perf_counter()
        vectors = embedder.encode(texts)
        embed_s = time.perf_counter() - t0
        if args.embeddings is not None:
            args.embeddings.parent.mkdir(parents=True, exist_ok=True)
            np.save(args.embeddings, vectors)
    embed_rate = n / embed_s if embed_s else None

    tmp = None
    chroma_dir = args.chroma_dir
    if chroma_dir is None:
        tmp = tempfile.mkdtemp(prefix="bench_chroma_")
        chroma_dir = Path(tmp)
    results: dict = {}
    try:
        index = ChromaIndex(VectorStoreConfig(path=str(chroma_dir), collection="bench_items",
                                              batch_size=args.upsert_batch,
                                              progress=not args.no_progress), embedder)
        t0 = time.perf_counter()
        index.build(catalog, vectors)
        build_s = time.perf_counter() - t0
        assert index.count() == n

        ids = np.array([it.item_id for it in catalog.items])
        k = min(args.k, n)
        # warm-up: first queries pay for lazy HNSW loading
        for q in queries[:5]:
            index.search(q, k=k)
        e2e_runs, chroma_runs, embed_runs, exact_runs, filt_runs, small_runs = [], [], [], [], [], []
        depts = {"produce", "dairy eggs", "snacks"} & set(catalog.categories)
        counts = {c: catalog.categories.count(c) for c in set(catalog.categories)}
        smallest = min(counts, key=lambda c: (counts[c], c))
        recalls: list[float] = []
        for rep in range(args.repeats):
            embedder.clear_cache()
            e2e, chroma_only, embed_only, exact, filtered, small = [], [], [], [], [], []
            for q in queries:
                t0 = time.perf_counter()
                vec = embedder.encode_query(q)
                t1 = time.perf_counter()
                hits = index.search(vec, k=k)
                t2 = time.perf_counter()
                sims = vectors @ vec
                top = np.argpartition(-sims, k - 1)[:k]
                top = top[np.argsort(-sims[top])]
                t3 = time.perf_counter()
                index.search(vec, k=k, categories=depts)
                t4 = time.perf_counter()
                index.search(vec, k=k, categories={smallest})
                t5 = time.perf_counter()
                e2e.append((t2 - t0) * 1e3)
                embed_only.append((t1 - t0) * 1e3)
                chroma_only.append((t2 - t1) * 1e3)
                exact.append((t3 - t2) * 1e3)
                filtered.append((t4 - t3) * 1e3)
                small.append((t5 - t4) * 1e3)
                if rep == 0:
                    recalls.append(len({h for h, _ in hits} & set(ids[top])) / k)
            e2e_runs.append(e2e)
            chroma_runs.append(chroma_only)
            embed_runs.append(embed_only)
            exact_runs.append(exact)
            filt_runs.append(filtered)
            small_runs.append(small)

        def summary(runs: list[list[float]]) -> dict[str, float]:
            return {
                "p50_ms": round(statistics.median(pct(r, 50) for r in runs), 3),
                "p95_ms": round(statistics.median(pct(r, 95) for r in runs), 3),
                "mean_ms": round(statistics.median(float(np.mean(r)) for r in runs), 3),
            }

        # the query cache: a repeated query string skips the model
        t0 = time.perf_counter()
        for q in queries:
            embedder.encode_query(q)
        cached_ms = (time.perf_counter() - t0) * 1e3 / len(queries)

        results = {
            "catalog_items": n,
            "queries": len(queries),
            "k": k,
            "repeats": args.repeats,
            "model": embedder.model_id,
            "model_load_s": round(load_s, 2),
            "embedding": {
                "seconds": None if embed_s is None else round(embed_s, 2),
                "items_per_s": None if embed_rate is None else round(embed_rate, 1),
                "batch_size": args.batch_size,
                "threads": args.threads or torch.get_num_threads(),
            },
            "chroma_build": {"seconds": round(build_s, 2), "items_per_s": round(n / build_s, 1),
                             "upsert_batch": args.upsert_batch},
            "query_end_to_end": summary(e2e_runs),
            "query_embed_only": summary(embed_runs),
            "query_chroma_only": summary(chroma_runs),
            "query_chroma_filtered_3_departments": summary(filt_runs),
            "filtered_3_departments": sorted(depts),
            "query_chroma_filtered_smallest_department": summary(small_runs),
            "smallest_department": f"{smallest} ({counts[smallest]} items)",
            "query_numpy_exact": summary(exact_runs),
            "query_embed_cached_mean_ms": round(cached_ms, 3),
            "chroma_recall_at_k_vs_exact": round(float(np.mean(recalls)), 4),
            "target_p50_ms": TARGET_P50_MS,
            "meets_target": bool(statistics.median(pct(r, 50) for r in e2e_runs) <= TARGET_P50_MS),
            "machine": {
                "cpus": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
                "query_threads": args.query_threads,
                "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
        }
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    rows = [
        ("model load", f"{results['model_load_s']:.2f} s", ""),
        ("embedding", "-" if embed_rate is None else f"{embed_rate:,.0f} items/s",
         "" if embed_s is None else f"{embed_s:.1f} s for {n:,}"),
        ("chroma build", f"{results['chroma_build']['items_per_s']:,.0f} items/s",
         f"{results['chroma_build']['seconds']:.1f} s"),
    ]
    for label, key in [
        (f"top-{k} end to end", "query_end_to_end"),
        ("  query embedding", "query_embed_only"),
        (f"  chroma top-{k}", "query_chroma_only"),
        (f"chroma top-{k}, 3 depts", "query_chroma_filtered_3_departments"),
        (f"chroma top-{k}, 1 tiny dept", "query_chroma_filtered_smallest_department"),
        (f"numpy exact top-{k}", "query_numpy_exact"),
    ]:
        s = results[key]
        rows.append((label, f"p50 {s['p50_ms']:.2f} ms", f"p95 {s['p95_ms']:.2f} ms"))
    rows.append(("cached query embed", f"{cached_ms:.3f} ms", ""))
    rows.append((f"chroma recall@{k}", f"{results['chroma_recall_at_k_vs_exact']:.3f}", "vs exact cosine"))
    width = max(len(r[0]) for r in rows)
    print()
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:>20}  {c}")
    verdict = "meets" if results["meets_target"] else "MISSES"
    print(f"\nend-to-end top-{k} p50 {results['query_end_to_end']['p50_ms']:.2f} ms {verdict} "
          f"the {TARGET_P50_MS:.0f} ms target (load avg {results['machine']['load_avg_1m']})")
    if args.json:
        write_json(args.json, results)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
