"""What a message says about the bundle on screen, when a small parser misreads it (rules
"rather have this than that", "keep it", "out it goes", "the price stings", "do you sell
it"; their examples both ways are in `rules.py`). Each case below is a misreading the tuned
parser made on the hand-written set, served through the real Assistant with the scripted
parser giving that misreading."""

from __future__ import annotations

import pytest
from scripted_model import ScriptedParser

from assistant.dialogue.service import Assistant
from assistant.records import Request
from assistant.understand.edit_cues import edit_on_screen


@pytest.mark.parametrize(("text", "parsed", "on_screen", "served"), [
    ("I'd rather have a teapot than that mug to be honest", Request(intent="compare", items=("teapot", "mug")), True,
     Request(intent="swap", items=("teapot",), target="mug")),
    ("dont u dare touch that teapot", Request(intent="remove", target="1"), True, Request(intent="lock", target="1")),
    ("bucket is a must. everything else can change", Request(intent="swap", target="1"), True,
     Request(intent="lock", target="1")),
    ("the candle stays but swap the mug", Request(intent="swap", target="mug"), True,
     Request(intent="swap", target="mug")),
    ("don't want number 2 in there at all, rest is fine", Request(intent="lock", target="2"), True,
     Request(intent="remove", target="2")),
    ("yikes, that total made my eyes water", Request(intent="off_topic"), True, Request(intent="cheaper")),
    ("yikes, that total made my eyes water", Request(intent="off_topic"), False, Request(intent="off_topic")),
    ("oof. my wallet's crying, go cheeper??", Request(intent="bundle", need="my wallet's crying, go cheeper"), True,
     Request(intent="cheaper")),
    ("I'm skint, need a birthday present for my mum", Request(intent="bundle", need="birthday present for my mum"),
     True, Request(intent="bundle", need="birthday present for my mum")),
    ("do you sell bunting?", Request(intent="off_topic"), False, Request(intent="bundle", need="bunting")),
    ("the cat'll sulk if she's left out, summat for her as well?", Request(intent="off_topic"), True,
     Request(intent="add", need="the cat")),
    ("kids are coming along too so can u put in a thing or two", Request(intent="add"), True,
     Request(intent="add", need="kids")),
    ("do you deliver to ireland?", Request(intent="question"), False, Request(intent="question")),
    ("thank u sm for the help earlier!!", Request(intent="off_topic"), False, Request(intent="smalltalk")),
    ("she's gone off pink - could we have a version with zero pink in it", Request(intent="swap", exclude=("pink",)),
     True, Request(intent="bundle", exclude=("pink",))),
    ("no need for the card, I'll write my own", Request(intent="bundle", need="I'll write my own"), True,
     Request(intent="remove")),
    ("a black tree is a bit goth for my mum, have you another?", Request(intent="bundle", need="a black tree"), True,
     Request(intent="swap")),
    ("wreath, wot does that one cost", Request(intent="bundle", items=("wreath",)), True,
     Request(intent="question", target="wreath")),
    ("how much is a teapot and a cake stand together, I need both", Request(intent="bundle", need="teapot"), False,
     Request(intent="bundle", need="teapot")),
    ("thanks, now what's the weather in leeds", Request(intent="off_topic"), False, Request(intent="off_topic")),
    ("the owl thing's cute but 8 quid for a doorstop?? take it out",
     Request(intent="bundle", need="the owl thing's cute, for a doorstop", budget=8), True, Request(intent="remove")),
    ("show me more like the playing cards? they're visiting from canada", Request(intent="off_topic"), True,
     Request(intent="more_like")),
])
def test_a_misread_edit_is_served_as_the_words_say(text: str, parsed: Request, on_screen: bool,
                                                  served: Request) -> None:
    assert edit_on_screen(parsed, text, on_screen) == served


def test_rather_have_puts_the_named_thing_in_the_place_of_the_one_that_goes(
        scripted_assistant: Assistant, scripted_parser: ScriptedParser) -> None:
    scripted_parser.add({"I'd rather have a jug than that teapot to be honest":
                         '{"intent": "compare", "items": ["jug", "teapot"]}'})
    session = scripted_assistant.open_session()
    before = scripted_assistant.turn(session, "a tea party under £20").bundle
    assert before is not None
    teapot = next(n for n, line in enumerate(before.items) if "teapot" in line.item.title.lower())
    after = scripted_assistant.turn(session, "I'd rather have a jug than that teapot to be honest").bundle
    assert after is not None and len(after.items) == len(before.items)
    assert "jug" in after.items[teapot].item.title.lower(), [line.item.title for line in after.items]
    others = [line.item.item_id for n, line in enumerate(before.items) if n != teapot]
    assert [line.item.item_id for n, line in enumerate(after.items) if n != teapot] == others


