"""Each candidate source's key settings chosen per shop, on the shop's own validation split.

The defaults of `item_knn` (pairs seen in two baskets or more, shrinkage 5) suit a shop with
thousands of baskets a day; on a catalog of small, sparse bundles, where most pairs are seen
once, they drop almost every pair and the source collapses. So before the blend learns its
weights, every source with settings to choose is fitted on the training period less its
validation split with each of a few settings from `SETTINGS_TRIED` (its defaults first), and
scored by NDCG@10 on the validation baskets. A setting replaces the defaults only when it
beats them by more than `min_gain_se` standard errors of the per-basket difference (paired, on
the same baskets): a few hundred validation baskets move a mean by noise, and a choice made
on noise does not carry to the test period. Of the settings that clear that bar, the best
mean is kept. Every source always has its defaults measured
first; then trials go round the sources one setting at a time within `budget_seconds`, so one
slow source cannot starve the others, and a trial that would not end within the budget (it
is expected to take as long as the source's defaults took) is not started. The test period
is never seen: the split is the blend's own.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .catalog import BasketData
from .config import Config, check
from .evaluate import EvalCase, ranked_ids, ranking_metrics
from .sources import ScoringSource

log = logging.getLogger(__name__)
Settings = Mapping[str, Any]
SettingsFactory = Callable[[Settings], ScoringSource]

# The settings each source is tried with, its defaults ({}) first: the thresholds and the
# shrinkage that decide which pairs count, how many neighbours, the factors and the
# regularisation, the Transformer's size.
SETTINGS_TRIED: dict[str, tuple[dict[str, Any], ...]] = {
    "item_knn": ({}, {"min_co_baskets": 1}, {"min_co_baskets": 1, "shrinkage": 0.0},
                 {"min_co_baskets": 1, "shrinkage": 1.0, "basket_weighting": "none"}, {"shrinkage": 20.0},
                 {"neighbours": 300}),
    "rules": ({}, {"min_support": 1}, {"min_support": 2}, {"min_support": 1, "min_lift": 0.0}, {"min_support": 6}),
    "user_knn": ({}, {"neighbours": 30}, {"neighbours": 300}, {"weighting": "binary"}),
    "als": ({}, {"factors": 64}, {"factors": 64, "regularization": 0.5}, {"factors": 32}, {"regularization": 0.5},
            {"iterations": 30}),
    "bpr": ({}, {"factors": 32}, {"learning_rate": 0.1}, {"iterations": 100}),
    "transformer": ({}, {"dim": 32}, {"dim": 128}),
}


@dataclasses.dataclass(frozen=True)
class TuningConfig(Config):
    """budget_seconds: the time the trials of settings other than the defaults may take, all
    together, after the defaults are measured (0: every source keeps its defaults);
    max_baskets: the validation baskets each trial is scored on; min_gain_se: how many standard errors of the paired per-basket difference a setting must
    beat the defaults by."""

    budget_seconds: float = 60.0
    max_baskets: int = 500
    min_gain_se: float = 1.0

    def validate(self) -> None:
        check(self.budget_seconds >= 0, "tuning.budget_seconds", "must be 0 or more")
        check(self.max_baskets >= 10, "tuning.max_baskets", "must be at least 10")
        check(self.min_gain_se >= 0, "tuning.min_gain_se", "must be 0 or more")


@dataclasses.dataclass
class Trial:
    settings: dict[str, Any]
    per_basket: np.ndarray  # NDCG@10 of each validation basket
    seconds: float
    gain_se: float = 0.0    # its paired gain over the defaults, in standard errors

    @property
    def ndcg(self) -> float:
        return float(self.per_basket.mean()) if len(self.per_basket) else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"settings": self.settings, "validation_ndcg@10": round(self.ndcg, 4),
                "gain_in_standard_errors": round(min(self.gain_se, 999.0), 2), "seconds": round(self.seconds, 2)}


@dataclasses.dataclass
class SourceTuning:
    """What one source was tried with and what it keeps (its best fitted trial included)."""

    trials: list[Trial]
    best: int = 0
    fitted: ScoringSource | None = None

    @property
    def chosen(self) -> dict[str, Any]:
        return self.trials[self.best].settings

    def to_json(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "trials": [t.to_json() for t in self.trials]}


def tune_sources(makers: Mapping[str, SettingsFactory], data: BasketData, cases: Sequence[EvalCase],
                 config: TuningConfig | None = None) -> dict[str, SourceTuning]:
    """Fit every source of `makers` on `data` with its defaults and, within the budget, with
    its other `SETTINGS_TRIED`; score each on `cases` (NDCG@10). Sources without settings to
    try (popularity, content) get their defaults only."""
    config = config or TuningConfig()
    cases = list(cases)[:config.max_baskets]  # the split's cases are already a seeded sample
    tried = {name: SETTINGS_TRIED.get(name, ({},)) for name in makers}
    tuning = {name: SourceTuning([]) for name in makers}
    start = time.perf_counter()
    for step in range(max(len(options) for options in tried.values())):
        if step == 1:  # the defaults are always measured: the budget is for the other settings
            start = time.perf_counter()
        for name, make in makers.items():
            if step >= len(tried[name]) or (step > 0 and not _fits_in_budget(tuning[name], start, config)):
                continue
            settings = dict(tried[name][step])
            began = time.perf_counter()
            source = make(settings).fit(data)
            trial = Trial(settings, _per_basket_ndcg(source, cases), time.perf_counter() - began)
            found = tuning[name]
            if found.trials:
                trial.gain_se = _gain_in_standard_errors(trial.per_basket, found.trials[0].per_basket)
            found.trials.append(trial)
            clears = trial.gain_se > config.min_gain_se
            if found.fitted is None or (clears and trial.ndcg > found.trials[found.best].ndcg + 1e-9):
                found.best, found.fitted = len(found.trials) - 1, source
    for name, found in tuning.items():
        if len(found.trials) > 1:
            log.info("%s: settings %s (validation NDCG@10 %.4f; defaults %.4f)", name, found.chosen,
                     found.trials[found.best].ndcg, found.trials[0].ndcg)
    return tuning


def _fits_in_budget(found: SourceTuning, start: float, config: TuningConfig) -> bool:
    """Whether another trial of a source, taking as long as its defaults took, ends within the
    budget: a source whose one fit outlasts the budget (a Transformer on a large shop) keeps
    its defaults instead of overrunning the build."""
    return time.perf_counter() - start + found.trials[0].seconds <= config.budget_seconds


def _per_basket_ndcg(source: ScoringSource, cases: Sequence[EvalCase]) -> np.ndarray:
    return np.asarray([ranking_metrics(ranked_ids(source, case.query, 10), case.hidden, (10,))["ndcg@10"]
                       for case in cases], dtype=np.float64)


def _gain_in_standard_errors(trial: np.ndarray, defaults: np.ndarray) -> float:
    """The mean paired gain over the defaults divided by its standard error (0 when there is
    no gain or too few baskets; a sure gain with no spread counts as large)."""
    if len(trial) < 2:
        return 0.0
    diff = trial - defaults
    mean = float(diff.mean())
    if mean <= 0:
        return 0.0
    error = float(diff.std(ddof=1)) / np.sqrt(len(diff))
    return mean / error if error > 0 else float("inf")
