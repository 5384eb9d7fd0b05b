"""Shopper profiles: a static part learnt from past purchases, a dynamic part from this session.

The static part (`ProfileBuilder.build(user_id)`) summarises a known shopper's history:
their top categories, their price band (median and 90th percentile of the prices of the
items they bought), how many purchases (baskets) they made and their favourite items.
The dynamic part is updated live with `observe(event, item_id)`: items viewed, added to or
removed from the cart, rejected (removed from or swapped out of a bundle) and liked.

The composer uses a profile three ways: `seed_items()` are extra seeds for the
collaborative-filtering sources (cart + liked + a few favourites), `rejected` items are
never proposed again, and `score_factors` nudges candidate scores towards the shopper's
price band and categories (a nudge, never a filter). `to_dict`/`from_dict` round-trip
through JSON, so the profile can be persisted anywhere.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from retrieval.catalog import Catalog, Interactions
from retrieval.errors import CartsmithError
from retrieval.records import Evidence, Item

PROFILE_FORMAT = 1
EVENTS = ("viewed", "added_to_cart", "removed_from_cart", "rejected", "liked")
_ALIASES = {
    "view": "viewed",
    "add_to_cart": "added_to_cart",
    "cart": "added_to_cart",
    "remove_from_cart": "removed_from_cart",
    "reject": "rejected",
    "removed": "rejected",
    "swapped_out": "rejected",
    "like": "liked",
}
MAX_SESSION_ITEMS = 50  # each dynamic list keeps its most recent entries
_LISTS = ("top_categories", "favourite_items", "viewed", "cart", "rejected", "liked")


class ProfileError(CartsmithError):
    """A profile event or a stored profile is malformed; the message says which part."""


def _push(items: list[str], item_id: str) -> None:
    """Append (moving an existing entry to the end) and keep the newest entries."""
    if item_id in items:
        items.remove(item_id)
    items.append(item_id)
    del items[:-MAX_SESSION_ITEMS]


def _drop(items: list[str], item_id: str) -> None:
    if item_id in items:
        items.remove(item_id)


@dataclasses.dataclass
class Profile:
    """One shopper: static history summary + live session state (mutable, JSON-able)."""

    user_id: str | None = None
    # static part, from the interaction log
    top_categories: list[str] = dataclasses.field(default_factory=list)
    price_median: float | None = None
    price_p90: float | None = None
    purchase_count: int = 0
    favourite_items: list[str] = dataclasses.field(default_factory=list)
    # dynamic part, from this session
    viewed: list[str] = dataclasses.field(default_factory=list)
    cart: list[str] = dataclasses.field(default_factory=list)
    rejected: list[str] = dataclasses.field(default_factory=list)
    liked: list[str] = dataclasses.field(default_factory=list)

    # -- live updates ---------------------------------------------------------------------
    def observe(self, event: str, item_id: str) -> None:
        """Record one session event. Events: viewed, added_to_cart, removed_from_cart,
        rejected (removed from or swapped out of a bundle), liked (aliases such as "reject"
        or "add_to_cart" are accepted). Adding to the cart or liking clears a rejection;
        rejecting clears a like."""
        kind = _ALIASES.get(event, event)
        if kind not in EVENTS:
            raise ProfileError(f"unknown profile event {event!r}; known: {', '.join(EVENTS)}")
        if not isinstance(item_id, str) or not item_id:
            raise ProfileError(f"{kind}: item id must be a non-empty string, got {item_id!r}")
        if kind == "viewed":
            _push(self.viewed, item_id)
        elif kind == "added_to_cart":
            _push(self.cart, item_id)
            _drop(self.rejected, item_id)
        elif kind == "removed_from_cart":
            _drop(self.cart, item_id)
        elif kind == "rejected":
            _push(self.rejected, item_id)
            _drop(self.liked, item_id)
        else:
            _push(self.liked, item_id)
            _drop(self.rejected, item_id)

    # -- what the composer reads ----------------------------------------------------------
    def seed_items(self, history: int = 3, limit: int = 10) -> tuple[str, ...]:
        """Seeds for collaborative filtering: cart, then liked, then `history` favourites;
        rejected items never seed. At most `limit` ids, no repeats."""
        rejected = set(self.rejected)
        ordered = [*self.cart, *self.liked, *self.favourite_items[: max(0, history)]]
        out = [i for i in dict.fromkeys(ordered) if i not in rejected]
        return tuple(out[:limit])

    @property
    def price_band(self) -> tuple[float, float] | None:
        """(median, 90th percentile) of the prices this shopper usually pays, if known."""
        if self.price_median is None or self.price_p90 is None:
            return None
        return (self.price_median, self.price_p90)

    @property
    def known(self) -> bool:
        """True when the static part came from a purchase history."""
        return self.purchase_count > 0

    def score_factors(self, prices: np.ndarray, categories: Sequence[str], *,
                      price_weight: float = 0.15, category_weight: float = 0.10) -> np.ndarray:
        """Multiplicative nudges for candidate scores (1.0 = neutral), never zero.

        Prices above the shopper's p90 lose up to `price_weight` (all of it at 4x p90);
        prices under a quarter of their median lose up to half that; items in one of their
        top categories gain `category_weight`. Unpriced items are not nudged on price.
        """
        prices = np.asarray(prices, dtype=np.float64)
        factors = np.ones(len(prices), dtype=np.float64)
        band = self.price_band
        if band is not None and price_weight > 0 and band[1] > 0 and band[0] > 0:
            median, p90 = band
            with np.errstate(divide="ignore", invalid="ignore"):
                above = np.clip(np.log2(prices / p90) / 2.0, 0.0, 1.0)
                floor = median / 4.0
                below = np.clip(np.log2(floor / prices) / 2.0, 0.0, 1.0)
            above = np.where(np.isfinite(above), above, 0.0)
            below = np.where(np.isfinite(below) & (prices > 0), below, 0.0)
            factors -= price_weight * above + 0.5 * price_weight * below
        if self.top_categories and category_weight > 0:
            top = set(self.top_categories)
            factors += category_weight * np.array([c in top for c in categories], dtype=np.float64)
        return factors

    def taste_evidence(self, item: Item) -> Evidence | None:
        """Why this item suits this shopper, when the static profile says so."""
        if item.category and item.category in self.top_categories:
            return Evidence("taste_profile", f"you often buy {item.category}",
                            {"category_rank": float(self.top_categories.index(item.category) + 1)})
        band = self.price_band
        if band is not None and item.price is not None and band[0] / 4.0 <= item.price <= band[1]:
            return Evidence("taste_profile",
                            f"in your usual price range (up to £{band[1]:.2f})",
                            {"price": item.price, "p90": band[1]})
        return None

    # -- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["format"] = PROFILE_FORMAT
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        if not isinstance(data, Mapping):
            raise ProfileError("a stored profile must be a JSON object")
        values = dict(data)
        fmt = values.pop("format", PROFILE_FORMAT)
        if fmt != PROFILE_FORMAT:
            raise ProfileError(f"stored profile format {fmt!r} is not {PROFILE_FORMAT}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ProfileError(f"stored profile has unknown field(s) {', '.join(unknown)}")
        for name in _LISTS:
            raw = values.get(name, [])
            if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
                raise ProfileError(f"{name}: expected a list of strings")
            values[name] = list(raw)
        for name in ("price_median", "price_p90"):
            raw = values.get(name)
            if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float)
                                    or not math.isfinite(raw)):
                raise ProfileError(f"{name}: expected a number or null")
            values[name] = None if raw is None else float(raw)
        count = values.get("purchase_count", 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ProfileError("purchase_count: expected a non-negative whole number")
        user = values.get("user_id")
        if user is not None and not isinstance(user, str):
            raise ProfileError("user_id: expected a string or null")
        return cls(**values)

    def with_static(self, static: Profile) -> Profile:
        """A copy with `static`'s history summary and this profile's session state."""
        return dataclasses.replace(
            self, user_id=static.user_id or self.user_id, top_categories=list(static.top_categories),
            price_median=static.price_median, price_p90=static.price_p90,
            purchase_count=static.purchase_count, favourite_items=list(static.favourite_items),
            viewed=list(self.viewed), cart=list(self.cart), rejected=list(self.rejected),
            liked=list(self.liked))


class _HasLog(Protocol):
    catalog: Catalog
    interactions: Interactions


class ProfileBuilder:
    """Builds static profiles from an index's interaction log (`ShopIndex` or alike).

    >>> builder = ProfileBuilder(index)
    >>> profile = builder.build("17850")       # unknown ids give an empty profile
    """

    def __init__(self, index: _HasLog, *, top_categories: int = 3, favourites: int = 5) -> None:
        self.catalog = index.catalog
        self.interactions = index.interactions
        self.n_top = top_categories
        self.n_favourites = favourites
        self._rows: dict[str, np.ndarray] | None = None
        self._forgotten: set[str] = set()

    def _user_rows(self, user_id: str) -> np.ndarray:
        if self._rows is None:
            users = self.interactions.frame["user_id"]
            known = users.notna().to_numpy()
            positions = np.flatnonzero(known)
            keys = users[known].astype(str).to_numpy()
            groups = pd.Series(positions).groupby(keys).indices
            self._rows = {str(k): positions[v] for k, v in groups.items()}
        return self._rows.get(str(user_id), np.empty(0, dtype=np.int64))

    def history_of(self, user_id: str) -> tuple[int, int]:
        """(baskets, lines) of `user_id`'s purchase history in this log."""
        rows = self._user_rows(user_id)
        baskets = self.interactions.frame["basket_id"].iloc[rows].nunique() if len(rows) else 0
        return int(baskets), len(rows)

    def forget(self, user_id: str) -> tuple[int, int]:
        """Build no profile from `user_id`'s history from now on; returns the (baskets, lines)
        that were theirs."""
        removed = self.history_of(user_id)
        self._forgotten.add(str(user_id))
        return removed

    def build(self, user_id: str | None) -> Profile:
        """The static profile of `user_id` (an empty profile for unknown, absent or forgotten users)."""
        if user_id is None or str(user_id) in self._forgotten:
            return Profile()
        rows = self._user_rows(user_id)
        profile = Profile(user_id=str(user_id))
        if not len(rows):
            return profile
        frame = self.interactions.frame.iloc[rows]
        frame = frame[frame["item_id"].isin(self.catalog.index_of.keys())]
        if frame.empty:
            return profile
        profile.purchase_count = int(frame["basket_id"].nunique())
        per_item = (frame.groupby("item_id", sort=True)
                    .agg(baskets=("basket_id", "nunique"), quantity=("quantity", "sum")))
        per_item = per_item.reset_index().sort_values(
            ["baskets", "quantity", "item_id"], ascending=[False, False, True], kind="stable")
        profile.favourite_items = per_item["item_id"].astype(str).head(self.n_favourites).tolist()
        positions = self.catalog.indices(per_item["item_id"].astype(str), strict=False)
        prices = self.catalog.prices[positions]
        prices = prices[np.isfinite(prices)]
        if len(prices):
            profile.price_median = round(float(np.median(prices)), 2)
            profile.price_p90 = round(float(np.percentile(prices, 90)), 2)
        counts: dict[str, int] = {}
        for pos, baskets in zip(positions, per_item["baskets"], strict=True):
            category = self.catalog.items[pos].category
            if category:
                counts[category] = counts.get(category, 0) + int(baskets)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        profile.top_categories = [c for c, _ in ranked[: self.n_top]]
        return profile

    def refresh(self, profile: Profile) -> Profile:
        """Rebuild the static part of `profile` (its session state is kept)."""
        return profile.with_static(self.build(profile.user_id))
