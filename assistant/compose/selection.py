"""The exact selection under a budget: `best_subset`, a dynamic programme over (item count,
cost in pennies) with per-group caps (at most k items of one category)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np


def best_subset(scores: Sequence[float] | np.ndarray, costs: Sequence[int] | np.ndarray,
                groups: Sequence[Hashable | None], size: int, budget: int | None = None,
                caps: Mapping[Any, int] | None = None) -> list[int]:
    """Exact selection: the most items (up to `size`) whose total cost (integer pennies) is
    <= `budget` and that hold at most `caps[g]` items of each group g (labels without a cap,
    and None, are free), maximising the total score among those; positions, ascending.

    A dynamic programme over (item count, cost in pennies), vectorised over the cost axis:
    each capped group is one stage choosing one of its subsets of <= cap items (after
    dropping items dominated, cheaper-and-better, by >= cap others of their group, which
    never changes the optimum), every other item is a 0/1 stage. Ties keep the cheaper set.
    """
    values = np.asarray(scores, dtype=np.float64)
    n = len(values)
    caps = caps or {}
    if budget is None:
        cost = np.zeros(n, dtype=np.int64)
        limit = 0
    else:
        cost = np.asarray(costs, dtype=np.int64)
        limit = max(int(budget), -1)
    usable = [i for i in range(n) if limit >= 0 and cost[i] <= limit and np.isfinite(values[i])]
    if size <= 0 or not usable:
        return []
    if budget is not None:  # no set of `size` usable items costs more than this
        limit = min(limit, int(np.sort(cost[usable])[::-1][:size].sum()))
    stages: list[list[tuple[tuple[int, ...], int, float]]] = []
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i in usable:
        label = groups[i]
        if label is not None and label in caps and caps[label] < size:
            members[label].append(i)
        else:
            stages.append([((i,), int(cost[i]), float(values[i]))])
    for label in sorted(members, key=str):
        cap, group = caps[label], members[label]
        if cap <= 0:
            continue
        if cap >= len(group):
            stages.extend([((i,), int(cost[i]), float(values[i]))] for i in group)
            continue
        kept = [x for x in group if sum(
            1 for y in group if y != x and cost[y] <= cost[x] and values[y] >= values[x]
            and (cost[y] < cost[x] or values[y] > values[x] or y < x)) < cap]
        stages.append([(combo, int(cost[list(combo)].sum()), float(values[list(combo)].sum()))
                       for k in range(1, cap + 1) for combo in itertools.combinations(kept, k)])
    best = np.full((size + 1, limit + 1), -np.inf)
    best[0, 0] = 0.0
    choices = []
    for options in stages:
        new = best.copy()
        choice = np.zeros(best.shape, dtype=np.int32)
        for j, (combo, c, v) in enumerate(options, 1):
            count = len(combo)
            if count > size or c > limit:
                continue
            cand = best[: size + 1 - count, : limit + 1 - c] + v
            region = new[count:, c:]
            better = cand > region
            if better.any():
                region[better] = cand[better]
                choice[count:, c:][better] = j
        choices.append(choice)
        best = new
    for k in range(size, -1, -1):
        if np.isfinite(best[k]).any():
            w = int(np.argmax(best[k]))
            break
    picked: list[int] = []
    for options, choice in zip(reversed(stages), reversed(choices), strict=True):
        j = int(choice[k, w])
        if j:
            combo, c, _ = options[j - 1]
            picked.extend(combo)
            k, w = k - len(combo), w - c
    return sorted(picked)
