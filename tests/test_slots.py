"""Budgets and counts the shopper states are never lost, whatever the model parsed."""

from __future__ import annotations

import pytest

from assistant.records import Request
from assistant.safety.guard import check_input
from assistant.understand.slots import budget_in, complete_slots, count_in


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


def test_complete_slots_fills_what_is_missing_and_the_written_amounts_win() -> None:
    parsed = Request(intent="bundle", need="tea party under £20")
    done = complete_slots(parsed, "a bundle for a tea party under £20, 3 items")
    assert done.budget == 20.0 and done.size == 3 and done.need == "tea party"
    # the amount the shopper wrote beats the model's guess; a count is never the budget
    fixed = complete_slots(Request(intent="bundle", need="tea party", budget=18), "tea party under £20")
    assert fixed.budget == 20
    kids = complete_slots(Request(intent="bundle", need="party bits", budget=8, party_size=8),
                          "my son turns 6 next week and we've got 8 kids coming round. party bits under £30")
    assert kids.budget == 30 and kids.party_size == 8
    chat = complete_slots(Request(intent="smalltalk"), "thanks, £20 was fine")
    assert chat.budget is None


@pytest.mark.parametrize(("text", "model_said", "guests"), [
    ("present for grandad, he's 82 and likes a cuppa", 82, None),  # an age
    ("girlfriend's birthday next week. £35", 35, None),  # the budget
    ("ten round the table for christmas dinner", None, 10),
    ("valentines night in for me and my other half", 25, 2),
    ("Hosting a little tea party for six on Saturday", 6, 6),
])
def test_the_party_size_is_read_from_the_words(text: str, model_said: int | None, guests: int | None) -> None:
    assert complete_slots(Request(intent="bundle", need="x", party_size=model_said), text).party_size == guests


@pytest.mark.parametrize(("text", "budget"), [
    ("fifteen quid tops", 15), ("a tenner", 10), ("under twenty quid", 20), ("forty-five pounds", 45),
    ("I'm on a budget of 20 dollars", 20), ("25 euros", 25), ("twenty five pounds", 25), ("£40ish", 40),
])
def test_money_in_words_and_other_currencies(text: str, budget: float) -> None:
    assert budget_in(text) == budget


def test_cart_changes_need_the_shoppers_words() -> None:
    from assistant.understand.slots import reconcile_intent

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
    from assistant.understand.slots import need_from_text

    assert need_from_text("garden party things, 4 items") == "garden party things"
    assert need_from_text("a tea party under £20") == "a tea party"


# -- exclusions, positions, cart questions and comparisons read from the shopper's text -------
@pytest.mark.parametrize(("text", "ruled_out"), [
    ("a garden party bundle, no candles", ("candles",)),
    ("tea things without glass", ("glass",)),
    ("nothing pink please", ("pink",)),
    ("a kitchen set, but not mugs", ("mugs",)),
    ("actually, no candles please", ("candles",)),
    ("baking things for my mum, but no chocolate please", ("chocolate",)),
    ("a tea set, no plastic or glass, under £20", ("plastic", "glass")),
    ("I don't want anything with hearts on it", ("hearts",)),
    ("no more candles", ("candles",)),
    ("I don't want the Jumbo Bag Red Retrospot, swap it", ("jumbo bag red retrospot",)),
])
def test_exclusions_in(text: str, ruled_out: tuple[str, ...]) -> None:
    from assistant.understand.slots import exclusions_in

    assert exclusions_in(text) == ruled_out


@pytest.mark.parametrize("text", [
    "no more than £20", "no thanks", "no problem, make it cheaper", "I'm not sure", "it's not for me",
    "not sure, maybe candles", "nothing else thanks", "I have no idea", "swap no. 2", "no 2 please",
    "nothing too expensive", "no, I want candles", "a bundle with candles and balloons",
])
def test_no_exclusion_where_nothing_is_ruled_out(text: str) -> None:
    from assistant.understand.slots import exclusions_in

    assert exclusions_in(text) == ()


