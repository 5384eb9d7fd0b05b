"""How a shopper's request finds its needs (the records are in `need_records`).

A need (an occasion, a life event, a season, a person, an interest or a theme) lists the
kinds of things that serve it. `NeedMatcher` finds the needs a request is about by sentence
embeddings: every need is known by its name and its example phrasings, and the request is
read whole and in its parts ("my sister who loves candles and gardening" is also the
person "sister" and the interests "candles" and "gardening"), so a person, an occasion and
interests can all match at once. The needs file format is in docs/NEEDS.md; loading it,
and merging the matched needs' kinds into the ones to fill, is `needs_book`'s job.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable, Sequence

import numpy as np

from assistant.compose.need_records import SETTING_GROUPS, Kind, Need, title_words
from assistant.compose.request_parts import RequestPart, gist, request_parts
from assistant.understand.words import content_stems, stem_set
from retrieval.errors import ConfigError

__all__ = ["CROSS_MARGIN", "GROUPS", "GROUP_MARGIN", "MATCH_THRESHOLD", "PERSON_THRESHOLD", "PERSON_UNNAMED_BAR", "Embed",
           "Kind", "Need", "NeedMatch",
           "NeedMatcher", "RequestPart", "gist", "request_parts", "title_words"]

GROUPS = ("occasion", "life_event", "season", "person", "interest", "theme")

# Cosine (all-MiniLM-L6-v2) between a request part and a need's name or example phrasing,
# both without money talk and gift scaffolding (`gist`). Measured on the shipped file with
# the probes in tests/test_needs_book.py (`python tests/test_needs_book.py` prints them):
#   wanted needs: lowest 0.586 ("kitting out my son's student room" -> going to university),
#     then 0.590 ("do for my nan's 80th" -> birthday present), 0.732 ("my grandad is into
#     birds" -> bird lover), 0.744 ("decorations for a spooky party" -> halloween), 0.865
#     ("bits for a bbq" -> barbecue), 1.0 ("a little something for a new mum" -> new mum);
#   requests with no need in the book: highest 0.511 ("a gift" -> secret santa), then 0.464
#     ("the Lunch Bag Red Retrospot" -> picnic), 0.388 ("hello"), 0.365 ("4 winter tyres
#     for my car" -> winter warmth), 0.318 ("a kilo of potatoes" -> cook).
# 0.55 sits between the two. Not separable by score and left to the request's intent:
# "thanks, that's lovely!" (0.77 to thank you present) and "fresh salmon and lemons for
# tonight's dinner" (0.69 to dinner party).
MATCH_THRESHOLD = 0.55
# Within one part of a request, needs of one group are rivals ("a wedding" is not also an
# engagement), so only those this close to the group's best are kept; needs of other groups
# must come within CROSS_MARGIN of the part's best ("a tea party" is no tea lover's gift,
# "new mum" no sympathy). Different parts never compete: "for my nan's 80th" is a nan (the
# person part) and a birthday (its own part). A bundle is for one person: the best only.
GROUP_MARGIN = 0.08
CROSS_MARGIN = 0.15
# A relation with no need of its own lands 0.55-0.65 from the nearest one ("son" 0.59 to
# brother, "couple" 0.62 to partner, "kids" 0.55 to young child before the book named
# them); relations the book has score 0.73 and up. Better no person than the wrong one.
PERSON_THRESHOLD = 0.65
# A relation the book has no need of its own for lands 0.65-0.74 from a wrong one ("nephew"
# 0.68 to aunt or uncle, "niece" 0.69 to sister, "grandson" 0.74 to grandad); the book's own
# relations share a word with the need's name, phrasings or marks ("nursery teacher", "best
# mate", "my mother", "hubby" spelt out as husband), and a part that names no relation
# ("my grandson" 0.80 to dad) stays below 0.85. A person part that does neither names nobody
# the book knows: better no person than the wrong one.
PERSON_UNNAMED_BAR = 0.85
# A chatty request reads far from every need's phrasing as a whole ("we're putting the tree
# up on Sunday and ours looks a bit bare – baubles, £35" is 0.48 from christmas tree
# decorating), while its words still say which need it is: the need's name, two kinds it
# takes ("baubles", "something for the top") or one of its style words ("cat-themed"). Such words add WORD_SUPPORT to that
# need's cosine. Measured on the tests' unrelated requests: none names a need's word and
# reaches 0.40, so none crosses the threshold with the support.
WORD_SUPPORT = 0.15
_NAME_FILLER = frozenset({"lover", "fan", "present", "gift", "party", "day", "new"})

Embed = Callable[[Sequence[str]], np.ndarray]
"""Texts -> one L2-normalised row per text (the product passes `Embedder.encode`)."""


@dataclasses.dataclass(frozen=True)
class NeedMatch:
    """A need the request is about: its cosine `score`, the need's `phrase` that matched
    best and the `part` of the request that matched it."""

    need: Need
    score: float
    phrase: str
    part: str


class NeedMatcher:
    """Finds the needs a request is about; the needs' phrase vectors are computed once
    per embedding function (a book reused with the same embedder never re-embeds)."""

    def __init__(self, needs: Sequence[Need]) -> None:
        self.needs = tuple(needs)
        self._phrases = [phrase for need in self.needs for phrase in need.phrases]
        self._owner = np.array([index for index, need in enumerate(self.needs)
                                for _ in need.phrases], dtype=np.int64)
        self._lock = threading.Lock()
        self._embedded: tuple[Embed, np.ndarray] | None = None
        self._said = [frozenset(content_stems(" ".join((need.name, *need.phrases, *need.marks)))) for need in self.needs]

    def phrase_vectors(self, embed: Embed) -> np.ndarray:
        """Vectors of every need's phrases (rows in need order), embedded once per `embed`."""
        with self._lock:
            if self._embedded is not None and self._embedded[0] == embed:
                return self._embedded[1]
            gists = [gist(phrase) for phrase in self._phrases]
            distinct = list(dict.fromkeys(gists))
            row = {text: index for index, text in enumerate(distinct)}
            vectors = _embedded_rows(embed, distinct)[[row[text] for text in gists]]
            self._embedded = (embed, vectors)
            return vectors

    def match(self, text: str, embed: Embed, *, threshold: float = MATCH_THRESHOLD,
              limit: int = 6) -> list[NeedMatch]:
        """The needs `text` is about, best first, each at most once with its best score."""
        parts = request_parts(text)
        if not parts or not self.needs:
            return []
        phrase_vectors = self.phrase_vectors(embed)
        scores = _embedded_rows(embed, [part.text for part in parts]) @ phrase_vectors.T
        scores = scores + WORD_SUPPORT * self._word_support(text)[self._owner][None, :]
        best: dict[int, NeedMatch] = {}
        for part_index, part in enumerate(parts):
            for need_index, score, phrase_index in self._part_matches(scores[part_index], part, threshold):
                found = best.get(need_index)
                if found is None or score > found.score:
                    best[need_index] = NeedMatch(self.needs[need_index], round(score, 4),
                                                 self._phrases[phrase_index], part.text)
        ranked = sorted(best.values(), key=lambda m: (-m.score, m.need.name))
        return _without_rivals(ranked)[:limit]

    def _word_support(self, text: str) -> np.ndarray:
        """1.0 for each need whose name, one of whose kinds or style words the text says."""
        said = stem_set(text)
        support = np.zeros(len(self.needs))
        for index, need in enumerate(self.needs):
            named = bool(set(content_stems(need.name)) - _NAME_FILLER & said)  # "tree" of christmas tree decorating
            styled = any(stem_set(word) <= said for word in need.style_words)
            # one kind named may be a product's own title ("Lunch Bag Red Retrospot"); two or
            # more are a list of what the need takes ("crackers, napkins, candles")
            fitted = [phrase for kind in need.kinds if not kind.filler and kind.fits_stems(said)
                      for phrase in kind.synonym_stems if phrase <= said]
            # phrases inside a longer one count once: "Baby Gift Set" is one thing, not "baby" too
            listed = sum(1 for phrase in set(fitted) if not any(phrase < other for other in fitted))
            if named or styled or listed >= 2:
                support[index] = 1.0
        return support

    def _part_matches(self, scores: np.ndarray, part: RequestPart,
                      threshold: float) -> list[tuple[int, float, int]]:
        """(need index, score, phrase index) for the needs one request part matches."""
        need_best = np.full(len(self.needs), -1.0)
        need_phrase = np.zeros(len(self.needs), dtype=np.int64)
        for phrase_index in np.argsort(scores)[::-1]:
            owner = self._owner[phrase_index]
            if need_best[owner] < 0:
                need_best[owner] = scores[phrase_index]
                need_phrase[owner] = phrase_index
        allowed = [index for index, need in enumerate(self.needs)
                   if part.groups is None or need.group in part.groups]
        if not allowed:
            return []
        part_best = max(need_best[index] for index in allowed)
        group_best: dict[str, float] = {}
        for index in allowed:
            group = self.needs[index].group
            group_best[group] = max(group_best.get(group, -1.0), need_best[index])
        part_stems = frozenset(content_stems(part.text))
        return [(index, float(need_best[index]), int(need_phrase[index])) for index in allowed
                if need_best[index] >= max(_bar(self.needs[index].group, threshold), part_best - CROSS_MARGIN,
                                           group_best[self.needs[index].group] - GROUP_MARGIN)
                and (self.needs[index].group != "person" or need_best[index] >= PERSON_UNNAMED_BAR
                     or bool(part_stems & self._said[index]))]