def test_keep_it_locks_and_the_price_stings_makes_it_cheaper(
        scripted_assistant: Assistant, scripted_parser: ScriptedParser) -> None:
    scripted_parser.add({"dont u dare touch that teapot": '{"intent": "remove", "target": "teapot"}',
                         "yikes, that total made my eyes water": '{"intent": "off_topic"}'})
    session = scripted_assistant.open_session()
    before = scripted_assistant.turn(session, "a tea party under £20").bundle
    assert before is not None
    kept = scripted_assistant.turn(session, "dont u dare touch that teapot")
    assert kept.request is not None and kept.request.intent == "lock"
    assert kept.bundle is not None and any("teapot" in line.item.title.lower() for line in kept.bundle.items)
    cheaper = scripted_assistant.turn(session, "yikes, that total made my eyes water")
    assert cheaper.kind == "bundle" and cheaper.bundle is not None
    assert cheaper.bundle.total < before.total
    assert any("teapot" in line.item.title.lower() for line in cheaper.bundle.items)  # the lock holds


def test_do_you_sell_it_shows_a_choice_of_them(scripted_assistant: Assistant,
                                              scripted_parser: ScriptedParser) -> None:
    scripted_parser.add({"do u do cake stands at all?": '{"intent": "question"}'})
    reply = scripted_assistant.turn(scripted_assistant.open_session(), "do u do cake stands at all?")
    assert reply.kind == "bundle" and reply.bundle is not None
    titles = [line.item.title.lower() for line in reply.bundle.items]
    assert sum("cake stand" in title for title in titles) >= 2, titles


def test_one_for_them_too_adds_a_thing_for_them(scripted_assistant: Assistant,
                                                scripted_parser: ScriptedParser) -> None:
    scripted_parser.add({"the kids are coming too, summat for them as well?": '{"intent": "off_topic"}'})
    session = scripted_assistant.open_session()
    before = scripted_assistant.turn(session, "a tea party under £20").bundle
    assert before is not None
    reply = scripted_assistant.turn(session, "the kids are coming too, summat for them as well?")
    assert reply.request is not None and reply.request.intent == "add"
    assert reply.bundle is not None and len(reply.bundle.items) == len(before.items) + 1


def test_a_mention_that_names_nothing_on_screen_gives_way_to_the_title_words_said() -> None:
    """Rule "a mention must name something on screen": "mantelpiece" is no item; "mosaic" is."""
    from assistant.compose.targets import names_nothing_on_screen, title_said_in
    from assistant.records import Bundle, BundleItem
    from retrieval.records import Item

    bundle = Bundle(tuple(BundleItem(Item(f"i{n}", title, price=1.0)) for n, title in enumerate(
        ["Glass Star Frosted T-Light Holder", "Mosaic Candle Holder Blue", "Scented Candle Vanilla"])))
    text = "definitely keep the mosaic one, it'll look gorgeous on the mantelpiece"
    assert names_nothing_on_screen(bundle, "mantelpiece") and title_said_in(bundle, text) == 1
    assert not names_nothing_on_screen(bundle, "the candle") and not names_nothing_on_screen(bundle, "2")


def test_goodbye_gets_a_goodbye_not_the_opening_greeting(scripted_assistant: Assistant,
                                                         scripted_parser: ScriptedParser) -> None:
    from assistant.dialogue.cart_and_answers import GOODBYE, GREETING

    scripted_parser.add({"that's all, bye": '{"intent": "smalltalk"}'})
    reply = scripted_assistant.turn(scripted_assistant.open_session(), "that's all, bye")
    assert reply.kind == "smalltalk" and reply.text == GOODBYE
    assert scripted_assistant.turn(scripted_assistant.open_session(), "hello").text == GREETING


def test_ruling_out_alone_is_removing_even_with_a_target_parsed() -> None:
    """Rule "ruling out is removing": "actually, no candles please" says nothing else, so the
    parser's swap of "candles" is their removal; "swap the mug, no candles" stays a swap."""
    from assistant.understand.slots import complete_slots, reconcile_intent

    def served(request: Request, text: str) -> str:
        return reconcile_intent(complete_slots(request, text), text).intent

    assert served(Request(intent="swap", target="candles", exclude=("candles",)), "actually, no candles please") == "remove"
    assert served(Request(intent="swap", target="mug", exclude=("candles",)), "swap the mug, no candles") == "swap"