def test_complete_slots_fills_exclusions_and_drops_excluded_mentions() -> None:
    parsed = Request(intent="bundle", need="garden party, no candles", items=("candles",))
    done = complete_slots(parsed, "a garden party bundle, no candles")
    assert done.exclude == ("candles",) and done.items == () and done.need == "garden party"
    kept = complete_slots(Request(intent="bundle", exclude=("candle",)), "no candles")
    assert kept.exclude == ("candle",)  # the model's own wording already rules it out
    question = complete_slots(Request(intent="question"), "is it without glass?")
    assert question.exclude == ()


def test_exclusion_only_messages() -> None:
    from assistant.understand.slots import exclusion_only, strip_exclusions

    assert exclusion_only("actually, no candles please") and exclusion_only("no candles or balloons")
    assert exclusion_only("I don't want the Jumbo Bag Red Retrospot, swap it for something else")
    assert not exclusion_only("a garden party bundle, no candles")  # a new request with an exclusion
    assert not exclusion_only("no candles, and swap the second one")
    assert not exclusion_only("swap the second one")
    assert strip_exclusions("a tea set, but not mugs") == "a tea set"


@pytest.mark.parametrize(("text", "positions"), [
    ("add the first one to my cart", ("1",)), ("add the second one to my cart", ("2",)),
    ("put #2 in my basket", ("2",)), ("add number 3 to my cart", ("3",)), ("the last one please", ("last",)),
    ("add 1 to my cart", ("1",)), ("the 2nd", ("2",)), ("add the first and third to my cart", ("1", "3")),
    ("how much is the first one?", ("1",)), ("swap 2", ("2",)),
    ("things for my son's 6th birthday party", ()), ("a picnic for 4", ()), ("under 10", ()),
    ("a first aid kit", ()), ("a bundle under £20, 3 items", ()), ("do you have 22423?", ()),
])
def test_positions_in(text: str, positions: tuple[str, ...]) -> None:
    from assistant.understand.slots import positions_in

    assert positions_in(text) == positions


def test_cart_questions_and_cart_requests() -> None:
    from assistant.understand.slots import asks_about_cart, asks_to_add_to_cart, reconcile_intent

    for text in ("what's in my cart?", "show my basket", "how much is my cart?", "what have I got in my basket",
                 "what is in my trolley so far"):
        assert asks_about_cart(text) and not asks_to_add_to_cart(text), text
        assert reconcile_intent(Request(intent="add_to_cart"), text).intent == "question"
    for text in ("add it all to my cart", "a picnic basket bundle", "show me baskets", "remove the jam set from my cart"):
        assert not asks_about_cart(text), text
    assert reconcile_intent(Request(intent="bundle"), "add the second one to my cart").intent == "add_to_cart"
    assert reconcile_intent(Request(intent="bundle"), "put together a hamper for my basket").intent == "bundle"


def test_comparison_splits() -> None:
    from assistant.understand.slots import comparison_cue, comparison_splits

    assert comparison_splits("compare Lunch Bag Red Retrospot and Lunch Bag Woodland") == [
        ("Lunch Bag Red Retrospot", "Lunch Bag Woodland")]
    assert comparison_splits("which is cheaper, the Regency Cakestand 3 Tier or the Set of 3 Cake Tins?") == [
        ("Regency Cakestand 3 Tier", "Set of 3 Cake Tins")]
    # a title holding a separator: every cut is offered, the caller keeps the one that resolves
    assert ("Jam Making Set with Jars", "Regency Cakestand") in comparison_splits(
        "is the Jam Making Set with Jars cheaper than the Regency Cakestand?")
    # each side is also cut to its own clause next to the separator
    assert ("cake tins", "spice tins") in comparison_splits("cake tins or spice tins, which d'you reckon gets more use")
    assert ("owl bag", "woodland lunch bag") in comparison_splits(
        "which holds more, the owl bag or the woodland lunch bag?")
    assert comparison_cue("X vs Y") and comparison_cue("which one should I get, A or B")
    assert not comparison_cue("a bundle for a tea party")


