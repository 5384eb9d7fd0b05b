"""Shopper profiles: static part from the interaction log, live session updates, JSON."""

from __future__ import annotations

import json
import types

import numpy as np
import pandas as pd
import pytest

from assistant.compose.profiles import EVENTS, Profile, ProfileBuilder, ProfileError
from retrieval.catalog import Catalog, Interactions
from retrieval.errors import CartsmithError
from retrieval.records import Item

ITEMS = [
    ("T01", "Regency Teapot Roses", 9.95, "teaware"),
    ("T02", "Regency Cakestand 3 Tier", 12.75, "teaware"),
    ("T03", "Roses Regency Teacup and Saucer", 2.95, "teaware"),
    ("T04", "Pack of 60 Pink Paisley Cake Cases", 0.55, "baking"),
    ("L01", "Lunch Bag Red Retrospot", 1.65, "bags"),
    ("L02", "Lunch Bag Pink Polkadot", 1.65, "bags"),
    ("C01", "Christmas Tree Star Decoration", 0.42, "christmas"),
    ("C04", "Christmas Lights 10 Reindeer", 8.50, "lights"),
    ("V01", "Gift Voucher for the Shop", None, "gifts"),
]


@pytest.fixture(scope="module")
def shop() -> types.SimpleNamespace:
    catalog = Catalog([Item(i, t, p, category=c) for i, t, p, c in ITEMS])
    baskets = {
        # U1 loves tea things: 3 baskets
        ("B1", "U1"): ["T01", "T03", "T04"],
        ("B2", "U1"): ["T03", "T02", "T04"],
        ("B3", "U1"): ["T03", "L01", "V01"],
        # U2 buys lunch bags
        ("B4", "U2"): ["L01", "L02"],
        ("B5", "U2"): ["L02", "C01"],
        # an anonymous basket
        ("B6", None): ["C04", "C01"],
    }
    rows = [{"basket_id": b, "item_id": i, "user_id": u, "timestamp": pd.Timestamp("2011-01-01"),
             "quantity": 2.0 if i == "T04" else 1.0}
            for (b, u), items in baskets.items() for i in items]
    return types.SimpleNamespace(catalog=catalog, interactions=Interactions(pd.DataFrame(rows)))


def test_static_profile_from_history(shop: types.SimpleNamespace) -> None:
    builder = ProfileBuilder(shop, top_categories=2, favourites=3)
    profile = builder.build("U1")
    assert profile.user_id == "U1" and profile.known
    assert profile.purchase_count == 3
    assert profile.top_categories == ["teaware", "baking"]
    assert profile.favourite_items[0] == "T03"  # in all three baskets
    assert len(profile.favourite_items) == 3
    prices = [9.95, 12.75, 2.95, 0.55, 1.65]  # distinct priced items U1 bought
    assert profile.price_median == pytest.approx(np.median(prices))
    assert profile.price_p90 == pytest.approx(round(float(np.percentile(prices, 90)), 2))
    assert profile.price_band == (profile.price_median, profile.price_p90)
    empty = builder.build("nobody")
    assert empty.user_id == "nobody" and not empty.known and empty.price_band is None
    assert builder.build(None) == Profile()


def test_observe_updates_the_session_live() -> None:
    profile = Profile(user_id="U1", favourite_items=["T03", "T01"])
    profile.observe("viewed", "L01")
    profile.observe("viewed", "C01")
    profile.observe("viewed", "L01")
    assert profile.viewed == ["C01", "L01"]
    profile.observe("liked", "T02")
    profile.observe("add_to_cart", "C04")
    assert profile.seed_items(history=1) == ("C04", "T02", "T03")
    profile.observe("rejected", "T02")  # rejecting clears a like
    assert profile.liked == [] and profile.rejected == ["T02"]
    profile.observe("swapped_out", "T03")
    assert "T03" not in profile.seed_items()  # rejected items never seed
    profile.observe("added_to_cart", "T03")  # putting it in the cart clears the rejection
    assert "T03" not in profile.rejected and profile.cart == ["C04", "T03"]
    profile.observe("removed_from_cart", "C04")
    assert profile.cart == ["T03"]
    with pytest.raises(ProfileError, match="unknown profile event"):
        profile.observe("bought_a_car", "T01")
    with pytest.raises(CartsmithError):
        profile.observe("viewed", "")
    for _ in range(3):
        for i in range(60):
            profile.observe("viewed", f"X{i}")
    assert len(profile.viewed) == 50 and profile.viewed[-1] == "X59"
    assert set(EVENTS) == {"viewed", "added_to_cart", "removed_from_cart", "rejected", "liked"}


def test_round_trip_through_json(shop: types.SimpleNamespace) -> None:
    profile = ProfileBuilder(shop).build("U2")
    profile.observe("liked", "C01")
    profile.observe("rejected", "L02")
    data = json.loads(json.dumps(profile.to_dict()))
    again = Profile.from_dict(data)
    assert again == profile
    assert Profile.from_dict(Profile().to_dict()) == Profile()
    with pytest.raises(ProfileError, match="unknown field"):
        Profile.from_dict({**data, "shoe_size": 9})
    with pytest.raises(ProfileError, match="cart"):
        Profile.from_dict({**data, "cart": "T01"})
    with pytest.raises(ProfileError, match="format"):
        Profile.from_dict({**data, "format": 99})
    with pytest.raises(ProfileError, match="purchase_count"):
        Profile.from_dict({**data, "purchase_count": -1})


def test_refresh_keeps_the_session(shop: types.SimpleNamespace) -> None:
    builder = ProfileBuilder(shop)
    profile = Profile(user_id="U1")
    profile.observe("rejected", "L01")
    refreshed = builder.refresh(profile)
    assert refreshed.purchase_count == 3 and refreshed.rejected == ["L01"]
    assert profile.purchase_count == 0  # the original is untouched


def test_score_factors_nudge_but_never_filter() -> None:
    profile = Profile(top_categories=["teaware"], price_median=2.0, price_p90=8.0)
    prices = np.array([2.0, 8.0, 16.0, 64.0, 0.1, np.nan])
    cats = ["teaware", "bags", "bags", "bags", "bags", "bags"]
    factors = profile.score_factors(prices, cats, price_weight=0.2, category_weight=0.1)
    assert factors[0] == pytest.approx(1.1)  # top category, in band
    assert factors[1] == pytest.approx(1.0)  # at p90
    assert factors[2] == pytest.approx(0.9)  # 2x p90: half the price weight
    assert factors[3] == pytest.approx(0.8)  # >= 4x p90: all of it
    assert 0.9 <= factors[4] < 1.0  # far below the median: a mild nudge
    assert factors[5] == pytest.approx(1.0)  # unpriced: neutral
    assert (factors > 0).all()
    assert np.allclose(Profile().score_factors(prices, cats), 1.0)
    item = Item("T01", "Regency Teapot Roses", 9.95, category="teaware")
    assert profile.taste_evidence(item).kind == "taste_profile"
