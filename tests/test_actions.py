"""The intent router on the real default shop, without a language model: requests are built
by hand (often as poor as a small parser's), and what the shopper's own words say must win.

Covers the dialogue-eval failures: one bundle item to the cart, exclusions in the text,
off-topic questions, cart questions, typed stock codes and two-sided comparisons.
"""

from __future__ import annotations

import pytest

from assistant.compose.composer import BundleComposer
from assistant.dialogue.actions import OFF_TOPIC, ActionResult, Actions
from assistant.dialogue.session import ConversationState
from assistant.records import Request
from assistant.understand.slots import complete_slots, reconcile_intent
from assistant.understand.words import stem_set
from retrieval.shop_index import ShopIndex, ensure_default_index

RED_CLOCK, GREEN_CLOCK = "22727", "22726"
CAKESTAND, CAKE_TINS, JAM_SET, HEART_HOLDER = "22423", "22720", "22960", "85123A"


@pytest.fixture(scope="module")
def actions() -> Actions:
    index = ShopIndex.load(ensure_default_index())
    return Actions(index, BundleComposer(index))


def turn(actions: Actions, state: ConversationState, request: Request, text: str) -> ActionResult:
    """One turn as the chain serves it: code completes and reconciles the parse first."""
    return actions.run(reconcile_intent(complete_slots(request, text), text), state, text)


def with_bundle(actions: Actions, session: str = "s1") -> tuple[ConversationState, list[str]]:
    state = ConversationState(session)
    opened = actions.run(Request(intent="bundle", items=("Alarm Clock Bakelike Red",)), state,
                         "What goes with the Alarm Clock Bakelike Red?")
    assert opened.kind == "bundle" and opened.bundle is not None and len(opened.bundle.items) >= 3
    return state, [bi.item.item_id for bi in opened.bundle.items]


def has_candle(title: str) -> bool:
    return "candle" in stem_set(title)  # the composer's reading: "Candles" and "Candle", not "Candlepot"


def cart_ids(state: ConversationState) -> list[str]:
    return [line.item_id for line in state.cart_lines()]


# -- 1. one bundle item to the cart --------------------------------------------------------
@pytest.mark.parametrize(("text", "slot"), [
    ("add the first one to my cart", 0), ("add the second one to my cart", 1), ("put #2 in my basket", 1),
    ("add number 3 to my cart", 2), ("add the last one to my cart", -1), ("add 1 to my cart", 0),
])
def test_a_cart_request_naming_a_position_adds_only_that_item(actions: Actions, text: str, slot: int) -> None:
    state, ids = with_bundle(actions)
    for parsed in (Request(intent="add_to_cart"), Request(intent="bundle")):  # the model's target is missing
        state.cart = []
        result = turn(actions, state, parsed, text)
        assert result.kind == "cart" and cart_ids(state) == [ids[slot]], parsed


def test_a_cart_request_naming_title_words_adds_that_item(actions: Actions) -> None:
    state, ids = with_bundle(actions)
    title = actions.catalog.get(ids[2]).title
    result = turn(actions, state, Request(intent="add_to_cart"), f"add the {title} to my basket")
    assert result.kind == "cart" and cart_ids(state) == [ids[2]]


def _own_word(actions: Actions, ids: list[str], slot: int) -> str:
    """A title word of the bundle's item at `slot` that no other title of the bundle has."""
    others = set().union(*(stem_set(actions.catalog.get(i).title) for n, i in enumerate(ids) if n != slot))
    return next(w for w in actions.catalog.get(ids[slot]).title.lower().split()
                if len(w) > 3 and not stem_set(w) & others and not stem_set(w) & stem_set("cart basket trolley"))


def test_a_cart_request_saying_one_title_word_adds_only_that_item(actions: Actions) -> None:
    """Read from the words alone (no parsed target or items), as while the model is busy."""
    state, ids = with_bundle(actions)
    word = _own_word(actions, ids, 1)
    result = turn(actions, state, Request(intent="add_to_cart"), f"that {word}'s gorgeous, put just that in my trolley")
    assert result.kind == "cart" and cart_ids(state) == [ids[1]]
    state.cart = []
    assert turn(actions, state, Request(intent="add_to_cart"), f"love the {word}, add it all to my cart").kind == "cart"
    assert sorted(cart_ids(state)) == sorted(ids)  # "it all" is still the whole bundle