def test_need_from_text_drops_scaffolding_and_exclusions() -> None:
    from assistant.understand.slots import need_from_text

    assert need_from_text("I need a bundle for Easter") == "Easter"
    assert need_from_text("hi, could you show me tea party things please") == "tea party things"
    assert need_from_text("a garden party bundle, no candles") == "a garden party"
    assert need_from_text("do you have teapots?") == "teapots"


def test_model_exclusions_must_be_in_the_shoppers_words_and_never_money() -> None:
    from assistant.records import Request
    from assistant.understand.slots import complete_slots

    text = "what else goes with the home sweet home cushion cover, under £35?"
    served = complete_slots(Request("bundle", need="home sweet home", exclude=("under £35",)), text)
    assert served.exclude == () and served.budget == 35
    assert complete_slots(Request("bundle", need="tea party", exclude=("glass",)), "tea party things").exclude == ()
    kept = complete_slots(Request("bundle", need="tea party", exclude=("candles",)), "tea party, no candles please")
    assert kept.exclude == ("candles",)


def test_need_from_text_drops_follow_up_scaffolding_and_placeholder_words() -> None:
    from assistant.understand.slots import need_from_text

    assert need_from_text("next i'm after something gingham and something star - but no regency") == \
        "gingham and star"
    assert need_from_text("could you also find something decoration and something bunting") == \
        "decoration and bunting"
    assert need_from_text("I need a bundle for Easter") == "Easter"


@pytest.mark.parametrize(("parsed", "text", "budget", "size"), [
    (Request("bundle", need="a cosy gift set", budget=1.0), "a cosy gift set with the Scottie Dog Hot Water Bottle",
     None, None),
    (Request("bundle", need="a garden party", size=1), "a garden party bundle, no candles", None, None),
    (Request("bundle", need="a tea party", budget=20.0), "a bundle for a tea party under £20", 20.0, None),
    (Request("set_budget", budget=75.0), "make it cheaper, around 75 quid", 75.0, None),
    (Request("bundle", need="a picnic", size=3), "three things for a picnic", None, 3),
])
def test_a_budget_or_count_the_shopper_never_wrote_is_dropped(parsed, text, budget, size) -> None:
    served = complete_slots(parsed, text)
    assert served.budget == budget and served.size == size


def test_make_it_cheaper_parsed_as_a_budget_without_an_amount_is_cheaper() -> None:
    for parsed in (Request("set_budget", budget=0.8), Request("set_budget")):
        assert complete_slots(parsed, "make it cheaper").intent == "cheaper"
    assert complete_slots(Request("set_budget", budget=75.0), "make it cheaper, around 75 quid").budget == 75.0
    counted = complete_slots(Request("bundle", need="garden party things", budget=4, size=4),
                             "garden party things, 4 items")
    assert counted.budget is None and counted.size == 4  # the count is no budget


def test_looking_for_is_request_scaffolding() -> None:
    from assistant.understand.slots import need_from_text

    assert need_from_text("i'm looking for a few calm keep things") == "a few calm keep things"
    assert need_from_text("I am looking for candles") == "candles"


def test_a_message_without_negation_rules_nothing_out() -> None:
    from assistant.records import Request
    from assistant.understand.slots import complete_slots

    parsed = Request(intent="bundle", need="Ein Geschenkset", exclude=("Ostern",))
    assert complete_slots(parsed, "Ein Geschenkset für Ostern bitte").exclude == ()
    kept = complete_slots(Request(intent="bundle", need="Geschenkset", exclude=("Ostern",)),
                          "Ein Geschenkset, aber nichts ohne Ostern")
    assert kept.exclude == ("Ostern",)
    assert complete_slots(Request(intent="bundle", need="tea", exclude=("mugs",)), "tea things, no mugs").exclude == ("mugs",)



