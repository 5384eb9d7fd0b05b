"""What a bundle request asks for, as the compose action serves it: the catalog items the
shopper chose (anchors) and the need, from the parse and the shopper's words.

The model's item mentions are sorted here: a kind listed for a need ("bunting + lanterns"
for a garden do) is a want, a mention that names a catalog item is an anchor, and one that
names nothing in this shop ("new puppy arriving sunday") joins the need. The compose action
acts on the result, and `evals.served_reading` reads the served request through it, so the eval
scores what the shopper is served, not the raw parse.
"""

from __future__ import annotations

import dataclasses
import re

from assistant.compose.composer import BundleComposer
from assistant.dialogue.shop_reader import ShopReader
from assistant.records import Request
from assistant.understand.need_clauses import need_words
from assistant.understand.need_text import (
    chosen_mention,
    kind_mention,
    taste_only,
    tidy_need,
    wanted_things,
)
from assistant.understand.slots import need_from_text, strip_exclusions

__all__ = ["BundleWants", "read_bundle_wants"]


@dataclasses.dataclass(frozen=True)
class BundleWants:
    """`request` as read (the model's mentions sorted into kinds and items), `need` the need
    it is served with, `anchors` the catalog ids the shopper chose, `missing` the mentions
    that named nothing here, `codes` the stock codes typed, `taste` a need that only says
    "things I'd like" (served from the shopper's picks)."""

    request: Request
    need: str | None
    anchors: tuple[str, ...]
    missing: tuple[str, ...]
    codes: tuple[str, ...] = ()
    taste: bool = False

    def served(self) -> Request | None:
        """The request the reply carries, when it differs from the parse as read."""
        if not self.codes and self.need == self.request.need:
            return None
        return dataclasses.replace(self.request, items=self.anchors, need=self.need)

    def item_mentions(self) -> list[str]:
        """The shopper's words for the items chosen (the eval compares them with its labels)."""
        if not self.anchors:
            return []
        return [m for m in self.request.items if m not in self.missing] or list(self.anchors)


def read_bundle_wants(request: Request, text: str, shop: ShopReader, composer: BundleComposer) -> BundleWants:
    """The anchors and the need a bundle request is served with (see the module doc). A
    request that names neither keeps need None: the action decides what to do with it."""
    text_items = shop.text_items
    spelt = wanted_things(strip_exclusions(text))
    if spelt:  # "something X and something Y" written out: the shopper's own words are the need
        inside = [m for m in request.items if kind_mention(m, text) or any(
            m.lower() in w.lower() or w.lower() in m.lower() for w in spelt)]
        request = dataclasses.replace(request, items=tuple(m for m in request.items if m not in inside),
                                      need=_with_spelt_wants(request.need or text_items.need_in(text), spelt, composer))
    kinds = [m for m in request.items if kind_mention(m, text)]
    if kinds or (request.need and request.need != tidy_need(request.need)):
        # "something lace and something stool": wants, not two chosen items
        wants = [tidy_need(w) for w in [*([request.need] if request.need else []), *kinds]]
        request = dataclasses.replace(request, items=tuple(m for m in request.items if m not in kinds),
                                      need=" and ".join(dict.fromkeys(w for w in wants if w)) or None)
    anchors, missing = shop.resolve_items(request.items)
    if not anchors:  # a title typed out in full is an item, whatever slot the parser put it in
        anchors = text_items.titles_in(text)
    elif _listed_for_a_need(request, text, shop, composer):
        anchors, missing = [], []  # "teapot, pretty cups, a cake stand" for an afternoon tea: kinds to fill
        request = dataclasses.replace(request, need=_fullest_need(request) or need_from_text(text))
    codes = text_items.ids_in(text)
    if codes:  # stock codes typed by the shopper are anchors, and no longer "missing"
        anchors = list(dict.fromkeys([*anchors, *codes]))
        missing = [m for m in missing if not text_items.ids_in(m)]
    need = request.need
    if need and not re.search(r"[^\W\d_]{3,}", need):
        need = None  # "2", "#1": a position the model put in the wrong slot, not a need
    taste = bool(need and not anchors and taste_only(need))  # "surprise me with things I'd like"
    if not taste:
        if need and missing and not anchors:  # "a girl" + "unicorns": a mention that names no item is a want too
            need = " and ".join(dict.fromkeys([need, *missing]))
        if need and not anchors and not composer.need_match(need)[0]:
            # the parser's need phrase may have lost the words that matter ("a girl" from "a
            # birthday gift set for a girl who likes unicorns"): the shopper's own words next
            need = text_items.need_in(text) or need
        if need and anchors and text_items.titles_in(need) == anchors[:1]:
            need = None  # the "need" was the item's own title
        if anchors and not need:
            need = _need_beside(text, request.items, composer)
        if not anchors and not need and missing:
            need = " ".join(missing)
    return BundleWants(request, need, tuple(anchors), tuple(missing), tuple(codes), taste)


