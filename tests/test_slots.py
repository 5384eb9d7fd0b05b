"""Budgets and counts the shopper states are never lost, whatever the model parsed."""

from __future__ import annotations

import pytest

from assistant.records import Request
from assistant.slots import budget_in, complete_slots, count_in


@pytest.mark.parametrize(("text", "budget"), [
    ("a bundle for a tea party under £20", 20.0),
    ("gift set for a tea lover, max 15 quid", 15.0),
    ("something nice up to 30 pounds", 30.0),
    ("budget of £12.50 please", 12.5),
    ("christmas bits about 25 pounds", 25.0),
    ("a picnic set for 4", None),
    ("a teapot", None),
])
def test_budget_in(text: str, budget: float | None) -> None:
    assert budget_in(text) == budget


def test_count_in() -> None:
    assert count_in("3 items for a garden party") == 3
    assert count_in("a few things for my desk") == 3
    assert count_in("five gifts") == 5
    assert count_in("a party for 12 people") is None
    assert count_in("40 things") is None


def test_complete_slots_fills_only_what_is_missing() -> None:
    parsed = Request(intent="bundle", need="tea party under £20")
    done = complete_slots(parsed, "a bundle for a tea party under £20, 3 items")
    assert done.budget == 20.0 and done.size == 3 and done.need == "tea party"
    kept = complete_slots(Request(intent="bundle", need="tea party", budget=18), "tea party under £20")
    assert kept.budget == 18
    chat = complete_slots(Request(intent="smalltalk"), "thanks, £20 was fine")
    assert chat.budget is None


def test_cart_changes_need_the_shoppers_words() -> None:
    from assistant.slots import reconcile_intent

    wrong = Request(intent="add_to_cart", items=("red retrospot lunch bag",))
    fixed = reconcile_intent(wrong, "what goes with the red retrospot lunch bag?")
    assert fixed.intent == "bundle" and fixed.items == ("red retrospot lunch bag",)
    to_cart = reconcile_intent(Request(intent="add", items=("tea party card",)), "add it all to my cart")
    assert to_cart.intent == "add_to_cart" and to_cart.items == ()
    same = Request(intent="add_to_cart", target="2")
    assert reconcile_intent(same, "put number 2 in my basket") == same


def test_money_phrases_are_not_items() -> None:
    parsed = Request(intent="bundle", items=("christmas decorations for my tree", "about 15 pounds"), budget=15)
    done = complete_slots(parsed, "christmas decorations for my tree, about 15 pounds")
    assert done.items == ("christmas decorations for my tree",) and done.budget == 15


def test_need_from_text() -> None:
    from assistant.slots import need_from_text

    assert need_from_text("garden party things, 4 items") == "garden party things"
    assert need_from_text("a tea party under £20") == "a tea party"
