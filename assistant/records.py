"""Records of a conversation: the structured request, bundles, turns and replies.

They are shared by the chain, the UI, the HTTP API's JSON, the logs and the evals; none
re-derives them. `Request` is also the language model's output schema, so its validation
names the field that is wrong.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from retrieval.errors import CartsmithError
from retrieval.records import Evidence, Item

INTENTS = (
    "bundle",       # compose a bundle for anchor items and/or a need or occasion
    "cheaper",      # the same idea, for less money
    "swap",         # replace one bundle item (target) with another
    "remove",       # drop one bundle item (target)
    "add",          # add an item (items / need) to the bundle
    "lock",         # keep one bundle item (target) through later edits
    "more_like",    # more items like one bundle item (target)
    "set_budget",   # change the budget
    "add_to_cart",  # put the bundle, or one item of it (target), in the cart
    "compare",      # compare two items
    "question",     # a question about an item
    "smalltalk",    # greetings, thanks
    "off_topic",    # anything a shop assistant does not do (injection attempts included)
)
EDIT_INTENTS = ("cheaper", "swap", "remove", "add", "lock", "more_like", "set_budget")
MAX_BUDGET = 1_000_000.0
MAX_BUNDLE_SIZE = 10
MAX_QUANTITY = 999  # the cart's own limit per line
MAX_MENTION_CHARS = 120
MAX_PARTY_SIZE = 500


class RequestError(CartsmithError):
    """The structured request is malformed; the message names the field."""


@dataclasses.dataclass(frozen=True)
class Request:
    intent: str
    need: str | None = None
    items: tuple[str, ...] = ()
    budget: float | None = None
    exclude: tuple[str, ...] = ()
    size: int | None = None
    party_size: int | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        if self.intent not in INTENTS:
            raise RequestError(f"intent: {self.intent!r} is not one of {', '.join(INTENTS)}")
        if self.budget is not None and not (0 < self.budget <= MAX_BUDGET and math.isfinite(self.budget)):
            raise RequestError(f"budget: must be between 0 and {MAX_BUDGET:,.0f}, got {self.budget}")
        if self.size is not None and not 1 <= self.size <= MAX_BUNDLE_SIZE:
            raise RequestError(f"size: must be between 1 and {MAX_BUNDLE_SIZE}, got {self.size}")
        if self.party_size is not None and not 1 <= self.party_size <= MAX_PARTY_SIZE:
            raise RequestError(f"party_size: must be between 1 and {MAX_PARTY_SIZE}, got {self.party_size}")
        for name in ("need", "target"):
            value = getattr(self, name)
            if value is not None and len(value) > MAX_MENTION_CHARS:
                raise RequestError(f"{name}: longer than {MAX_MENTION_CHARS} characters")
        for name in ("items", "exclude"):
            values = getattr(self, name)
            if len(values) > 8:
                raise RequestError(f"{name}: at most 8 entries, got {len(values)}")
            for value in values:
                if not value or len(value) > MAX_MENTION_CHARS:
                    raise RequestError(f"{name}: each entry must have 1 to {MAX_MENTION_CHARS} characters")

    def to_dict(self) -> dict[str, Any]:
        """Compact form (empty fields omitted): also the language model's target text."""
        out: dict[str, Any] = {"intent": self.intent}
        for field in dataclasses.fields(self):
            if field.name == "intent":
                continue
            value = getattr(self, field.name)
            if value is None or value == ():
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            out[field.name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(", ", ": "))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Request:
        if not isinstance(data, Mapping):
            raise RequestError("expected a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RequestError(f"unknown field(s) {', '.join(unknown)}")
        if "intent" not in data:
            raise RequestError("intent: missing")
        values: dict[str, Any] = {"intent": str(data["intent"])}
        for name in ("need", "target"):
            if data.get(name) is not None:
                values[name] = str(data[name]).strip() or None
        for name in ("items", "exclude"):
            raw = data.get(name)
            if raw is None:
                continue
            if isinstance(raw, str):
                raw = [raw]
            if not isinstance(raw, list):
                raise RequestError(f"{name}: expected a list of strings")
            values[name] = tuple(str(v).strip() for v in raw if str(v).strip())
        for name, kind in (("budget", float), ("size", int), ("party_size", int)):
            raw = data.get(name)
            if raw is None:
                continue
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise RequestError(f"{name}: expected a number")
            try:
                number = float(str(raw).strip().lstrip("£$€"))
            except ValueError:
                raise RequestError(f"{name}: {raw!r} is not a number") from None
            if kind is int and not number.is_integer():
                raise RequestError(f"{name}: expected a whole number, got {raw!r}")
            values[name] = kind(number)
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class BundleItem:
    item: Item
    reasons: tuple[Evidence, ...] = ()
    role: str = "complement"  # "anchor" (what the shopper named) or "complement"
    locked: bool = False
    score: float = 0.0
    # Units to buy: 6 cups for six guests. Prices stay per unit; `cost` is what the line adds.
    quantity: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.quantity <= MAX_QUANTITY:
            raise CartsmithError(f"quantity: must be between 1 and {MAX_QUANTITY}, got {self.quantity}")

    @property
    def cost(self) -> float:
        """quantity x unit price (an unpriced item adds nothing), computed by code."""
        return round(self.quantity * (self.item.price or 0.0), 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item.item_id,
            "title": self.item.title,
            "price": self.item.price,
            "quantity": self.quantity,
            "line_total": self.cost,
            "category": self.item.category,
            "role": self.role,
            "locked": self.locked,
            "reasons": [r.text for r in self.reasons],
            "evidence": [r.to_dict() for r in self.reasons],
        }


@dataclasses.dataclass(frozen=True)
class BundleDiff:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    total_before: float | None = None

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed

    def to_dict(self) -> dict[str, Any]:
        return {"added": list(self.added), "removed": list(self.removed), "total_before": self.total_before}


@dataclasses.dataclass(frozen=True)
class Bundle:
    items: tuple[BundleItem, ...]
    need: str | None = None
    budget: float | None = None
    diff: BundleDiff = BundleDiff()
    tier: str | None = None  # "good" | "better" | "best" when tiers were asked for

    @property
    def total(self) -> float:
        """Computed by code from catalog prices, never by the language model."""
        return round(sum(bi.cost for bi in self.items), 2)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(bi.item.item_id for bi in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [bi.to_dict() for bi in self.items],
            "total": self.total,
            "need": self.need,
            "budget": self.budget,
            "diff": self.diff.to_dict(),
            "tier": self.tier,
        }


REPLY_KINDS = ("bundle", "clarify", "answer", "refusal", "smalltalk", "no_match", "cart", "error")


@dataclasses.dataclass(frozen=True)
class CartLine:
    item_id: str
    title: str
    price: float | None
    quantity: int = 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Reply:
    """What one turn gives back to every surface."""

    text: str
    kind: str
    request: Request | None = None
    bundle: Bundle | None = None
    cart: tuple[CartLine, ...] = ()
    alternatives: tuple[Item, ...] = ()
    timings: Mapping[str, float] = dataclasses.field(default_factory=dict)
    tokens_generated: int = 0
    prompt_tokens: int = 0  # fed to the model this turn (parse and write, every attempt)
    tiers: Mapping[str, Bundle] = dataclasses.field(default_factory=dict)  # "budget", "standard", "premium"
    writer: str = "template"  # "model" when the language model's wording passed the guard; "model+template" when the template worded some of its lines
    read_by: str = "model"  # who read the message: "model" (parsed), "words" (words_first: not decoded), "guard" (answered before reading)

    def __post_init__(self) -> None:
        if self.kind not in REPLY_KINDS:
            raise ValueError(f"reply kind {self.kind!r} is not one of {REPLY_KINDS}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "reply": self.text,
            "kind": self.kind,
            "request": self.request.to_dict() if self.request else None,
            "bundle": self.bundle.to_dict() if self.bundle else None,
            "total": self.bundle.total if self.bundle else None,
            "cart": [line.to_dict() for line in self.cart],
            "alternatives": [{"item_id": it.item_id, "title": it.title, "price": it.price}
                             for it in self.alternatives],
            "timings": dict(self.timings),
            "tokens_generated": self.tokens_generated,
            "prompt_tokens": self.prompt_tokens,
            "tiers": {name: tier.to_dict() for name, tier in self.tiers.items()},
            "writer": self.writer,
            "read_by": self.read_by,
        }


@dataclasses.dataclass(frozen=True)
class Turn:
    """One exchange as stored: the shopper's text is stored redacted (no PII)."""

    user_text: str
    reply: Reply
    at: float
