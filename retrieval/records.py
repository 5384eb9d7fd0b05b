"""Small records shared by every layer: items, evidence, candidates, queries.

The UI, the API's JSON, the logs and the evals all read these; none re-derives them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class Item:
    item_id: str
    title: str
    price: float | None = None
    description: str = ""
    category: str = ""
    brand: str = ""
    attributes: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False, compare=True)

    def text(self) -> str:
        """The text embedded for retrieval: title, category, brand, description, attributes."""
        parts = [self.title]
        if self.category:
            parts.append(f"category: {self.category}")
        if self.brand:
            parts.append(f"brand: {self.brand}")
        if self.description and self.description != self.title:
            parts.append(self.description)
        parts.extend(f"{k}: {v}" for k, v in sorted(self.attributes.items()) if v)
        return ". ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["attributes"] = dict(self.attributes)
        return data


@dataclasses.dataclass(frozen=True)
class Evidence:
    """Why a candidate was proposed, in words and in the numbers behind the words.

    kind: co_purchase | association_rule | similar_items | similar_shoppers |
          taste_profile | similar_text | popular | next_item | blend
    """

    kind: str
    text: str
    numbers: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "numbers": dict(self.numbers)}


@dataclasses.dataclass(frozen=True)
class Candidate:
    item_id: str
    score: float
    source: str
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "score": self.score,
            "source": self.source,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclasses.dataclass(frozen=True)
class PriceRange:
    low: float | None = None
    high: float | None = None

    def admits(self, price: float | None) -> bool:
        if price is None:
            return self.low is None and self.high is None
        if self.low is not None and price < self.low:
            return False
        return not (self.high is not None and price > self.high)


@dataclasses.dataclass(frozen=True)
class Query:
    """What a candidate source is asked: seed items and/or a text need, for a user.

    `seed_items` are the anchors (cart, viewed item, revealed basket half); `text` is a
    free-text need ("picnic for four"). `exclude` items are never returned; seeds are
    never returned either. `categories` and `price` filter the result.
    """

    seed_items: tuple[str, ...] = ()
    text: str | None = None
    user_id: str | None = None
    exclude: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    price: PriceRange = PriceRange()