def test_a_question_about_the_middle_one_or_a_title_word_answers_about_that_item(actions: Actions) -> None:
    from assistant.compose.targets import resolve_target

    state, ids = with_bundle(actions)
    bundle = actions.shop.bundle(state)
    assert bundle is not None
    middle = actions.catalog.get(ids[resolve_target(bundle, "middle", lambda _t, _p: None)])
    result = turn(actions, state, Request(intent="question"), "how big is the middle one? it has to fit a tiny shelf")
    assert result.kind == "answer" and result.text.startswith(middle.title)
    word = _own_word(actions, ids, 2)
    result = turn(actions, state, Request(intent="question"), f"is the {word} sturdy or a bit flimsy")
    assert result.kind == "answer" and result.text.startswith(actions.catalog.get(ids[2]).title)
    # the parse's mention is not all one title's words ("cup n saucer"): the bundle's own item
    result = turn(actions, state, Request(intent="question", target=f"{word} n saucer"),
                  f"is the {word} n saucer dishwasher-proof or hand wash only?")
    assert result.kind == "answer" and result.text.startswith(actions.catalog.get(ids[2]).title)


def test_a_comparison_whose_sides_run_on_into_the_question(actions: Actions) -> None:
    state, ids = with_bundle(actions)
    first, second = _own_word(actions, ids, 0), _own_word(actions, ids, 1)
    result = turn(actions, state, Request(intent="compare"),
                  f"the {first} or the {second}, which d'you reckon gets more use")
    assert result.kind == "answer" and result.request is not None and result.request.items == tuple(ids[:2])


def test_the_whole_bundle_goes_in_only_when_nothing_else_is_named(actions: Actions) -> None:
    state, ids = with_bundle(actions)
    made_up = Request(intent="add", items=("tea party card",))  # an invented mention, not in the text
    assert turn(actions, state, made_up, "add it all to my cart").kind == "cart"
    assert sorted(cart_ids(state)) == sorted(ids)
    state.cart = []
    unknown = turn(actions, state, Request(intent="add_to_cart"), "add the unicorn lamp to my cart")
    assert unknown.kind == "clarify" and "unicorn lamp" in unknown.text and cart_ids(state) == []


# -- 2. exclusions in the text ---------------------------------------------------------------
def test_an_exclusion_in_the_request_is_honoured(actions: Actions) -> None:
    plain = turn(actions, ConversationState("a"), Request(intent="bundle", need="candle light dinner"),
                 "candle light dinner")
    assert plain.bundle is not None and any(has_candle(bi.item.title) for bi in plain.bundle.items)
    text = "something for a candle light dinner, but no candles please"
    ruled = turn(actions, ConversationState("b"), Request(intent="bundle", need="candle light dinner"), text)
    assert ruled.kind == "bundle" and ruled.bundle is not None
    assert ruled.request is None or "candles" in ruled.request.exclude
    assert not [bi.item.title for bi in ruled.bundle.items if has_candle(bi.item.title)]


def test_no_candles_after_a_bundle_edits_it_and_is_remembered(actions: Actions) -> None:
    state = ConversationState("c")
    opened = turn(actions, state, Request(intent="bundle", need="christmas candles"), "christmas candles")
    assert opened.bundle is not None
    candles = [bi.item.title for bi in opened.bundle.items if has_candle(bi.item.title)]
    assert candles  # the test means something only if there were candles to drop
    for parsed in (Request(intent="off_topic"), Request(intent="bundle"), Request(intent="remove", target="candles")):
        edit_state = ConversationState("c", bundle=state.bundle, bundle_context=state.bundle_context,
                                       constraints=dict(state.constraints))
        edited = turn(actions, edit_state, parsed, "actually, no candles please")
        assert edited.kind == "bundle" and edited.bundle is not None, parsed
        assert edited.request is not None and edited.request.intent in ("remove", "swap")
        assert not [bi for bi in edited.bundle.items if has_candle(bi.item.title)]
        assert set(candles) <= set(edited.bundle.diff.removed)
        assert "candles" in (edit_state.bundle_context or {})["exclude_terms"]


def test_a_parsed_swap_of_a_ruled_out_item_stays_a_swap(actions: Actions) -> None:
    state, ids = with_bundle(actions)
    title = actions.catalog.get(ids[1]).title
    text = f"I don't want the {title}, swap it for something else"
    swapped = turn(actions, state, Request(intent="swap", target=title), text)
    assert swapped.bundle is not None and ids[1] not in swapped.bundle.item_ids
    assert len(swapped.bundle.items) == len(ids) and swapped.bundle.item_ids[0] == ids[0]
    nothing = turn(actions, state, Request(intent="bundle"), "no unicorns please")
    assert nothing.kind == "bundle" and nothing.bundle is not None and nothing.bundle.diff.empty
    assert "unicorn" not in nothing.text.lower()  # the shopper's words are not echoed