def _bar(group: str, threshold: float) -> float:
    return max(threshold, PERSON_THRESHOLD) if group == "person" else threshold




def _without_rivals(ranked: list[NeedMatch]) -> list[NeedMatch]:
    """Drop matches a better one outranks, across the parts: one person (a bundle is for
    one); occasions, events, seasons and themes within GROUP_MARGIN of their group's best
    ("a hamper for a summer picnic" is a picnic, not a garden party); and what the bundle
    is for (an occasion, event or season) within CROSS_MARGIN of the best of them
    ("decorations for a spooky party" is halloween, not spring). Interests are exempt:
    "loves candles and gardening" is two interests; so are needs all of cards or wrap."""
    group_best: dict[str, float] = {}
    setting_best: float | None = None
    kept = []
    for match in ranked:
        group = match.need.group
        if _all_filler(match.need):
            kept.append(match)  # cards or wrap go with any occasion ("wrapping a wedding present")
            continue
        if group in group_best and (group == "person" or (
                group != "interest" and match.score < group_best[group] - GROUP_MARGIN)):
            continue
        if group in SETTING_GROUPS:
            if setting_best is not None and match.score < setting_best - CROSS_MARGIN:
                continue
            setting_best = match.score if setting_best is None else setting_best
        group_best.setdefault(group, match.score)
        kept.append(match)
    return kept


