"""From what the shopper said to the kinds of things a bundle for it takes.

The needs book finds the occasions, persons, interests and themes a request is about
(`NeedsBook.match`, by embeddings); here the matches become the kinds to fill, with two
rules about what the shopper asked for:

  * a match that only echoes words a stronger match explains is dropped ("baby shower" is
    not also a "brother"; `distinct_matches`);
  * a product the need names outright is what the shopper asked for ("some lunch bags",
    "christmas decorations": composed the usual way, with a choice of designs) unless an
    occasion, person or theme is named too ("a picnic hamper for two", "candles for my
    mum"): then that product is a kind of its own, filled first.
"""

from __future__ import annotations

import dataclasses

from assistant.compose.kind_planner import KindPlanner
from assistant.compose.matching import CatalogMatcher
from assistant.compose.needs_book import NeedsBook
from assistant.compose.needs_match import Embed, Kind, distinct_matches, names_said
from assistant.understand.need_text import GENERIC_HEADS, need_head
from assistant.understand.person_and_interests import recipient_in
from assistant.understand.words import stem_set

# Words that hold a request's things rather than name them ("a set of things for a teacher"):
# never a product the shopper asked for.
_CONTAINERS = frozenset({"set", "selection", "collection", "bit", "thing", "stuff", "lot", "range", "few"})


@dataclasses.dataclass(frozen=True)
class KindPlan:
    """The kinds to fill (in order), the needs' style words, and the leading kinds this
    catalog has nothing for (said plainly to the shopper)."""

    kinds: tuple[Kind, ...] = ()
    style_words: tuple[str, ...] = ()
    lacking: tuple[str, ...] = ()


def kinds_for_request(book: NeedsBook, planner: KindPlanner, matcher: CatalogMatcher, embed: Embed,
                      text: str, need: str | None, size: int = 4) -> KindPlan:
    """The kind plan for `text`; no kinds when the book knows nothing of the request."""
    matches = distinct_matches(book.match(text, embed))
    if not matches:
        return KindPlan()
    interests = list(recipient_in(text).interests)
    head = need_head(need) if need else None
    said_by_needs = stem_set(" ".join(phrase for m in matches for phrase in m.need.phrases))
    if (head and head not in GENERIC_HEADS and head not in _CONTAINERS and head not in said_by_needs
            and matcher.items_with_word(head)):
        matches = names_said(matches, text)
        if not matches:
            return KindPlan()
        interests.insert(0, head)
    wanted = book.kinds_for(matches, interests, asked_for=text)
    kinds = planner.fillable(wanted)
    lacking = tuple(kind.name for kind in wanted[:size] if kind not in kinds and not kind.filler)
    return KindPlan(tuple(kinds), book.style_words(matches), lacking)