# -- 3. off-topic questions ------------------------------------------------------------------
@pytest.mark.parametrize("text", ["what's the capital of Peru?", "what's the weather like?",
                                  "who painted the Mona Lisa?"])
def test_an_off_topic_question_gets_the_redirect(actions: Actions, text: str) -> None:
    for parsed in (Request(intent="question"), Request(intent="compare"), Request(intent="bundle")):
        result = turn(actions, ConversationState("d"), parsed, text)
        assert result.kind == "refusal" and result.text == OFF_TOPIC and result.bundle is None, parsed


def test_a_question_pinned_on_a_pronoun_is_off_topic(actions: Actions) -> None:
    parsed = Request(intent="question", need="an old man", target="you")  # a real parse of this text
    result = turn(actions, ConversationState("d2"), parsed, "how old are you?")
    assert result.kind == "refusal" and result.text == OFF_TOPIC


def test_a_shop_question_or_a_pointer_is_not_turned_away(actions: Actions) -> None:
    teapots = turn(actions, ConversationState("e"), Request(intent="question"), "do you have teapots?")
    assert teapots.kind != "refusal"
    state, _ = with_bundle(actions)
    assert turn(actions, state, Request(intent="question"), "is it any good?").kind == "clarify"


def test_a_question_about_a_bundle_position_answers_about_that_item(actions: Actions) -> None:
    state, ids = with_bundle(actions)
    item = actions.catalog.get(ids[0])
    for parsed in (Request(intent="question"), Request(intent="bundle")):
        result = turn(actions, state, parsed, "how much is the first one?")
        assert result.kind == "answer" and item.title in result.text and f"£{item.price:.2f}" in result.text


def test_a_question_naming_a_whole_title_answers_about_that_item(actions: Actions) -> None:
    item = next(it for it in actions.catalog.items if len(it.title.split()) >= 4 and it.price)
    result = turn(actions, ConversationState("t"), Request(intent="question"), f"tell me about the {item.title}")
    assert result.kind == "answer" and item.title in result.text and f"£{item.price:.2f}" in result.text


# -- 4. cart questions -----------------------------------------------------------------------
def test_a_cart_question_lists_the_cart_and_changes_nothing(actions: Actions) -> None:
    state, ids = with_bundle(actions)
    assert turn(actions, state, Request(intent="question"), "what's in my cart?").text == "Your cart is empty."
    turn(actions, state, Request(intent="add_to_cart"), "add the second one to my cart")
    before = (list(state.cart), state.bundle)
    item = actions.catalog.get(ids[1])
    for parsed in (Request(intent="add_to_cart"), Request(intent="bundle"), Request(intent="question")):
        for text in ("what's in my cart?", "show my basket"):
            result = turn(actions, state, parsed, text)
            assert result.kind == "cart" and item.title in result.text, (parsed, text)
            assert f"Cart total: £{item.price:.2f}" in result.text
            assert (state.cart, state.bundle) == before


# -- 5. stock codes --------------------------------------------------------------------------
def test_a_typed_stock_code_is_an_item(actions: Actions) -> None:
    for parsed in (Request(intent="bundle"), Request(intent="smalltalk"), Request(intent="off_topic")):
        built = turn(actions, ConversationState("f"), parsed, "bundle for item 85123A please")
        assert built.kind == "bundle" and built.bundle is not None and HEART_HOLDER in built.bundle.item_ids
    for parsed in (Request(intent="question"), Request(intent="off_topic")):
        asked = turn(actions, ConversationState("g"), parsed, "do you have 22423?")
        assert asked.kind == "answer" and actions.catalog.get(CAKESTAND).title in asked.text
    assert actions.text_items.ids_in("under £22423, or 22423 pounds") == []


