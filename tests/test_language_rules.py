"""English rules as shoppers write: phone typography, budget ranges, the ways of ruling a
thing out, positions in words, cart questions. Each case must match or must not."""

from __future__ import annotations

import pytest

from assistant.records import Request
from assistant.safety.guard import check_input
from assistant.understand.amounts import budget_range_in
from assistant.understand.shopper_cues import asks_about_cart, positions_in
from assistant.understand.slots import budget_in, exclusions_in, reconcile_intent


@pytest.mark.parametrize(("typed", "read"), [
    ("I don’t want candles", "I don't want candles"),
    ("“pink” things – £15—25", '"pink" things - £15-25'),
    ("my nan‘s 80th", "my nan's 80th"),
])
def test_the_guard_gives_every_rule_one_spelling_of_quotes_and_dashes(typed: str, read: str) -> None:
    assert check_input(typed) == read


@pytest.mark.parametrize(("text", "span"), [
    ("between £10 and £20", (10, 20)), ("£15-25", (15, 25)), ("from 10 to 20 quid", (10, 20)),
    ("£15 - £25", (15, 25)), ("20 to 30 pounds", (20, 30)), ("a £5 to £10 gift", (5, 10)),
    (check_input("somewhere £15–£25"), (15, 25)),
    ("for 6-8 people", None), ("between 10 and 12 guests", None), ("10 to 15 kids", None),
    ("£20 and £5 each", None), ("under £30", None),
])
def test_a_budget_range(text: str, span: tuple[float, float] | None) -> None:
    assert budget_range_in(text) == span
    if span is not None:
        assert budget_in(text) == span[1]  # the top is never exceeded


@pytest.mark.parametrize(("text", "ruled_out"), [
    (check_input("I don’t want candles"), ("candles",)),
    ("skip the candles", ("candles",)),
    ("I'd rather not have candles", ("candles",)),
    ("not a fan of pink", ("pink",)),
    ("she's not a fan of pink", ("pink",)),
    ("he's not keen on glass", ("glass",)),
    ("no candles please", ("candles",)),
    ("she hates candles", ("candles",)),
    ("he can't stand glitter", ("glitter",)),
    ("anything but christmas stuff", ("christmas stuff",)),
    ("my son is allergic to wool", ("wool",)),
    ("I hate to ask but is the mug big?", ()),
    ("I'm not sure", ()),
    ("it's not for me", ()),
    ("a skipping rope for my son", ()),
])
def test_ways_of_ruling_a_thing_out(text: str, ruled_out: tuple[str, ...]) -> None:
    assert exclusions_in(text) == ruled_out


@pytest.mark.parametrize(("text", "positions"), [
    ("swap the middle one", ("middle",)), ("replace number two", ("2",)), ("swap the last one", ("last",)),
    ("number 3 please", ("3",)), ("the first one", ("1",)),
    ("number two things", ()), ("two of them", ()),
])
def test_positions_in_words(text: str, positions: tuple[str, ...]) -> None:
    assert positions_in(text) == positions


@pytest.mark.parametrize(("text", "asks"), [
    ("anything in my cart yet?", True), ("what's in my basket", True), ("show my cart", True),
    ("add it to my cart", False), ("a bag for my shopping", False),
])
def test_cart_questions(text: str, asks: bool) -> None:
    assert asks_about_cart(text) is asks


def test_the_middle_one_is_the_middle_line() -> None:
    from assistant.compose.targets import resolve_target
    from assistant.records import Bundle, BundleItem
    from retrieval.records import Item

    def bundle(n: int) -> Bundle:
        return Bundle(tuple(BundleItem(Item(f"I{i}", f"Thing {i}", 1.0), ()) for i in range(n)))

    assert resolve_target(bundle(5), "middle", lambda *_: None) == 2
    assert resolve_target(bundle(4), "the middle one", lambda *_: None) == 1


def test_an_unsaid_position_gives_way_to_the_title_the_words_say() -> None:
    from assistant.compose.targets import title_said_in
    from assistant.records import Bundle, BundleItem
    from assistant.understand.slots import unsaid_position
    from retrieval.records import Item

    titles = ["Ridged Glass Posy Vase", "Vintage Glass Tea Caddy", "Etched Glass Coaster", "Hanging Glass Tealight"]
    bundle = Bundle(tuple(BundleItem(Item(f"I{n}", t, 1.0), ()) for n, t in enumerate(titles)))
    said = "that vase isn't my style at all, different one pls?"
    assert unsaid_position("4", said) and title_said_in(bundle, said) == 0
    assert title_said_in(bundle, "the glass one") is None  # a word every title shares names none
    assert title_said_in(bundle, "not sure about it") is None
    assert not unsaid_position("4", "swap number 4 for a vase")  # said: the position stands