def test_a_negation_elsewhere_in_the_message_rules_out_nothing_the_shopper_wants() -> None:
    """The model's exclusion stands only where a negation governs it: "nothing too dear" is
    about the price, so "skull bits" the shopper asked for stay wanted; "no candles" and a
    negation in another language ("ohne Kerzen") still rule out."""
    from assistant.records import Request
    from assistant.understand.slots import complete_slots

    text = "halloween night in, want spooky candles and skull bits, nothing too dear"
    assert complete_slots(Request("bundle", need="halloween night in", exclude=("skull bits",)), text).exclude == ()
    text = "a picnic for two, nothing plastic, and a blanket"
    assert complete_slots(Request("bundle", need="picnic", exclude=("blanket",)), text).exclude == ("plastic",)
    kept = complete_slots(Request("bundle", need="picnic", exclude=("plastic things",)), "a picnic, no plastic things")
    assert kept.exclude == ("plastic things",)
    german = complete_slots(Request("bundle", need="Geschenkset", exclude=("Kerzen",)), "Ein Geschenkset ohne Kerzen")
    assert german.exclude == ("Kerzen",)

def test_a_long_message_gives_a_need_a_request_can_hold() -> None:
    from assistant.records import MAX_MENTION_CHARS
    from assistant.understand.slots import need_from_text

    text = ("Moving into a little cottage in the village and I want it homely straight away – cushions, "
            "a doormat, something for the mantelpiece and the hall. £75")
    need = need_from_text(text)
    assert 0 < len(need) <= MAX_MENTION_CHARS and text.startswith(need[:20])
    Request(intent="bundle", need=need)  # valid


def test_a_count_of_guests_is_no_budget() -> None:
    parsed = Request(intent="bundle", items=("party bags",), budget=10, party_size=10)
    assert complete_slots(parsed, "What's the cheapest way to do party bags for 10 kids?").budget is None


@pytest.mark.parametrize(("text", "guests"), [
    ("flowers and candles for 10 tables at my sister's wedding", 10),
    ("a leaving do for 12 colleagues", 12),
    ("treats for 30 pupils", 30),
])
def test_tables_and_groups_of_people_are_a_party_size(text: str, guests: int) -> None:
    from assistant.understand.amounts import party_size_in

    assert party_size_in(text) == guests


def test_a_per_item_cap_is_never_the_whole_budget() -> None:
    from assistant.understand.amounts import item_cap_in

    text = "stocking fillers for the kids, each thing £2 or under"
    assert item_cap_in(text) == 2 and budget_in(text) is None
    # the model read the cap as the budget: the words say it is a cap, so it is dropped
    assert complete_slots(Request(intent="bundle", need="stocking fillers", budget=2), text).budget is None
    both = "a hamper under £30, nothing over £8 each"
    assert budget_in(both) == 30 and item_cap_in(both) == 8


@pytest.mark.parametrize(("text", "cap", "budget", "model_said", "kept_out"), [
    ("gifts for the five people on my team, £4 or less per thing", 4, None, Request(intent="bundle", budget=4), ()),
    ("housewarming gift - no single item over £10 please, £30 overall", 10, 30,
     Request(intent="bundle", budget=10, exclude=("single item",)), ()),
    ("stocking fillers for my three kids, nothing over a fiver each", 5, None,
     Request(intent="bundle", exclude=("fiver",)), ()),
    ("no candles, nothing over £10 each", 10, None, Request(intent="bundle"), ("candles",)),
])
def test_a_price_limit_per_item_is_neither_the_budget_nor_an_exclusion(
        text: str, cap: float, budget: float | None, model_said: Request, kept_out: tuple[str, ...]) -> None:
    from assistant.understand.amounts import item_cap_in

    assert item_cap_in(text) == cap
    done = complete_slots(model_said, text)
    assert done.budget == budget and done.exclude == kept_out


@pytest.mark.parametrize(("need", "text", "widened"), [
    ("my nephew", "hmm, something else: a christmas stocking for my nephew please, around £15",
     "a christmas stocking for my nephew"),
    ("my dad", "gift for my dad. he spends every weekend in his vegetable patch",
     "gift for my dad, he spends every weekend in his vegetable patch"),  # the interest is in the next sentence
    ("my dad", "gift for my dad, not too pricey, he's skint himself. next week please",
     "gift for my dad"),  # money talk, a date and chat stay out
    ("my sister", "birthday bits for my sister who loves baking, no chocolate, £20",
     "birthday bits for my sister who loves baking"),
    ("tea party", "tea party", "tea party"),
    ("a garden do", "something nice for the garden", "a garden do"),  # not copied: as it is
])
def test_rule_need_in_its_sentence(need: str, text: str, widened: str) -> None:
    from assistant.understand.slots import need_in_its_sentence

    assert need_in_its_sentence(need, check_input(text)) == widened