# -- 6. comparisons --------------------------------------------------------------------------
@pytest.mark.parametrize(("parsed", "text", "pair"), [
    (Request(intent="compare", items=("Alarm Clock Bakelike Red",)),
     "compare the Alarm Clock Bakelike Red and the Alarm Clock Bakelike Green", (RED_CLOCK, GREEN_CLOCK)),
    (Request(intent="question"),
     "which is cheaper, the Regency Cakestand 3 Tier or the Set of 3 Cake Tins Pantry Design?", (CAKESTAND, CAKE_TINS)),
    (Request(intent="bundle"), "Jam Making Set with Jars vs Regency Cakestand 3 Tier", (JAM_SET, CAKESTAND)),
    (Request(intent="compare"), "compare 22423 with 22720", (CAKESTAND, CAKE_TINS)),
    (Request(intent="cheaper"), "which is cheaper, 22423 or the Set of 3 Cake Tins Pantry Design?", (CAKESTAND, CAKE_TINS)),
])
def test_both_sides_of_a_comparison_are_found(actions: Actions, parsed: Request, text: str,
                                              pair: tuple[str, str]) -> None:
    result = turn(actions, ConversationState("h"), parsed, text)
    assert result.kind == "answer" and result.request is not None
    assert result.request.intent == "compare" and result.request.items == pair
    a, b = (actions.catalog.get(i) for i in pair)
    assert a.title in result.text and b.title in result.text
    if a.price is not None and b.price is not None and a.price != b.price:
        cheaper = a if a.price < b.price else b
        assert f"{cheaper.title} is £{abs(a.price - b.price):.2f} cheaper" in result.text


def test_a_comparison_names_catalog_items_not_bundle_look_alikes(actions: Actions) -> None:
    state = ConversationState("i")
    actions.run(Request(intent="bundle", items=("Lunch Bag Red Retrospot",)), state, "lunch bag red retrospot")
    result = turn(actions, state, Request(intent="compare"), "compare Lunch Bag Red Retrospot and Lunch Bag Woodland")
    assert result.request is not None and result.request.items == ("20725", "20726")


def test_a_comparison_of_bundle_positions(actions: Actions) -> None:
    state, ids = with_bundle(actions)
    result = turn(actions, state, Request(intent="question"), "what's the difference between the first and the second?")
    assert result.kind == "answer" and result.request is not None and result.request.items == tuple(ids[:2])


def test_an_edit_uses_the_position_the_shopper_wrote(actions: Actions) -> None:
    state, ids = with_bundle(actions)
    result = turn(actions, state, Request(intent="remove", items=("lunch basket",)), "remove the last one")
    assert result.kind == "bundle" and result.bundle is not None and result.bundle.item_ids == tuple(ids[:-1])


def test_a_cart_button_teaches_the_live_profile(actions: Actions) -> None:
    from assistant.compose.profiles import Profile

    state, ids = with_bundle(actions, "s-cart-button")
    actions.note_cart_add(state, [ids[1]])
    assert ids[1] in Profile.from_dict(state.profile).cart


def test_a_position_in_the_need_slot_is_not_a_need(actions: Actions) -> None:
    state, _ids = with_bundle(actions, "s-digit-need")
    result = turn(actions, state, Request(intent="bundle", need="2"), "something for a picnic")
    assert result.kind == "bundle" and result.bundle is not None
    assert (result.request is None or result.request.need != "2")


# -- follow-up requests in a session -------------------------------------------------------
def test_a_need_of_several_wants_is_matched_part_by_part(actions: Actions) -> None:
    composer = actions.composer
    from assistant.understand.need_text import need_parts

    assert need_parts("something from your cushion cover range and tree") == ["something cushion cover", "tree"]
    assert need_parts("gingham, star & lace") == ["gingham", "star", "lace"]
    matched, _, sims = composer.need_match("gingham and keep calm")
    assert matched
    top = [actions.catalog.items[i].title.lower() for i in sims.argsort()[::-1][:12]]
    assert any("gingham" in t for t in top) and any("calm" in t for t in top)
    assert not composer.need_match("pizza delivery and car tyres")[0]  # no part is sold here


def test_a_thing_before_a_participle_is_what_the_titles_call_it(actions: Actions) -> None:
    """"a few wicker hanging things": the titles say "wicker", not "hanging"; the word before
    the participle is tried only when the participle fails, so "tyre changing things" stays
    unsold."""
    matched, _, sims = actions.composer.need_match("a few wicker hanging things")
    assert matched
    top = [actions.catalog.items[i].title.lower() for i in sims.argsort()[::-1][:5]]
    assert any("wicker" in t for t in top)
    assert not actions.composer.need_match("a few tyre changing things")[0]


