"""The things a shopper lists for a bundle, read against the shop's titles: which listed
phrases name a thing the shop sells by that name, and which are runs of things said without
commas. `need_kinds` turns them into the kinds that lead a plan."""

from __future__ import annotations

import re

from assistant.compose.matching import CatalogMatcher
from assistant.understand.colours import colours_in
from assistant.understand.need_text import GENERIC_HEADS, NOT_A_THING_HEADS, TASTE_WORDS
from assistant.understand.words import content_stems

__all__ = ["CONTAINERS", "GENERIC_WORDS", "LONGEST_RUN", "ends_in_a_kind", "names_a_thing", "reads_like_a_product",
           "things_in_a_run", "unsold"]

# Words that hold a request's things rather than name them ("a set of things for a teacher"):
# never a product the shopper asked for.
CONTAINERS = frozenset({"set", "selection", "collection", "bit", "thing", "stuff", "lot", "range", "few"})
GENERIC_WORDS = CONTAINERS | GENERIC_HEADS | {"something", "anything", "everything", "idea", "gift", "present",
                                             "bundle", "themed"}


# Rule "a run of things": things said one after another without commas are each wanted,
# when no title has all the words and every part is a thing the shop sells by that name:
#   "mug teapot cake stand" -> mug | teapot | cake stand
#   "paper plates napkins" -> paper plates | napkins
# One thing with a look stays one want: "red spotty kitchen", "big owl bag".
LONGEST_RUN = 5
_LONGEST_PART = 3


def things_in_a_run(want: str, matcher: CatalogMatcher) -> list[str]:
    """The things `want` names: itself, or its parts when it is a run of things (the rule
    above); a phrase of more than three words that is no run names nothing here."""
    words = want.split()
    whole = [want] if len(words) <= _LONGEST_PART else []
    if len(words) < 2 or matcher.items_with_words(content_stems(want)):
        return whole
    # fewest parts first: a part of two or three words is one thing ("cake stand")
    best: list[list[str] | None] = [[]] + [None] * len(words)
    for end in range(1, len(words) + 1):
        for start in range(max(0, end - _LONGEST_PART), end):
            before = best[start]
            part = " ".join(words[start:end])
            if before is not None and _a_sold_thing(part, matcher) and (
                    best[end] is None or len(before) + 1 < len(best[end] or [])):
                best[end] = [*before, part]
    run = best[-1]
    return run if run is not None and len(run) > 1 else whole


def _a_sold_thing(part: str, matcher: CatalogMatcher) -> bool:
    stems = content_stems(part)
    last = stems[-1] if stems else ""
    return (bool(stems) and last not in TASTE_WORDS and not colours_in(last) and last not in CONTAINERS
            and matcher.names_a_kind(last) and bool(matcher.items_with_words(stems)))


def names_a_thing(want: str) -> bool:
    """Does the listed phrase end in a thing ("a hot water bottle", "pins") rather than in a
    word that leaves the thing open ("cosy stuff", "a tea and cake person", "the works")?"""
    words = content_stems(_PLACE_WORDS.sub("", want))
    return bool(words) and words[-1] not in NOT_A_THING_HEADS


def reads_like_a_product(need: str, matcher: CatalogMatcher) -> bool:
    """A short need whose every word is a word of the shop's titles ("lunch bags", "red
    candles"), less words of taste ("spooky candles": candles) and of what holds the things
    ("drawing slate bits": drawing slate); "the tree up on Sunday" or "my 7 year old's
    bedroom" is not."""
    words = [word for word in content_stems(need) if word not in TASTE_WORDS and word not in CONTAINERS]
    return 0 < len(words) <= 3 and all(matcher.items_with_word(word) for word in words)


def ends_in_a_kind(want: str, matcher: CatalogMatcher, thing_words: frozenset[str] = frozenset()) -> bool:
    """Does the listed phrase end in a kind of thing the shop sells: a word its titles end in
    ("bunting", "paper plates") or that ends a name the needs book gives a thing ("cushions":
    titles say "Cushion Cover")? "hold on", "from the office" or an email's "com" are words
    of titles somewhere, but no thing anyone lists."""
    words = [word for word in content_stems(want) if word not in TASTE_WORDS and word not in CONTAINERS]
    return bool(words) and (matcher.names_a_kind(words[-1]) or words[-1] in thing_words)


_PLACE_WORDS = re.compile(r"\s+(?:for|with|to|from|in|on|at|by)\s+.*$", re.IGNORECASE)


def unsold(want: str, matcher: CatalogMatcher) -> bool:
    """A listed thing whose head word no title has ("fresh salmon": salmon); the head is
    the last telling word before any "for ..." ("a keepsake for later": keepsake), so
    "cat-themed bits" and "union jack everything" are sold (cat things, union jack things)."""
    thing = _PLACE_WORDS.sub("", want)
    words = [part for word in content_stems(thing) if word not in GENERIC_WORDS
             for part in word.split("-") if part and part not in GENERIC_WORDS]
    return bool(words) and not matcher.items_with_word(words[-1])