@pytest.mark.parametrize(("text", "says"), [
    ("je cherche un cadeau pour ma mère", "anglais"), ("Ein Geschenkset für Ostern bitte", "Englisch"),
    ("un regalo para una fiesta de té, menos de 20 libras", "inglés"), ("cerco un regalo per mia madre", "inglese"),
    ("ik zoek een cadeau voor mijn moeder", "Engels"), ("procuro um presente para minha mãe", "inglês"),
    ("szukam prezentu dla mojej mamy", "angielsku"), ("给我妈妈的生日礼物", "英语"),
    ("подарок для мамы", "only work in English"),
    ("a tea party for my nan", None), ("as cheap as possible", None), ("£5 per item, party favours", None),
    ("the Fleur de Lys candle", None), ("La Vie en Rose mug for my sister", None), ("merci", None),
    ("what goes with the Lunch Bag Red Retrospot?", None), ("Noël decorations please", None),
])
def test_another_language_is_told_the_shop_speaks_english(text: str, says: str | None) -> None:
    from assistant.understand.languages import other_language_reply

    reply = other_language_reply(text)
    assert (reply is None) if says is None else (reply is not None and says in reply)


@pytest.mark.parametrize(("data", "message"), [
    ([], "top level: must be a mapping"),
    ({"version": 2}, "field 'version': must be 1"),
    ({"version": 1, "english": ["a"] * 5, "languages": [{"code": "fr", "name": "French", "words": ["je"],
                                                        "reply": "x"}],
      "chinese_reply": "x", "other_script_reply": "x"}, "language 1, field 'words': must be a list of at least 5"),
    ({"version": 1, "colour": "red"}, "field 'colour': unknown field"),
])
def test_a_malformed_languages_file_names_the_entry_and_field(data: object, message: str) -> None:
    from assistant.understand.languages import LanguageFileError, Languages

    with pytest.raises(LanguageFileError, match=r"languages file x\.yaml") as caught:
        Languages.parse(data, "x.yaml")
    assert message in str(caught.value)


def test_no_reply_to_another_language_names_a_price() -> None:
    import re

    from assistant.understand.languages import shipped_languages

    book = shipped_languages()
    replies = [language.reply for language in book.languages] + [book.chinese_reply, book.other_script_reply]
    assert not [reply for reply in replies if re.search(r"[£$€]|\d", reply)]


@pytest.mark.parametrize(("text", "parsed", "served"), [
    ("throw in the picnic basket", Request(intent="add", items=("picnic basket",)), "add"),  # a title, no cart
    ("order the mug for me", Request(intent="add_to_cart", target="mug"), "add_to_cart"),
    ("i'll take the lot", Request(intent="add_to_cart"), "add_to_cart"),
    ("what order should I open them in", Request(intent="question"), "question"),
    ("the mug please", Request(intent="add_to_cart", target="mug"), "bundle"),  # no cart words: nothing added
])
def test_cart_wording_is_the_shoppers_not_a_title_word(text: str, parsed: Request, served: str) -> None:
    assert reconcile_intent(parsed, text).intent == served


def test_a_misspelt_title_word_still_names_its_item() -> None:
    from assistant.compose.errors import TargetNotFoundError
    from assistant.compose.targets import resolve_target
    from assistant.records import Bundle, BundleItem
    from retrieval.records import Item

    titles = ["Scottie Dog Hot Water Bottle", "Box of 9 Pebble Candles", "Vintage Notebook Paris Days",
              "Lantern Cream Gazebo"]
    bundle = Bundle(tuple(BundleItem(Item(f"I{n}", t, 1.0), ()) for n, t in enumerate(titles)))
    for typed, position in [("candels", 1), ("teh candels", 1), ("notebok", 2), ("lanturn", 3), ("bottel", 0)]:
        assert resolve_target(bundle, typed, lambda *_: None) == position, typed
    for typed in ("lantrun", "the dgo", "the red thing"):  # two slips, a short word, no title's word
        with pytest.raises(TargetNotFoundError):
            resolve_target(bundle, typed, lambda *_: None)