def test_a_want_of_one_word_the_titles_use_is_sold(actions: Actions) -> None:
    """"something grow": a lone word's vector sits far from every title that holds it
    (Grow Your Own Herbs), yet the titles say it; a lone word no title uses stays unsold."""
    matched, _, sims = actions.composer.need_match("grow")
    assert matched
    top = [actions.catalog.items[i].title.lower() for i in sims.argsort()[::-1][:3]]
    assert all("grow" in t for t in top), top
    assert not actions.composer.need_match("laptop")[0]
    state, _ = with_bundle(actions, "s-grow")
    result = turn(actions, state, Request(intent="bundle", need="your doormat, notebook & letters"),
                  "next i'm after something grow and something from your doormat, notebook & letters range")
    assert result.bundle is not None
    assert any("grow" in bi.item.title.lower() for bi in result.bundle.items), result.bundle.item_ids


@pytest.mark.parametrize("parsed", [Request(intent="question", target="10"), Request(intent="compare"),
                                    Request(intent="smalltalk"), Request(intent="add", target="lace"),
                                    Request(intent="set_budget", target="gingham"),
                                    Request(intent="swap", items=("gingham and something lace",), target="2")])
def test_asking_for_something_is_a_bundle_whatever_the_parse(actions: Actions, parsed: Request) -> None:
    state, _ = with_bundle(actions)
    result = turn(actions, state, parsed, "what about something gingham and something lace?")
    assert result.kind == "bundle" and result.bundle is not None
    titles = " ".join(bi.item.title.lower() for bi in result.bundle.items)
    assert "gingham" in titles or "lace" in titles
    before = {bi.item.item_id for bi in result.bundle.items}
    added = turn(actions, state, Request(intent="add", items=("candles",)), "add some candles to it")
    assert added.kind == "bundle" and added.bundle is not None  # an add stays an edit of this bundle
    assert before & {bi.item.item_id for bi in added.bundle.items}


@pytest.mark.parametrize("parsed", [Request(intent="bundle", need="gingham and", items=("lace",)),
                                    Request(intent="bundle", items=("gingham and", "lace")),
                                    Request(intent="bundle", items=("lace",), need="gingham")])
def test_kinds_of_things_in_the_items_slot_are_wants_not_anchors(actions: Actions, parsed: Request) -> None:
    state, _ = with_bundle(actions, "s-kinds")
    result = turn(actions, state, parsed, "next i'm after something gingham and something lace")
    assert result.kind == "bundle" and result.bundle is not None
    assert all(bi.role != "anchor" for bi in result.bundle.items)  # nobody chose one lace item
    assert result.bundle.need == "gingham and lace"
    titles = " ".join(bi.item.title.lower() for bi in result.bundle.items)
    assert "gingham" in titles and "lace" in titles


@pytest.mark.parametrize("parsed", [Request(intent="bundle", need="i also need"), Request(intent="bundle", need="a"),
                                    Request(intent="bundle", items=("gingham and something lace",))])
def test_wants_written_out_are_the_need_whatever_the_parse(actions: Actions, parsed: Request) -> None:
    state, _ = with_bundle(actions, "s-spelt")
    result = turn(actions, state, parsed, "thanks! i also need something gingham and something lace - but no candles")
    assert result.kind == "bundle" and result.bundle is not None
    assert result.bundle.need == "gingham and lace"
    assert all(bi.role != "anchor" for bi in result.bundle.items)


def test_wanted_things_reads_something_x_and_something_y() -> None:
    from assistant.understand.need_text import wanted_things
    from assistant.understand.slots import strip_exclusions

    assert wanted_things(strip_exclusions("i also need something gingham and something from your doormat, notebook"
                                          " & letters range - but no lace")) == ["gingham", "doormat, notebook & letters"]
    assert wanted_things("what about something for the garden?") == ["for the garden"]
    for about_the_bundle in ("something to go with the Ivory Chandelier T-Light Holder", "something else",
                             "something cheaper please", "a bundle for a teapot"):
        assert wanted_things(about_the_bundle) == []


def test_kind_mentions_and_tidy_needs() -> None:
    from assistant.understand.need_text import kind_mention, tidy_need

    text = "could you also find something stool and something from your cushion cover range"
    assert kind_mention("stool", text) and kind_mention("cushion cover", text)
    assert kind_mention("gingham and", "anything") and kind_mention("bowl & jar", "anything")
    assert not kind_mention("red retrospot lunch bag", "what goes well with the red retrospot lunch bag?")
    assert tidy_need("gingham and") == "gingham" and tidy_need("& lace") == "lace" and tidy_need("and") == ""
    assert tidy_need("tea and cake") == "tea and cake"