def test_a_bundle_need_is_widened_only_when_no_item_is_named() -> None:
    text = "the woodland lunch bag for my son, and things that go with it"
    named = complete_slots(Request("bundle", need="my son", items=("woodland lunch bag",)), text)
    assert named.need == "my son"
    plain = complete_slots(Request("bundle", need="my son"), "a present for my son who loves trains")
    assert plain.need == "a present for my son who loves trains"


def test_a_need_joined_from_the_models_parts_stays_within_the_limit() -> None:
    from assistant.records import MAX_MENTION_CHARS

    kinds = ("candles, tealights and lanterns", "napkins, plates and cups", "bunting & banners", "balloons & streamers")
    text = "a " + ", ".join(kinds) + " for a very long garden party for my mum's seventieth birthday in the summer"
    done = complete_slots(Request(intent="bundle", need="a very long garden party for my mum's seventieth birthday",
                                  items=kinds), text)
    assert done.need and len(done.need) <= MAX_MENTION_CHARS and not done.items


def test_a_party_size_leaves_the_need_whole_before_money_is_read() -> None:
    from assistant.understand.slots import need_from_text

    assert need_from_text("garden party for 8 people, about £40") == "garden party"
    assert need_from_text("a bbq for 10, under £30 please") == "a bbq"


def test_a_ruled_out_phrase_is_cut_with_the_words_that_close_it() -> None:
    from assistant.understand.slots import exclusions_in, strip_exclusions

    text = "a housewarming gift for my sister, she's not a candle person at all"
    assert exclusions_in(text) == ("candle",)
    assert strip_exclusions(text) == "a housewarming gift for my sister, she's"  # no "person at all" left as a need
    assert strip_exclusions("a tea party, no candles at all") == "a tea party"


@pytest.mark.parametrize(("model_need", "text", "need"), [
    # the reason before "so <ruled out>" is left when the rest says the need ...
    ("Leaving present for Jo in accounts, She doesn't drink so",
     "Leaving present for Jo in accounts. We've collected £32. She doesn't drink so no wine stuff",
     "Leaving present for Jo in accounts"),
    # ... or the turn redoes the bundle on screen
    ("there's a toddler in the house so", "there's a toddler in the house so nothing made of glass, can you redo it?",
     None),
    # a reason that is all there is to go on stays; an occasion before "so" is no reason
    ("he's 3", "he's 3 so nothing small", "he's 3"),
    ("my sister's hen do", "it's my sister's hen do so nothing rude", "it's my sister's hen do"),
])
def test_rule_a_reason_for_ruling_out_is_no_need(model_need: str, text: str, need: str | None) -> None:
    done = complete_slots(Request("bundle", need=model_need), check_input(text))
    assert done.need == need


@pytest.mark.parametrize("intent", ["swap", "remove", "lock", "more_like"])
def test_rule_an_item_edit_has_no_need(intent: str) -> None:
    from assistant.understand.edit_cues import without_need_of_an_item_edit

    edit = Request(intent, need="a choking risk", target="4")
    assert without_need_of_an_item_edit(edit).need is None
    assert without_need_of_an_item_edit(edit).target == "4"
    add = Request("add", need="bunting")  # an add's need says what to add
    assert without_need_of_an_item_edit(add) is add


def test_money_a_piece_is_no_need() -> None:
    from assistant.understand.slots import money_only

    assert money_only("five pound a piece")


def test_a_need_inside_a_reason_for_ruling_out_is_no_need() -> None:
    text = check_input("there's a toddler in the house so nothing made of glass, can you redo it?")
    assert complete_slots(Request("bundle", need="a toddler", exclude=("glass",)), text).need is None
