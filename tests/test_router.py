"""The router is an ordered table (`assistant.dialogue.router.ROUTES`): its order is the
policy, and each route serves the example it names, on the real default shop."""

from __future__ import annotations

import pytest

from assistant.compose.composer import BundleComposer
from assistant.dialogue.actions import Actions
from assistant.dialogue.router import ROUTES, route
from assistant.dialogue.session import ConversationState
from assistant.records import Request
from assistant.understand.slots import complete_slots, reconcile_intent
from retrieval.shop_index import ShopIndex, ensure_default_index


@pytest.fixture(scope="module")
def actions() -> Actions:
    index = ShopIndex.load(ensure_default_index())
    return Actions(index, BundleComposer(index))


def test_the_shoppers_words_come_before_the_parsed_intent() -> None:
    assert [r.name for r in ROUTES] == [
        "cart question", "exclusion only", "things wanted whatever the parse", "price tiers", "a tier taken",
        "comparison", "typed stock code",
        "chat or off-topic", "the cheapest of something new", "money for the bundle on screen", "new bundle", "edit", "cart", "question"]
    assert ROUTES[-1].when(None, Request(intent="question"), None, "")  # type: ignore[arg-type]


# (route, what a small parser may have made of its example, whether a bundle is on screen)
PARSES = {
    "cart question": (Request(intent="bundle", need="cart"), False),
    "exclusion only": (Request(intent="bundle", exclude=("candles",)), True),
    "things wanted whatever the parse": (Request(intent="question"), True),
    "price tiers": (Request(intent="cheaper"), True),
    "a tier taken": (Request(intent="more_like", target="premium"), True),
    "comparison": (Request(intent="question", items=("mug", "teapot")), True),
    "typed stock code": (Request(intent="smalltalk"), False),
    "chat or off-topic": (Request(intent="smalltalk"), False),
    "the cheapest of something new": (Request(intent="cheaper"), False),
    "money for the bundle on screen": (Request(intent="bundle", need="a tenner", budget=10), True),
    "new bundle": (Request(intent="bundle", need="tea party", budget=40, party_size=6), False),
    "edit": (Request(intent="swap", target="middle"), True),
    "cart": (Request(intent="add_to_cart"), True),
    "question": (Request(intent="question", target="mug"), True),
}


@pytest.mark.parametrize("entry", ROUTES, ids=lambda r: r.name)
def test_each_route_serves_its_example(actions: Actions, entry) -> None:
    parsed, on_screen = PARSES[entry.name]
    state = ConversationState(f"router-{entry.name}")
    if on_screen:
        actions.run(Request(intent="bundle", items=("Alarm Clock Bakelike Red",)), state,
                    "What goes with the Alarm Clock Bakelike Red?")
        assert state.bundle
    if entry.name == "a tier taken":  # the tiers are on screen
        actions.run(Request(intent="cheaper"), state, "show me a cheaper and a nicer version")
        assert "premium" in state.constraints["tiers"]
    served = reconcile_intent(complete_slots(parsed, entry.example), entry.example)
    name, result = route(actions, served, state, entry.example)
    assert name == entry.name, (entry.example, result.kind, result.text[:80])


def test_the_cheapest_bundle_is_sorted_by_price(actions: Actions) -> None:
    """A superlative is a sort of a new bundle, not an edit of one that does not exist."""
    state = ConversationState("router-cheapest")
    text = "give me the cheapest possible birthday bundle"
    name, result = route(actions, reconcile_intent(complete_slots(Request(intent="cheaper"), text), text), state, text)
    assert name == "the cheapest of something new" and result.kind == "bundle" and result.bundle is not None
    plain = actions.run(Request(intent="bundle", need="birthday"), ConversationState("router-plain"), "a birthday bundle")
    assert plain.bundle is not None and result.bundle.total <= plain.bundle.total


def test_money_alone_edits_the_bundle_on_screen(actions: Actions) -> None:
    """With a bundle shown, an amount and nothing else changes that bundle: a cap on each
    item re-picks what costs more (and later picks keep to it), a total sets the budget; with
    nothing on screen the same words are a new request."""
    state = ConversationState("router-money")
    actions.run(Request(intent="bundle", need="afternoon tea"), state, "an afternoon tea bundle")
    prices = [entry["price"] for entry in state.bundle["items"]]
    cap = sorted(prices)[len(prices) // 2]
    assert max(prices) > cap
    text = f"nothing that costs above {cap:.2f} pounds a piece, ideally"
    served = reconcile_intent(complete_slots(Request(intent="bundle"), text), text)
    name, result = route(actions, served, state, text)
    assert name == "money for the bundle on screen" and result.bundle is not None
    assert all(bi.item.price <= cap + 1e-9 for bi in result.bundle.items)
    assert state.bundle_context["item_cap"] == cap
    # the parse may call it a budget with no amount: a cap on each item is still a cheaper bundle
    lower = sorted(prices)[0] + 0.5
    text = f"only things under {lower:.2f} pounds each please"
    served = reconcile_intent(complete_slots(Request(intent="set_budget"), text), text)
    assert served.intent == "cheaper"
    name, result = route(actions, served, state, text)
    assert name == "edit" and result.bundle is not None
    assert all(bi.item.price <= lower + 1e-9 for bi in result.bundle.items)
    text = "ah, all i've got left is a tenner"
    served = reconcile_intent(complete_slots(Request(intent="bundle", need="a tenner", budget=10), text), text)
    assert served.need is None
    name, result = route(actions, served, state, text)
    assert name == "money for the bundle on screen" and result.bundle is not None and result.bundle.total <= 10
    name, _ = route(actions, served, ConversationState("router-money-new"), text)
    assert name == "new bundle"