def test_the_one_named_with_the_is_chosen() -> None:
    from assistant.understand.need_text import chosen_mention

    assert chosen_mention("dairy maid teapot", "love the dairy maid teapot!! something to match, maybe cups & a cosy")
    assert chosen_mention("the strawberry teapot", "my gran has the strawberry teapot, wants more strawberry stuff")
    assert chosen_mention("union jack doorstop", "obsessed with that Union Jack doorstop")
    assert not chosen_mention("teapot", "a teapot, pretty cups and a cake stand for an afternoon tea")
    assert not chosen_mention("a dog", "got any hot water bottles? one with a dog on")
    assert not chosen_mention("", "the")


def test_a_product_named_with_the_beside_listed_kinds_is_the_anchor(actions: Actions) -> None:
    state = ConversationState(session_id="named-anchor")
    text = "I love the dairy maid teapot, can you build round it? maybe cups and a cosy to match"
    result = turn(actions, state, Request(intent="bundle", items=("dairy maid teapot",)), text)
    assert result.bundle is not None
    assert "Dairy Maid Traditional Teapot" in [bi.item.title for bi in result.bundle.items]


def test_something_vague_never_drops_the_models_need(actions: Actions) -> None:
    from assistant.dialogue.bundle_wants import read_bundle_wants

    text = "my nephew's christening is on sunday, something keepsake-ish, about £25"
    parsed = Request(intent="bundle", need="my nephew's christening is on sunday, keepsake-ish", budget=25)
    wants = read_bundle_wants(parsed, text, actions.shop, actions.composer)
    assert wants.need == parsed.need  # was None: the vague want "keepsake-ish" replaced it
    other = read_bundle_wants(Request(intent="bundle", need="a tea party"), "a tea party, something for the garden",
                              actions.shop, actions.composer)
    assert other.need == "a tea party, for the garden"  # both said, both served


def test_a_want_spelt_out_joins_the_occasion_the_words_say_when_the_model_read_no_need(actions: Actions) -> None:
    from assistant.dialogue.bundle_wants import read_bundle_wants

    text = "my aunt is getting married in june, need a gift, she loves anything vintage"
    wants = read_bundle_wants(Request(intent="bundle"), text, actions.shop, actions.composer)
    assert wants.need is not None and "married" in wants.need and "vintage" in wants.need  # was "vintage" alone


def test_a_listed_thing_that_holds_the_models_need_is_the_need(actions: Actions) -> None:
    from assistant.dialogue.bundle_wants import _fullest_need

    parsed = Request(intent="bundle", need="my son's 8th",
                     items=("camping party for my son's 8th", "torches", "marshmallows"))
    assert _fullest_need(parsed) == "camping party for my son's 8th"
    assert _fullest_need(Request(intent="bundle", need="a picnic", items=("plates", "cups"))) == "a picnic"


def test_redo_it_keeps_the_bundles_need_and_rules_out_what_she_has_plenty_of(actions: Actions) -> None:
    state = ConversationState(session_id="redo")
    first = turn(actions, state, Request(intent="bundle", need="a tea party for my mum"), "a tea party for my mum")
    assert first.bundle is not None
    again = turn(actions, state, Request(intent="bundle"), "she's got a cupboard full of mugs already, could you redo it?")
    assert again.kind == "bundle" and again.bundle is not None
    assert again.bundle.need == "a tea party for my mum"  # not "she's got a cupboard full of ..."
    assert not any("mug" in bi.item.title.lower() for bi in again.bundle.items)


def test_an_edit_with_no_target_parsed_takes_the_item_whose_title_words_are_said(actions: Actions) -> None:
    from assistant.understand.words import content_stems

    state, ids = with_bundle(actions, "s-said")
    titles = [actions.catalog.get(i).title for i in ids]
    others = {w for t in titles[:1] + titles[2:] for w in content_stems(t)}
    word = next(w for w in content_stems(titles[1]) if w not in others and len(w) > 3)
    result = turn(actions, state, Request(intent="remove"), f"the {word} one... can that go?")
    assert result.kind == "bundle" and result.bundle is not None
    assert ids[1] not in [bi.item.item_id for bi in result.bundle.items]