def _all_filler(need: Need) -> bool:
    """A need all of cards or wrap, which goes with any occasion."""
    return bool(need.kinds) and all(kind.filler for kind in need.kinds)


def _embedded_rows(embed: Embed, texts: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(embed(list(texts)), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(texts):
        raise ConfigError(f"needs matching: the embedding function gave shape {vectors.shape} "
                          f"for {len(texts)} texts; it must give one row per text")
    return vectors


def distinct_matches(matches: Sequence[NeedMatch]) -> list[NeedMatch]:
    """The matches that each explain their own part of the request, best first.

    A weaker match read from words a stronger match already explains is an echo, not a
    second need: "baby shower" is not also a "brother" (from "baby") nor "rainy days", and
    "a tea party" is not also a tea lover's gift; but "my sister who likes candles" is
    both "sister" and "candle lover" (separate parts of the request). A person says who
    the bundle is for, never what it holds, so a person explains no words of an occasion
    or an interest: "my sister's wedding" is a sister and a wedding."""
    kept: list[NeedMatch] = []
    for_someone = any(match.need.group == "person" for match in matches)
    for match in sorted(matches, key=lambda m: (-m.score, m.need.name)):
        part = match.part.casefold()
        if not _all_filler(match.need) and any(
                (part in k.part.casefold() or k.part.casefold() in part)
                and not _says_more(match, k, for_someone)
                and (k.need.group != "person" or match.need.group == "person") for k in kept):
            continue
        kept.append(match)
    return kept


def _says_more(match: NeedMatch, stronger: NeedMatch, for_someone: bool = False) -> bool:
    """Do a match's words that overlap a stronger match's hold its own telling words (its
    name or style words) that the stronger match does not explain? "garden bits for mum's
    birthday" is a gardener as well as mum's birthday; "the red polka dot range, kitchen
    bits in that" is a kitchen dressed in polka dot (a look), read from the same words; "a
    tea party" is no tea lover (its "tea" is the party's), "a little celebration gift" for
    an engagement no celebration tables; and in a present for someone (`for_someone`)
    "garden bits" is a gardener's as well as a garden party's: what they like is no echo
    of an occasion only guessed from the same words (the party's name is not said)."""
    own = stem_set(match.part) & telling_words(match.need)
    if own and stronger.need.look and not match.need.look:
        return bool(own - telling_words(stronger.need))  # what a look dresses is no echo of it
    if (own and for_someone and match.need.group == "interest" and stronger.need.group != "interest"
            and not set(content_stems(stronger.need.name)) <= stem_set(stronger.part)):
        return True
    if match.need.group == "interest" and stronger.need.group in ("occasion", "life_event", "season"):
        # "my daughter turns 7, she's obsessed with dinosaurs": the party's words hold the
        # dinosaurs, but only words the occasion's name or style explain are its echo
        return bool({_word_root(w) for w in own} - {_word_root(w) for w in telling_words(stronger.need)})
    return bool(own - stem_set(stronger.part))


def _word_root(word: str) -> str:
    """A word less its ending, to tell whether a need's word explains another: "baking",
    "bake" and "baker" share one root."""
    for ending in ("ing", "ers", "er", "ed", "es", "e"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[:-len(ending)]
    return word


def telling_words(need: Need) -> frozenset[str]:
    """The stems of a need's name and style words: said, they tell the need."""
    return stem_set(" ".join((need.name, *need.style_words)))


def names_said(matches: Sequence[NeedMatch], text: str, needs: Sequence[Need] = ()) -> list[NeedMatch]:
    """The matches whose need is named outright in the text (all the telling words of its
    name: "valentines" names valentine's day, "cat-mad" a cat lover). A name's filler word
    may go unsaid ("a hen do" names the hen party) unless, without it, the name is another
    of `needs`' names too, an agent ending aside: "garden" alone names neither a garden
    party nor a gardener, "tea" neither a tea party nor a tea lover."""
    said = stem_set(text) | {part for stem in stem_set(text) for part in stem.split("-")}
    shared = _shared_short_names(tuple(need.name for need in needs))
    return [m for m in matches
            if (set(content_stems(m.need.name)) if _short_name(m.need.name) in shared
                else _short_name(m.need.name)) <= said]


def _short_name(name: str) -> frozenset[str]:
    return frozenset(content_stems(name)) - _NAME_FILLER


def _root(word: str) -> str:
    """A word less an agent ending, to compare names only: "gardener" -> "garden"."""
    return word[:-2] if word.endswith("er") and len(word) > 5 else word


@functools.lru_cache(maxsize=8)
def _shared_short_names(names: tuple[str, ...]) -> frozenset[frozenset[str]]:
    """Short names (name less its filler words) that more than one need has, an agent
    ending aside ("garden" party, "gardener")."""
    by_root: dict[frozenset[str], list[frozenset[str]]] = {}
    for name in names:
        short = _short_name(name)
        by_root.setdefault(frozenset(_root(word) for word in short), []).append(short)
    return frozenset(short for shorts in by_root.values() if len(shorts) > 1 for short in shorts if short)
