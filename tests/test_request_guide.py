"""The parser's JSON guide on hand-written text (no model): only a valid Request spells."""

from __future__ import annotations

import json

import pytest

from assistant.records import INTENTS, Request
from assistant.understand.parser import PREFILL, read_request
from assistant.understand.request_guide import RequestJsonGuide

GOOD = [
    '{"intent": "bundle", "need": "a picnic", "budget": 20}',
    '{"intent": "bundle", "items": ["lunch bag", "tea towel"], "exclude": ["candles"], "size": 4}',
    '{"intent": "remove", "target": "2"}',
    '{"intent": "set_budget", "budget": 12.5}',
    '{"intent":"smalltalk"}',
]


@pytest.mark.parametrize("text", GOOD)
def test_every_prefix_of_a_valid_request_is_allowed_and_only_the_whole_may_end(text: str) -> None:
    guide = RequestJsonGuide()
    assert all(guide.allows(text[:i], text[i]) for i in range(len(text)))
    assert guide.allows_end(text)
    assert not guide.allows_end(text[:-1])
    request, _, error = read_request(text)
    assert request is not None and error is None


@pytest.mark.parametrize(("text", "piece"), [
    ('{"intent": "', "shout"),                          # not an intent
    ('{"intent": "bundle", "', "colour"),               # not a key
    ('{"intent": "bundle", "need": "x", "', "need"),    # a key twice
    ('{"intent": "bundle", "budget": ', '"'),           # a number, not a string
    ('{"intent": "bundle", "budget": 45', "x45cm"),     # what the model once wrote
    ('{"intent": "bundle", "size": 4', ".5"),           # a whole number
    ('{"intent": "add", "items": ["bundle", "12"', "}"),  # the list is not closed
    ('{"intent": "bundle", "need": "a', "\n"),          # strings stay on one line
    ('{"intent": "bundle"}', " and more"),              # nothing after the object
    ('{"intent": "bundle", "budget": ', "₂"),           # digits are ASCII
])
def test_a_token_that_breaks_the_schema_is_refused(text: str, piece: str) -> None:
    assert RequestJsonGuide().allows(text, "") or text == ""
    assert not RequestJsonGuide().allows(text, piece)


def test_every_intent_and_the_prefill_spell_through_the_guide() -> None:
    guide = RequestJsonGuide()
    for intent in INTENTS:
        text = json.dumps(Request(intent=intent).to_dict())
        assert text.startswith(PREFILL[:-1]) and guide.allows_end(text)
    assert not guide.allows_end(PREFILL)


MESSAGE = "Swap the Lunch Bag Red for something antique, under £20 - no \"glass\" please"


@pytest.mark.parametrize("text", [
    '{"intent": "swap", "target": "lunch bag red", "items": ["antique"]}',   # case aside
    '{"intent": "swap", "target": "3"}',                                     # a position
    '{"intent": "bundle", "need": "something antique", "exclude": ["\\"glass\\""]}',  # escapes
    '{"intent": "bundle", "need": "\\u0061ntique"}',
])
def test_text_values_copied_from_the_message_are_allowed(text: str) -> None:
    guide = RequestJsonGuide(source=MESSAGE)
    assert all(guide.allows(text[:i], text[i]) for i in range(len(text)))
    assert guide.allows_end(text)


@pytest.mark.parametrize(("text", "piece"), [
    ('{"intent": "bundle", "need": "ant', "epetitoin"),     # a need the shopper never wrote
    ('{"intent": "bundle", "need": "', "a match"),
    ('{"intent": "swap", "target": "lunch bag', " blue"),
    ('{"intent": "bundle", "exclude": ["', "candles"),
    ('{"intent": "compare", "items": ["lunch bag red", "', "teapot"),
    ('{"intent": "bundle", "need": "', "3"),               # a position is a target's only
    ('{"intent": "swap", "target": "', "123"),             # no position has three digits
])
def test_a_text_value_the_message_does_not_hold_is_refused(text: str, piece: str) -> None:
    guide = RequestJsonGuide(source=MESSAGE)
    assert guide.allows(text, "")
    assert not guide.allows(text, piece)


def test_without_a_source_any_text_value_spells() -> None:
    assert RequestJsonGuide().allows('{"intent": "bundle", "need": "', "antepetitoin")


@pytest.mark.parametrize(("text", "piece"), [
    ('{"intent": "bundle", "size": 2', "0"),        # what the tuned model once wrote: size 200
    ('{"intent": "bundle", "size": ', "0"),         # a count starts at 1
    ('{"intent": "bundle", "party_size": 50', "1"),
    ('{"intent": "bundle", "budget": 0', "}"),      # a budget is above zero
    ('{"intent": "bundle", "budget": 0', "5"),      # no leading zeros in JSON
    ('{"intent": "bundle", "budget": 100000', "1"),  # above MAX_BUDGET
])
def test_numbers_outside_what_a_request_accepts_are_refused(text: str, piece: str) -> None:
    guide = RequestJsonGuide()
    assert guide.allows(text, "")
    assert not guide.allows(text, piece)


@pytest.mark.parametrize("text", ['{"intent": "bundle", "size": 10}', '{"intent": "bundle", "budget": 0.5}',
                                  '{"intent": "bundle", "party_size": 500, "budget": 1000000}'])
def test_numbers_at_the_edges_of_the_ranges_spell(text: str) -> None:
    guide = RequestJsonGuide()
    assert all(guide.allows(text[:i], text[i]) for i in range(len(text)))
    assert guide.allows_end(text) and read_request(text)[0] is not None
