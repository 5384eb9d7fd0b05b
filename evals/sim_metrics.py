"""What a simulated conversation leaves (`TurnLog`, `Transcript`) and the metrics of
`cartsmith eval simulate` over many of them: hit@t, turns to the first hit, final-cart
recall (also shopper by shopper against the baseline), violations, latency.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

VIOLATIONS = ("over_budget", "excluded_shown", "reshown_rejected", "unknown_ids")


@dataclasses.dataclass
class TurnLog:
    turn: int
    text: str
    kind: str
    shown: tuple[str, ...]
    new: int  # shown items this shopper had neither seen nor named before
    accepted: tuple[str, ...]
    reshown_accepted: int  # items already in the cart, shown again
    total: float | None
    seconds: float
    violations: dict[str, int]
    request: dict[str, Any] | None = None


@dataclasses.dataclass
class Transcript:
    system: str
    basket_id: str
    user_id: str | None
    opening: str
    named: tuple[str, ...]
    targets: tuple[str, ...]
    budget: float | None
    turns: list[TurnLog]

    @property
    def accepted(self) -> list[str]:
        return [i for t in self.turns for i in t.accepted]

    @property
    def first_hit(self) -> int | None:
        return next((t.turn for t in self.turns if t.accepted), None)

    @property
    def recall(self) -> float:
        return len(set(self.accepted)) / len(self.targets) if self.targets else 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def summarise(transcripts: Sequence[Transcript], max_turns: int = 5) -> dict[str, Any]:
    """hit@t (share of shoppers with an accepted item by turn t), turns to the first hit,
    final-cart recall (accepted / hidden items), violations, latency, what was shown."""
    if not transcripts:
        raise ValueError("no transcripts to summarise")
    n = len(transcripts)
    first = [t.first_hit for t in transcripts]
    out: dict[str, Any] = {f"hit@{k}": round(sum(1 for f in first if f is not None and f <= k) / n, 4)
                           for k in range(1, max_turns + 1)}
    hits = [f for f in first if f is not None]
    out["avg_turns_to_hit"] = round(statistics.fmean(hits), 4) if hits else None
    out["no_hit_share"] = round(1 - len(hits) / n, 4)
    out["final_cart_recall"] = round(statistics.fmean(t.recall for t in transcripts), 4)
    turns = [turn for t in transcripts for turn in t.turns]
    counts = {k: sum(turn.violations[k] for turn in turns) for k in VIOLATIONS}
    out["constraint_violations"] = {**counts, "total": sum(counts.values())}
    seconds = sorted(turn.seconds for turn in turns)
    out["turn_latency_s"] = {"p50": round(statistics.median(seconds), 4),
                             "p95": round(seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))], 4),
                             "mean": round(statistics.fmean(seconds), 4)}
    out["new_items_per_turn"] = round(statistics.fmean(turn.new for turn in turns), 4)
    out["reshown_accepted"] = sum(turn.reshown_accepted for turn in turns)
    out["turns_per_shopper"] = round(len(turns) / n, 4)
    out["reply_kinds"] = dict(sorted(Counter(turn.kind for turn in turns).items()))
    intents = Counter(str(turn.request.get("intent")) for turn in turns if turn.request)
    if intents:  # what the language model read the shopper's turns as
        out["parsed_intents"] = dict(sorted(intents.items()))
    out["n_shoppers"] = n
    return out


def difference(assistant: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float | None]:
    keys = [k for k in assistant if k.startswith("hit@")] + ["final_cart_recall", "avg_turns_to_hit"]
    return {k: None if assistant[k] is None or baseline[k] is None else round(assistant[k] - baseline[k], 4)
            for k in keys}


def paired_recall(ours: Sequence[Transcript], theirs: Sequence[Transcript]) -> dict[str, float | int]:
    """Final-cart recall shopper by shopper (the same baskets and seeds): the mean
    difference, its standard error, and how many shoppers each system served better."""
    by_basket = {t.basket_id: t.recall for t in theirs}
    diffs = [t.recall - by_basket[t.basket_id] for t in ours if t.basket_id in by_basket]
    if not diffs:
        return {"n": 0}
    se = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else 0.0
    return {"mean_difference": round(statistics.fmean(diffs), 4), "standard_error": round(se, 4),
            "assistant_better": sum(d > 0 for d in diffs), "baseline_better": sum(d < 0 for d in diffs),
            "n": len(diffs)}


def report_lines(results: dict[str, Any]) -> list[str]:
    a, b = results["assistant"], results["baseline"]
    diff = difference(a, b)
    lines = [f"{'metric':<20}{'assistant':>11}{'baseline':>11}{'difference':>12}"]
    for key, change in diff.items():
        cells = [f"{'-' if r[key] is None else format(r[key], '.3f'):>11}" for r in (a, b)]
        lines.append(f"{key:<20}{''.join(cells)}{'-' if change is None else format(change, '+.3f'):>12}")
    lines.append(f"{'no_hit_share':<20}{a['no_hit_share']:>11.3f}{b['no_hit_share']:>11.3f}")
    lines.append(f"{'violations':<20}{a['constraint_violations']['total']:>11}"
                 f"{b['constraint_violations']['total']:>11}")
    for r in (a, b):
        who = "assistant" if r is a else "baseline"
        lines.append(f"  {who}: violations {r['constraint_violations']}; turn latency p50 "
                     f"{r['turn_latency_s']['p50']:.3f} s, p95 {r['turn_latency_s']['p95']:.3f} s; "
                     f"{r['new_items_per_turn']:.2f} new items per turn; replies {r['reply_kinds']}")
    paired = a.get("recall_vs_baseline") or {}
    if paired.get("n"):
        lines.append(f"recall shopper by shopper: mean difference {paired['mean_difference']:+.4f} "
                     f"(standard error {paired['standard_error']:.4f}); the assistant better for "
                     f"{paired['assistant_better']}, the baseline for {paired['baseline_better']} of {paired['n']}")
    gap = diff["final_cart_recall"] or 0.0
    verdict = "better than" if gap > 0 else "worse than" if gap < 0 else "level with"
    relative = f" ({gap / b['final_cart_recall']:+.0%})" if b["final_cart_recall"] else ""
    lines.append(f"final-cart recall: the assistant is {verdict} the baseline by {abs(gap):.3f}{relative}")
    return lines
