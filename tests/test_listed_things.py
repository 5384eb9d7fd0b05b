"""Things a shopper lists for a bundle are each in it, however the list is written.

Rules "listed wants" (chat joins things with "+", "/" and "n", and trails off with "that
sort of thing") and "a run of things" (things said one after another without commas,
split where the shop sells each part by that name). Found by reading the bundles for
ordinary requests: "mug teapot cake stand under 30" came back with no mug, "apron + tins"
with no tins, "garden do, bunting + lanterns" led with a "Do Not Touch My Stuff" door
hanger, and "bowls and a toy" for a new puppy with round cake tins.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.compose.composer import BundleComposer
from assistant.compose.listed_things import things_in_a_run
from assistant.compose.need_kinds import only_the_things
from assistant.compose.needs_book import NeedsBook, shipped_needs_path
from assistant.understand.amounts import without_money
from assistant.understand.need_text import listed_wants
from assistant.understand.words import content_stems, stem
from retrieval.shop_index import ShopIndex


def test_chat_joiners_and_trailing_words_split_a_list() -> None:
    assert listed_wants("bunting + lanterns") == ["bunting", "lanterns"]
    assert listed_wants("apron + tins + whatever else") == ["apron", "tins", "whatever else"]
    assert listed_wants("plates/cups for the bbq") == ["plates", "cups"]
    assert listed_wants("the doorstop n the big owl bag") == ["doorstop", "big owl bag"]
    assert listed_wants("paper plates napkins that sort of thing") == ["paper plates napkins"]
    assert listed_wants("crackers or whatever") == ["crackers"]
    # a price's slash and a word with "n" in it are no joiners
    assert listed_wants("set/20 napkins") == ["set/20 napkins"]
    assert listed_wants("lanterns") == ["lanterns"]


def test_what_closes_an_amount_goes_with_it() -> None:
    assert without_money("cookie cutters, like $30 tops").strip(" ,") == "cookie cutters, like"
    assert "max" not in without_money("candles, 20 quid max")
    assert without_money("a tenner or so for mum").strip() == "for mum"
    assert "tops" in without_money("crop tops for the girls")  # no amount before it: a thing
    # what leads an amount goes too: "budget" was once a listed thing, and a garden party for
    # 12 came back with nothing ("this shop sells no budget")
    assert "budget" not in without_money("want the table to look nice, budget around 60 quid")
    assert without_money("farmhouse style. £60 budget").strip(" .") == "farmhouse style"
    assert without_money("my budget is £20 for candles").split() == ["for", "candles"]


class TitleWords:
    """The two questions the rule asks of a shop, over a made-up outdoor shop's titles."""

    def __init__(self, titles: Sequence[str]) -> None:
        self.titles = [frozenset(content_stems(title)) for title in titles]
        self.heads: dict[str, int] = {}
        for title in titles:
            head = stem(title.lower().split()[-1])
            self.heads[head] = self.heads.get(head, 0) + 1

    def names_a_kind(self, word: str) -> bool:
        return self.heads.get(stem(word.lower()), 0) >= 3

    def items_with_words(self, words: Sequence[str]) -> list[int]:
        stems = [stem(word.lower()) for word in words]
        return [i for i, title in enumerate(self.titles) if stems and all(s in title for s in stems)]


OUTDOOR_TITLES = [
    "Enamel Camping Mug", "Folding Camping Mug", "Insulated Travel Mug",
    "Two Person Dome Tent", "Family Tent", "Pop Up Beach Tent",
    "Folding Camp Stove", "Mini Gas Stove", "Double Burner Stove",
    "Head Torch", "Pocket Torch", "Wind Up Torch",
    "Sleeping Bag", "Dry Bag", "Kit Bag",
    "Green Enamel Plates", "Tin Plates", "Picnic Plates",
]


@pytest.mark.parametrize(("said", "things"), [
    ("tent stove head torch", ["tent", "stove", "head torch"]),
    ("sleeping bag mug", ["sleeping bag", "mug"]),
    ("tent", ["tent"]),
    ("sleeping bag", ["sleeping bag"]),          # one title has both words: one thing
    ("green enamel plates", ["green enamel plates"]),  # a look and its thing stay one want
    ("green tent", ["green tent"]),              # "green" is no thing: one want, as said
    ("comfy warm outdoor gear", []),              # four words, no run of things: nothing
])
def test_a_run_of_things_is_split_where_the_shop_sells_each_part(said: str, things: list[str]) -> None:
    assert things_in_a_run(said, TitleWords(OUTDOOR_TITLES)) == things  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def composer(shop_index: ShopIndex) -> BundleComposer:
    return BundleComposer(shop_index, needs=NeedsBook.load(shipped_needs_path()))


def _titles(composer: BundleComposer, text: str, need: str, guests: int | None = None,
            budget: float | None = None) -> list[str]:
    bundle = composer.compose(need=need, budget=budget, guests=guests, request_text=text).bundle
    assert bundle is not None
    return [line.item.title.lower() for line in bundle.items]