def test_a_new_want_brings_fresh_items_and_exclusions_stay(actions: Actions) -> None:
    state, first = with_bundle(actions)
    actions.note_cart_add(state, [first[0]])
    no_candles = turn(actions, state, Request(intent="bundle", need="a tea party"),
                      "something for a tea party, but no candles")
    assert no_candles.bundle is not None
    shown = {*first, *(bi.item.item_id for bi in no_candles.bundle.items)}
    later = turn(actions, state, Request(intent="bundle", need="christmas decorations"),
                 "next i'm after some christmas decorations")
    assert later.kind == "bundle" and later.bundle is not None
    ids = [bi.item.item_id for bi in later.bundle.items]
    assert not (set(ids) & (shown - {first[0]}))  # nothing passed over comes back
    assert not any(has_candle(bi.item.title) for bi in later.bundle.items)  # "no candles" still holds
    wanted = turn(actions, state, Request(intent="bundle", need="candles"), "now some candles please")
    assert wanted.bundle is not None and any(has_candle(bi.item.title) for bi in wanted.bundle.items)


def test_wanting_more_of_nothing_sold_here_builds_on_the_cart(actions: Actions) -> None:
    state, ids = with_bundle(actions)
    actions.note_cart_add(state, ids[:2])
    result = turn(actions, state, Request(intent="bundle"), "i also need something zxqv and something wubble")
    assert result.kind == "bundle" and result.bundle is not None
    assert "what you've picked" in result.text
    assert not set(ids) & {bi.item.item_id for bi in result.bundle.items}
    fresh = ConversationState("s-new")  # nothing picked yet: ask, don't guess
    assert turn(actions, fresh, Request(intent="bundle"), "i also need something zxqv").kind in ("clarify", "refusal")


@pytest.mark.parametrize("parsed", [Request(intent="bundle", need="a bundle", budget=10),
                                    Request(intent="bundle", need="Jam Making Set with Jars")])
def test_a_title_typed_out_in_full_is_the_anchor_whatever_the_parse(actions: Actions, parsed: Request) -> None:
    state = ConversationState("s-title")
    result = turn(actions, state, parsed, "Put together a bundle around the Jam Making Set with Jars")
    assert result.bundle is not None
    anchors = [bi.item.item_id for bi in result.bundle.items if bi.role == "anchor"]
    assert anchors == [JAM_SET]
    two = actions.text_items.titles_in("I'm buying the Regency Cakestand 3 Tier and the Set of 3 Cake Tins "
                                       "Pantry Design")
    assert two == [CAKESTAND, CAKE_TINS]  # in the order the shopper named them


def test_things_i_would_like_are_a_known_shoppers_taste(actions: Actions) -> None:
    """Rule "taste only": "surprise me with a bundle of things I'd like" names no thing; a
    known shopper gets a bundle from their history, a new one is asked what it is for (never
    "nothing close to 'a bundle of things I'd like'")."""
    parsed = Request(intent="bundle", need="a bundle of things I'd like")
    text = "surprise me with a bundle of things I'd like"
    known = turn(actions, ConversationState("s-taste", user_id="12347"), parsed, text)
    assert known.kind == "bundle" and known.bundle is not None and len(known.bundle.items) >= 3
    assert turn(actions, ConversationState("s-taste-new"), parsed, text).kind == "clarify"


def test_a_known_shoppers_opening_bundle_comes_from_what_they_buy_next(actions: Actions) -> None:
    """A known customer, nothing named, nothing in the cart: the co-purchase part of the scores
    asks the sequence model with their id alone (their earlier orders, in order, and what they
    buy again), not their favourites as seeds; the bundle holds what it ranks high for them.
    A named item, a need or a stranger keeps the usual question."""
    from assistant.compose.scoring import opens_from_history
    from retrieval.records import Query

    blend = actions.composer.index.blend
    assert opens_from_history(blend, [], None, "12347", None)
    assert not opens_from_history(blend, [JAM_SET], None, "12347", None)
    assert not opens_from_history(blend, [], "a tea party", "12347", None)
    assert not opens_from_history(blend, [], None, "no-such-customer", None)
    parsed = Request(intent="bundle", need="a bundle of things I'd like")
    opened = turn(actions, ConversationState("s-opening", user_id="12347"), parsed,
                  "surprise me with a bundle of things I'd like")
    assert opened.bundle is not None
    next_up = {c.item_id for c in blend.recommend(Query(user_id="12347"), k=40)}
    assert sum(bi.item.item_id in next_up for bi in opened.bundle.items) >= 2, opened.bundle.items


