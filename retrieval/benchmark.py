"""`cartsmith eval baskets`: every candidate source and the blend, measured in one run."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .blend import BlendConfig, BlendSource, fit_blend
from .catalog import Catalog, Interactions
from .cf import make_source
from .content import ContentSource
from .embeddings import Embedder
from .evaluate import METRIC_KS, MethodResult, SplitConfig, evaluate_source, split_interactions
from .sources import ScoringSource
from .storage import cached_embeddings
from .tuning import TuningConfig

log = logging.getLogger(__name__)
# the classical sources: counting, neighbours, factorisation, the catalog's own text
BASELINES = ("popularity", "rules", "item_knn", "user_knn", "als", "bpr", "content")
# what an index blends and `eval baskets` measures by default: the classical sources and the
# Transformer over baskets and purchase histories (#16)
DEFAULT_SOURCES = (*BASELINES, "transformer")
KNOWN_SOURCES = DEFAULT_SOURCES


@dataclasses.dataclass
class BenchmarkResult:
    dataset: str
    split: str
    n_train_lines: int
    n_test_baskets: int
    methods: dict[str, MethodResult]
    fit_seconds: dict[str, float]
    blend_weights: dict[str, float]
    best_baseline: str
    best_classical: str
    blend: str = "blend"
    tuning: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    tuning_seconds: float = 0.0

    @property
    def ratio(self) -> float:
        """The blend's NDCG@10 over the best single source's."""
        return self._over(self.best_baseline)

    @property
    def classical_ratio(self) -> float:
        """The blend's NDCG@10 over the best classical source's (`BASELINES`)."""
        return self._over(self.best_classical)

    def _over(self, name: str) -> float:
        base = self.methods[name].metrics["ndcg@10"]
        return self.methods[self.blend].metrics["ndcg@10"] / base if base > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "split": self.split,
            "n_train_lines": self.n_train_lines,
            "n_test_baskets": self.n_test_baskets,
            "methods": {
                name: {**{k: round(v, 6) for k, v in r.metrics.items()},
                       "ms_per_query": round(r.seconds_per_query * 1000, 3),
                       "fit_seconds": round(self.fit_seconds.get(name, 0.0), 3)}
                for name, r in self.methods.items()
            },
            "best_baseline": self.best_baseline,
            "blend": self.blend,
            "blend_over_best_ndcg@10": round(self.ratio, 4),
            "best_classical": self.best_classical,
            "blend_over_best_classical_ndcg@10": round(self.classical_ratio, 4),
            "blend_weights": self.blend_weights,
            "settings": {name: report.get("chosen", {}) for name, report in self.tuning.items()},
            "tuning": self.tuning,
            "tuning_and_blend_seconds": round(self.tuning_seconds, 1),
        }


def source_factories(catalog: Catalog, embeddings: np.ndarray | None, embedder: Embedder | None,
                     names: tuple[str, ...] = BASELINES) -> dict[str, Callable[[], ScoringSource]]:
    factories: dict[str, Callable[[], ScoringSource]] = {}
    for name in names:
        if name == "content":
            if embeddings is None:
                continue
            factories[name] = functools.partial(ContentSource, embeddings, embedder=embedder)
        else:
            factories[name] = functools.partial(make_source, name)
    return factories


def run_basket_benchmark(
    dataset: str,
    catalog: Catalog,
    interactions: Interactions,
    split_config: SplitConfig,
    *,
    embedder: Embedder | None = None,
    blend_config: BlendConfig | None = None,
    tuning: TuningConfig | None = None,
    methods: tuple[str, ...] = DEFAULT_SOURCES,
    echo: Callable[[str], None] = print,
) -> BenchmarkResult:
    split = split_interactions(catalog, interactions, split_config)
    echo(f"{dataset}: {split.description}; {len(split.train):,} training lines, "
         f"{len(split.cases):,} test baskets")
    embeddings = None
    if "content" in methods:
        embedder = embedder or Embedder()
        embeddings = cached_embeddings(catalog, embedder)
    factories = source_factories(catalog, embeddings, embedder, methods)
    # Each source's settings are chosen and the blend's weights learned on the training
    # period's own validation split; the blend's components, refitted on the whole training
    # period with those settings, are the single sources measured here.
    start = time.perf_counter()
    blend: BlendSource = fit_blend(catalog, split.train, factories, blend_config, split_kind=split_config.kind,
                                   min_items=split_config.min_items, tuning=tuning)
    blend_seconds = time.perf_counter() - start
    results: dict[str, MethodResult] = {}
    fit_seconds: dict[str, float] = {}
    for source in blend.components:
        name = source.name
        fit_seconds[name] = blend.fit_seconds.get(name, 0.0)
        results[name] = evaluate_source(source, split.cases, len(catalog))
        chosen = blend.tuning.get(name, {}).get("chosen") or "defaults"
        echo(f"  {name:<11} ndcg@10 {results[name].metrics['ndcg@10']:.4f}  "
             f"recall@10 {results[name].metrics['recall@10']:.4f}  "
             f"(fit {fit_seconds[name]:.1f}s, {results[name].seconds_per_query * 1000:.1f} ms/query; "
             f"settings {chosen})")
    fit_seconds["blend"] = blend_seconds
    results["blend"] = evaluate_source(blend, split.cases, len(catalog))
    singles = [n for n in results if n != "blend"]
    best = max(singles, key=lambda n: results[n].metrics["ndcg@10"])
    classical = max([n for n in singles if n in BASELINES] or singles, key=lambda n: results[n].metrics["ndcg@10"])
    result = BenchmarkResult(dataset, split.description, len(split.train), len(split.cases), results,
                             fit_seconds, blend.describe(), best, classical, tuning=blend.tuning,
                             tuning_seconds=blend_seconds)
    echo(f"  {'blend':<11} ndcg@10 {results['blend'].metrics['ndcg@10']:.4f}  "
         f"= {result.ratio:.3f} x best single ({best}), {result.classical_ratio:.3f} x best classical "
         f"({classical}); weights {blend.describe()}")
    return result


def write_reports(result: BenchmarkResult, json_path: Path | None, report_dir: Path | None) -> None:
    payload = result.to_json()
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "results.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        (report_dir / "results.md").write_text(markdown_table(result), encoding="utf-8")
        bar_chart(result, report_dir / "ndcg_recall.png")


def markdown_table(result: BenchmarkResult) -> str:
    cols = [f"recall@{METRIC_KS[0]}", f"recall@{METRIC_KS[1]}", "ndcg@10", "hit_rate@10", "precision@10",
            "f1@10", "coverage@10"]
    lines = [
        f"# Basket completion — {result.dataset}",
        "",
        f"{result.split}; {result.n_train_lines:,} training lines; {result.n_test_baskets:,} test baskets "
        "(half of each revealed, the rest ranked over the whole catalog).",
        "",
        "| method | " + " | ".join(cols) + " | ms/query |",
        "|---|" + "---|" * (len(cols) + 1),
    ]
    for name, r in result.methods.items():
        cells = " | ".join(f"{r.metrics[c]:.4f}" for c in cols)
        lines.append(f"| {name} | {cells} | {r.seconds_per_query * 1000:.1f} |")
    lines += ["", f"Blend NDCG@10 = **{result.ratio:.3f} ×** the best single source ({result.best_baseline}), "
              f"{result.classical_ratio:.3f} × the best classical one ({result.best_classical}).",
              f"Blend weights (fitted on a validation split of the training period): {result.blend_weights}", ""]
    return "\n".join(lines)


def bar_chart(result: BenchmarkResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result.methods)
    metrics = ["ndcg@10", "recall@10", "recall@20", "hit_rate@10"]
    x = np.arange(len(names))
    width = 0.2
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for j, metric in enumerate(metrics):
        values = [result.methods[n].metrics[metric] for n in names]
        ax.bar(x + (j - 1.5) * width, values, width, label=metric)
    ax.set_xticks(x, names, rotation=20)
    ax.set_title(f"Basket completion on {result.dataset} ({result.split})")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