def _fullest_need(request: Request) -> str | None:
    """Rule "a mention that holds the need is the need": the parser may cut the need out of
    one of the things it listed ("sleepover for my daughter's 9th" listed, "my daughter's
    9th" as the need); the listed words say the whole occasion."""
    need = request.need
    if not need:
        return None
    holding = [m for m in request.items if need.casefold() in m.casefold() and len(m) > len(need)]
    return max(holding, key=len) if holding else need


def _need_beside(text: str, mentions: tuple[str, ...], composer: BundleComposer) -> str | None:
    """Rule "a need beside a product": the shopper's words less the products they chose, when
    the needs book knows them as an occasion, a person or a theme ("that woodland lunch bag
    for my son + some things that go with it for school": the bundle is for school, around
    the bag). "the red spotty lunch bag please" says nothing beside it."""
    rest = text
    for mention in sorted(mentions, key=len, reverse=True):
        rest = re.sub(rf"(?:\b(?:the|that|this|those|these|a|an|my)\s+)?\b{re.escape(mention)}\b", " ", rest,
                      flags=re.IGNORECASE)
    rest = tidy_need(need_from_text(re.sub(r"\s*\+\s*", ", ", rest)))
    if not rest or not need_words(rest) or not composer.kinds_for(rest, rest).kinds:
        return None
    return rest


def _with_spelt_wants(need: str | None, spelt: list[str], composer: BundleComposer) -> str | None:
    """The need once the shopper's "something X" wants are read: the model's need when it
    already says them ("my godson's christening, something keepsake-ish"); the two joined
    when the shop has things for each ("a christening, something for the table"); else
    whichever the shop has things for; None leaves the picks-based answer to follow
    ("something gingham and something star" in a shop with neither)."""
    spelt_need = " and ".join(spelt)
    # the model's need beyond the wants, without chat ("thanks, i also need ..." says nothing more)
    says_more = bool(need) and bool(set(need_words(need or "")) - set(need_words(spelt_need)))
    if says_more and need and all(want.casefold() in need.casefold() for want in spelt):
        return need
    need_served = says_more and composer.need_match(need or "")[0]
    if composer.need_match(spelt_need)[0]:
        return f"{need}, {spelt_need}" if need_served else spelt_need
    return need if need_served else None


def _listed_for_a_need(request: Request, text: str, shop: ShopReader, composer: BundleComposer) -> bool:
    """Are the model's item mentions things listed for a need the needs book knows (an
    occasion, a person, a theme), rather than catalog items the shopper chose? A title typed
    out in full, a stock code or mentions all said as "the ..." are a choice."""
    text_items = shop.text_items
    if request.items and all(chosen_mention(m, text) for m in request.items):
        return False
    return bool(text) and not text_items.titles_in(text) and not text_items.ids_in(text) and len(
        composer.kinds_for(text, request.need or need_from_text(text)).kinds) >= 2
