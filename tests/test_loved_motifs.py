"""Rule "a loved motif is itself" (`compose/need_kinds.py`): a thing someone loves that the
shop sells by name leads their present, two things that carry it, and is not read as a need
of the book that only wears it as a look (owls are a bird lover's look, strawberries a jam
maker's). A need that says the motif, or another word of the request, stays."""

from __future__ import annotations

import pytest

from assistant.compose.composer import BundleComposer
from assistant.compose.needs_book import NeedsBook, shipped_needs_path
from assistant.understand.words import stem_set
from retrieval.shop_index import ShopIndex, ensure_default_index


@pytest.fixture(scope="module")
def composer() -> BundleComposer:
    index = ShopIndex.load(ensure_default_index())
    return BundleComposer(index, needs=NeedsBook.load(shipped_needs_path()))


def _titles(composer: BundleComposer, text: str, budget: float = 20.0) -> list[str]:
    return [bi.item.title for bi in composer.compose([], text, budget, request_text=text).bundle.items]


@pytest.mark.parametrize(("text", "motif"), [("my niece is obsessed with owls", "owl"),
                                             ("my sister loves strawberries", "strawberry"),
                                             ("a present for my brother, he's mad about dinosaurs", "dinosaur")])
def test_a_loved_motif_leads_the_present_with_two_things(composer: BundleComposer, text: str, motif: str) -> None:
    titles = _titles(composer, text)
    carrying = [t for t in titles if motif in stem_set(t)]
    assert len(carrying) >= 2, titles
    assert not any({"feeder", "birdhouse"} & stem_set(t) or "bird house" in t.lower() for t in titles), titles


def test_a_need_that_says_the_request_stays(composer: BundleComposer) -> None:
    garden = _titles(composer, "mother-in-law is impossible to buy for. she's into her garden and the birds.", 25.0)
    assert any({"watering", "kneeling", "gardener", "gardeners", "tools"} & stem_set(t) for t in garden), garden
    kitchen = _titles(composer, "It's mum's 60th on saturday, she likes pretty things for the kitchen.", 30.0)
    assert not any("pretty" in stem_set(t) for t in kitchen), kitchen  # a taste word is no motif
