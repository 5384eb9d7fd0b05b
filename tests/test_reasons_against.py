"""Rule "a reason against it" as the chain serves an edit (`served_request`), and the slot
rules it leans on: an age is no budget, a count of things is no position."""

from __future__ import annotations

import pytest

from assistant.dialogue.chain import served_request
from assistant.records import Request
from assistant.safety.guard import check_input


def _served(parsed: Request, text: str) -> Request:
    return served_request(parsed, check_input(text), on_screen=True)


@pytest.mark.parametrize(("parsed", "text", "ruled_out"), [
    (Request(intent="remove", target="the vase"), "lose the vase, she's got loads already", ("vase",)),
    (Request(intent="swap", target="3"), "swap #3, we've got serviettes already", ("serviettes",)),
    (Request(intent="remove", target="apron"), "ditch the apron, he never cooks", ("apron",)),
    # the model's target is words of the reason, not the thing the command removes
    (Request(intent="swap", target="baby sister"),
     "swap the marbles, his baby sister is 2 and they're a choking hazard", ("marbles",)),
    # the parser read a new bundle; the words remove the card and say why
    (Request(intent="bundle", need="card"), "no need for the card, she makes her own", ("card",)),
    # said outright in a removal: ruled out whether or not a reason is given
    (Request(intent="bundle"), "take the lanterns out, lanterns are a no go for us", ("lanterns",)),
])
def test_an_edit_with_a_reason_rules_the_kind_out(parsed: Request, text: str, ruled_out: tuple[str, ...]) -> None:
    served = _served(parsed, text)
    assert served.intent in ("remove", "swap")
    assert served.exclude == ruled_out


@pytest.mark.parametrize(("parsed", "text"), [
    (Request(intent="remove", target="the mug"), "take out the mug"),
    (Request(intent="bundle", need="card"), "no need for the card"),
    (Request(intent="swap", target="bunting", exclude=("bunting",)),
     "the bunting's not needed, would much prefer a lantern in that spot"),
    (Request(intent="swap", target="2"), "swap number 2, it's too plain"),
    (Request(intent="swap", target="mug"), "swap the mug, she doesn't like the colour"),
    (Request(intent="remove", target="1"), "Item 1 - she's already got one of those"),
    (Request(intent="swap", target="candle"), "she's got a garden so swap the candle for something outdoors"),
])
def test_an_edit_without_a_reason_against_the_kind_rules_nothing_out(parsed: Request, text: str) -> None:
    assert _served(parsed, text).exclude == ()


def test_a_reason_never_reaches_a_bundle_request() -> None:
    served = served_request(Request(intent="bundle", need="a gift for my nan"),
                            check_input("a gift for my nan, she's got loads already"))
    assert served.exclude == ()


def test_an_age_is_no_budget_and_teenagers_are_guests() -> None:
    from assistant.understand.amounts import budget_in, party_size_in

    assert budget_in("his sister is under 3 so nothing small") is None
    assert budget_in("toys for the under 5s") is None
    assert budget_in("the kids are under 8, budget 40") == 40
    assert budget_in("something under 20 for my nan") == 20
    assert party_size_in("stocking fillers for 3 teenagers") == 3


def test_a_count_of_things_is_no_position() -> None:
    from assistant.understand.slots import unsaid_position

    assert unsaid_position("3", "the pup already has 3 bowls so that can go")
    assert not unsaid_position("3", "swap 3 pls")
    assert not unsaid_position("2", "number 2 is naff")