def test_a_possession_is_no_want_of_one_word(actions: Actions) -> None:
    """"4 winter tyres for my car": "my car" is whose the tyres are, not a want of the word
    "car" (titles with "Car" are toys and doorstops)."""
    assert not actions.composer.need_match("my car")[0]
    result = turn(actions, ConversationState("s-car"), Request(intent="bundle", need="my car"),
                  "4 winter tyres for my car")
    assert result.kind == "no_match" and result.bundle is None


@pytest.mark.parametrize("text", ["could I have a teapot in place of the second one?",
                                  "swap number 2 for a teapot please"])
def test_a_swap_that_names_what_goes_in_puts_that_in_its_place(actions: Actions, text: str) -> None:
    """"gloves rather than the trowel": the thing named goes where the old one was (it was
    replaced by whatever ranked next), as an anchor the shopper asked for."""
    state, before = with_bundle(actions, "s-swap-wanted")
    result = turn(actions, state, Request(intent="swap", target="2", items=("teapot",)), text)
    assert result.kind == "bundle" and result.bundle is not None
    second = result.bundle.items[1]
    assert "teapot" in stem_set(second.item.title) and second.role == "anchor"
    assert [bi.item.item_id for n, bi in enumerate(result.bundle.items) if n != 1] == \
        [item_id for n, item_id in enumerate(before) if n != 1]
    # a mention of the item going out is no new thing: the usual swap
    old_title = result.bundle.items[0].item.title
    again = turn(actions, state, Request(intent="swap", target="1", items=(old_title.split()[0],)), "swap the first one")
    assert again.bundle is not None and again.bundle.items[0].item.title != old_title


def test_an_add_in_the_place_of_an_item_is_a_swap(actions: Actions) -> None:
    """Rule "in its place": "a teapot rather than the <third item>" parsed as an add puts the
    teapot where the third item was; the bundle does not grow."""
    state, before = with_bundle(actions, "s-in-place")
    third = state.bundle["items"][2]["title"]
    text = f"could we have a teapot rather than the {third.lower()}?"
    result = turn(actions, state, Request(intent="add", items=("teapot",)), text)
    assert result.bundle is not None and len(result.bundle.items) == len(before)
    assert "teapot" in stem_set(result.bundle.items[2].item.title)
    assert before[2] not in result.bundle.item_ids


def test_a_comparison_mention_of_a_bundle_item_is_that_item(actions: Actions) -> None:
    """"the cake stand or the teapot": the cake stand on screen, not a catalog look-alike."""
    state, ids = with_bundle(actions)
    word = _own_word(actions, ids, 1)
    result = turn(actions, state, Request(intent="compare", items=(word, "Regency Cakestand 3 Tier")),
                  f"the {word} or the Regency Cakestand 3 Tier, which is nicer?")
    assert result.kind == "answer" and result.request is not None
    assert result.request.items == (ids[1], CAKESTAND)


def test_a_question_whose_mention_runs_on_is_about_the_item_its_head_names(actions: Actions) -> None:
    """The parse's target "teapot dishwasher" (of "is the teapot dishwasher safe?") names no
    item; "teapot" does: an answer about a teapot, not the off-topic redirect."""
    state, ids = with_bundle(actions)
    assert not any("teapot" in actions.catalog.get(i).title.lower() for i in ids)
    result = turn(actions, state, Request(intent="question", target="teapot dishwasher"),
                  "is the teapot dishwasher safe?")
    assert result.kind == "answer" and "teapot" in result.text.split("\n")[0].lower()


def test_a_question_whose_mention_runs_on_from_a_modifier_is_not_any_item_with_it(actions: Actions) -> None:
    """"spotty dishwasher" names nothing, and "spotty" is no kind of thing: not answered about
    whichever spotty item comes first."""
    state, _ = with_bundle(actions)
    result = turn(actions, state, Request(intent="question", target="spotty dishwasher"),
                  "is the spotty dishwasher safe?")
    assert result.kind != "answer" or "spotty" not in result.text.split("\n")[0].lower()


def test_adding_what_is_already_in_the_bundle_shows_the_bundle_with_a_word_on_it(actions: Actions) -> None:
    """"add the <second item> too" when it is there: the same bundle, and the shopper told so."""
    state, before = with_bundle(actions, "s-already")
    second = state.bundle["items"][1]["title"]
    result = turn(actions, state, Request(intent="add", items=(second,)), f"add the {second.lower()} too")
    assert result.kind == "bundle" and result.bundle is not None
    assert list(result.bundle.item_ids) == before
    assert result.text == f"{second} is already in your bundle."
