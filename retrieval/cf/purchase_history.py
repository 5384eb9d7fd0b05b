"""What a customer had bought before a basket: the context the Transformer reads next to it.

A `PurchaseHistory` holds the distinct items of a customer's earlier baskets, most recently
bought first, each with two facts a shop owner would name: in how many earlier baskets it
was (`counts`) and how many baskets ago it was last bought (`since`, 0 = the latest basket).
`histories` walks the training baskets in time order and gives, for every basket, the
history before it, and for every customer, the history after all their training baskets
(what a returning customer's next visit starts from).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..catalog import BasketData

# Buckets of the two facts, read by the model as small embeddings: 0 marks a token of the
# current basket (or padding), 1.. the history's buckets.
N_BUCKETS = 8


@dataclasses.dataclass(frozen=True)
class PurchaseHistory:
    items: np.ndarray  # distinct item indices, most recently bought first
    counts: np.ndarray  # earlier baskets holding the item
    since: np.ndarray  # baskets since it was last bought (0 = the latest)

    def __len__(self) -> int:
        return len(self.items)

    def repeat_features(self) -> np.ndarray:
        """(len, 2) float32: log(1 + count) and 1 / (1 + baskets since), the repeat-purchase
        signals the model weighs with gates it learns."""
        return np.stack([np.log1p(self.counts), 1.0 / (1.0 + self.since)], axis=1).astype(np.float32)

    def count_buckets(self) -> np.ndarray:
        return np.minimum(self.counts, N_BUCKETS).astype(np.int64)  # counts are >= 1

    def since_buckets(self) -> np.ndarray:
        return np.minimum(self.since + 1, N_BUCKETS).astype(np.int64)


def histories(data: BasketData) -> tuple[list[PurchaseHistory | None], dict[int, PurchaseHistory]]:
    """(before each training basket, after each customer's last one): None where the basket
    has no known customer or the customer had bought nothing before it."""
    m = data.baskets
    state: dict[int, dict[int, list[int]]] = {}  # user -> item -> [count, ordinal of last basket]
    seen: dict[int, int] = {}  # user -> baskets so far
    before: list[PurchaseHistory | None] = []
    for row in range(m.shape[0]):
        user = int(data.basket_users[row]) if len(data.basket_users) else -1
        if user < 0:
            before.append(None)
            continue
        items = state.setdefault(user, {})
        n = seen.get(user, 0)
        before.append(_snapshot(items, n) if items else None)
        for item in m.indices[m.indptr[row]:m.indptr[row + 1]].tolist():
            entry = items.setdefault(item, [0, n])
            entry[0] += 1
            entry[1] = n
        seen[user] = n + 1
    after = {user: _snapshot(items, seen[user]) for user, items in state.items() if items}
    return before, after


def _snapshot(items: dict[int, list[int]], n_baskets: int) -> PurchaseHistory:
    keys = np.fromiter(items.keys(), dtype=np.int64, count=len(items))
    values = np.array(list(items.values()), dtype=np.int64).reshape(-1, 2)
    counts, since = values[:, 0], n_baskets - 1 - values[:, 1]
    order = np.lexsort((-counts, since))  # most recent first, then the most often bought
    return PurchaseHistory(keys[order], counts[order], since[order])