def test_each_thing_of_a_run_is_in_the_bundle(composer: BundleComposer) -> None:
    text = "mug teapot cake stand under 30"
    plan = composer.kinds_for(text, "mug teapot cake stand")
    assert plan.asked_for == ("mug", "teapot", "cake stand")
    titles = _titles(composer, text, "mug teapot cake stand", budget=30)
    for thing in ("mug", "teapot", "cake stand"):
        assert any(all(word in title for word in thing.split()) for title in titles), (thing, titles)
    assert only_the_things("mug teapot cake stand", plan.asked_for)


def test_things_joined_with_plus_are_each_in_the_bundle(composer: BundleComposer) -> None:
    text = "red spotty kitchen stuff, apron + tins + whatever else, 35 quid"
    titles = _titles(composer, text, "red spotty kitchen stuff", budget=35)
    assert any("apron" in title for title in titles), titles
    assert any("tin" in title.split() or "tins" in title.split() for title in titles), titles
    assert not only_the_things("red spotty kitchen stuff", ("apron", "tins"))


def test_a_party_called_a_do_is_no_thing_to_buy(composer: BundleComposer) -> None:
    text = "garden do, 12 ppl, bunting + lanterns, £60, oh and nothing plastic"
    plan = composer.kinds_for(text, "garden do", guests=12)
    assert "do" not in [kind.name for kind in plan.kinds]
    assert plan.asked_for[:2] == ("bunting", "lanterns")
    titles = _titles(composer, text, "garden do", guests=12, budget=60)
    assert not any("door hanger" in title for title in titles), titles
    assert any("bunting" in title for title in titles) and any("lantern" in title for title in titles), titles


def test_a_thing_the_needs_book_names_is_a_thing_whatever_titles_end_in(composer: BundleComposer) -> None:
    """The catalog says "Cushion Cover": "cushions" is still a thing the shopper listed."""
    text = "Moving into a little cottage and I want it homely straight away – cushions, a doormat. £75"
    assert composer.kinds_for(text, "cottage, homely").asked_for[:2] == ("cushions", "doormat")
    plan = composer.kinds_for("garden party for 12 of us in june - want the table to look nice, budget around 60 quid",
                              "garden party in june", guests=12)
    assert plan.kinds, "a garden party is no list of unsold things"


def test_a_new_puppys_bowls_and_toy_come_without_cake_tins(composer: BundleComposer) -> None:
    text = "new puppy arriving sunday!!! bowls and a toy? under 18"
    plan = composer.kinds_for(text, "new puppy")
    assert plan.asked_for == ("bowls", "toy")
    titles = _titles(composer, text, "new puppy", budget=18)
    assert any("bowl" in title for title in titles) and any("toy" in title for title in titles), titles
    assert not any("cake" in title for title in titles), titles


def test_what_the_bundle_holds_by_name(composer: BundleComposer) -> None:
    """`KindPlan.asked_for`: the listed things and the kinds named outright that lead the plan,
    in the shopper's words; an occasion alone names none. A thing ruled out is not asked
    for: "candles, no scented" is no request for scented candles."""
    text = "a tea party for mum, a cake stand and some bunting"
    assert composer.kinds_for(text, "tea party for mum").asked_for == ("cake stand", "bunting")
    assert composer.kinds_for("a garden party for 12", "garden party", guests=12).asked_for == ()
    plan = composer.kinds_for("candles. £10. no scented", "candles")
    assert not any(kind.asked and "scented" in kind.said_as for kind in plan.kinds)


def test_what_is_no_thing_is_never_asked_for(composer: BundleComposer) -> None:
    """Words that are in some title but name no thing anyone lists ("hold on", the "com" of
    an email, "for the table", a verb of liking) lead no kind: each once filled a line with
    whatever title held the word."""
    for text, need in [
        ("hold on, totally different plan – we're having a bbq now, ten of us", "bbq"),
        ("my name is Jo, jo@mail.com - a thank you gift for my neighbour", "thank you gift for my neighbour"),
        ("bbq this weekend, two families, about ten people. plates, cups, something for the table", "bbq"),
        ("my wife loves all things french, anniversary coming up", "anniversary"),
    ]:
        asked = composer.kinds_for(text, need).asked_for
        assert not {"hold on", "com", "for the table", "table", "love"} & set(asked), (text, asked)
    assert listed_wants("plates, cups, something for the table") == ["plates", "cups"]


def test_what_someone_loves_is_an_interest_not_a_thing_asked_for(composer: BundleComposer) -> None:
    """"my nan, she loves baking and her garden" got a "Bunny Decoration Magic Garden" as
    "a garden you asked for": a loved thing is served by its need's kinds, and no item
    mention takes it out of the need."""
    from assistant.records import Request
    from assistant.understand.slots import complete_slots

    text = "something for my nan, she loves baking and her garden, under 20"
    plan = composer.kinds_for(text, "for my nan, she loves baking and her garden")
    assert "garden" not in plan.asked_for and "her garden" not in plan.asked_for
    titles = _titles(composer, text, "for my nan, she loves baking and her garden", budget=20)
    assert not any("decoration" in title for title in titles), titles
    served = complete_slots(Request(intent="bundle", need="my nan", items=("baking", "garden")), text)
    assert served.items == () and "garden" in (served.need or "")
