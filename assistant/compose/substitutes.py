"""Substitutes: is one item the same product as another in a different colour, size or
design? The composer keeps such pairs out of one bundle unless the shopper asks for
"more like this"."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from assistant.compose.config import ComposerConfig
from assistant.understand.words import stem, tokens
from retrieval.catalog import Catalog

COLOUR_WORDS = frozenset({
    "red", "pink", "blue", "green", "white", "black", "ivory", "cream", "gold", "silver",
    "purple", "yellow", "orange", "brown", "grey", "gray", "natural", "turquoise", "lilac",
    "beige", "navy", "peach", "teal", "mint", "clear"
})
_LINE_STOP = frozenset({
    "a", "an", "and", "of", "the", "in", "on", "for", "with", "w", "set", "pack", "design",
    "assorted", "asst", "colour", "colours", "coloured", "small", "large", "mini", "medium",
    "big", "tall", "x"
})


def _trimmed(words: list[str]) -> list[str]:
    end = len(words)
    while end and words[end - 1] in ("set", "pack", "of"):
        end -= 1
    return words[:end]


class Substitutes:
    """Decides whether two items are the same product in another colour, size or design.

    Two items are substitutes when (a) their text cosine >= near_duplicate_threshold, or
    (b) they belong to one product line: they share a type phrase (two adjacent title words,
    colours and sizes removed, ending in a type noun such as "bag", "holder", "mug": a word
    that ends >= type_noun_min_titles titles and rarely follows a colour, unlike design
    words such as "retrospot"), their prices differ by <= line_price_tolerance and their
    cosine >= line_min_similarity; or their ids share a numeric stem with letter suffixes
    ("84029E"/"84029G"), cosine >= line_min_similarity. With `allow_similar` only exact
    duplicates (cosine >= exact_duplicate_threshold or the same title) conflict.
    """

    def __init__(self, catalog: Catalog, embeddings: np.ndarray, config: ComposerConfig) -> None:
        self.config = config
        self.embeddings = embeddings
        self.prices = catalog.prices
        self.titles = [" ".join(tokens(it.title)) for it in catalog.items]
        words = [[stem(t) for t in tokens(it.title) if not re.search(r"\d", t)] for it in catalog.items]
        # the type is the last word before a trailing "set" or "pack" too ("Baby Gift Set": gift)
        last: Counter[str] = Counter(_trimmed(w)[-1] for w in words if _trimmed(w))
        seen: Counter[str] = Counter(t for w in words for t in set(w))
        after_colour: Counter[str] = Counter(
            b for w in words for a, b in itertools.pairwise(w) if a in COLOUR_WORDS)
        self.type_nouns = frozenset(
            t for t, k in last.items() if k >= config.type_noun_min_titles and t not in COLOUR_WORDS
            and t not in _LINE_STOP and after_colour[t] < 0.3 * seen[t])
        # what a title says besides colour and size: two designs of a series differ here
        # (herb marker basil / rosemary), two colours of one product do not (alarm clock red / green)
        self.design_words = [frozenset(w) - COLOUR_WORDS - _LINE_STOP for w in words]
        self.keys: list[frozenset[str]] = []
        for item, w in zip(catalog.items, words, strict=True):
            keys: set[str] = set()
            segment: list[str] = []
            for t in [*w, ""]:
                if not t or t in COLOUR_WORDS or t in _LINE_STOP:
                    keys.update(f"{a} {b}" for a, b in itertools.pairwise(segment)
                                if b in self.type_nouns)
                    segment = []
                else:
                    segment.append(t)
            stem_match = re.fullmatch(r"(\d+)[A-Za-z]+", item.item_id)
            if stem_match:
                keys.add("id:" + stem_match.group(1))
            self.keys.append(frozenset(keys))

    def pair(self, i: int, j: int, allow_similar: bool = False) -> bool:
        return self.conflicts(i, [j], allow_similar)

    def conflicts(self, i: int, others: Sequence[int], allow_similar: bool = False) -> bool:
        """True when item i is a substitute (or duplicate) of any of `others`."""
        if not len(others):
            return False
        others = list(others)
        cos = self.embeddings[others] @ self.embeddings[i]
        cfg = self.config
        for j, c in zip(others, cos, strict=True):
            if j == i or c >= cfg.exact_duplicate_threshold or self.titles[j] == self.titles[i]:
                return True
            if allow_similar:
                continue
            if c >= cfg.near_duplicate_threshold:
                return True
            shared = self.keys[i] & self.keys[j]
            if not shared or c < cfg.line_min_similarity:
                continue
            if any(k.startswith("id:") for k in shared):
                return True
            pi, pj = self.prices[i], self.prices[j]
            if not (np.isfinite(pi) and np.isfinite(pj)) or abs(pi - pj) <= (
                    cfg.line_price_tolerance * max(pi, pj) + 1e-9):
                return True
        return False


    def conflicts_in_pool(self, i: int, refs: Sequence[int], pool: Sequence[int], asked: np.ndarray | None,
                          allow_similar: bool) -> bool:
        """Item i is a substitute of a fixed/cart item or an earlier pool item; an item the
        need asks for (`asked`) may be one of `need_variants` designs of its line (exact
        duplicates never)."""
        if asked is None or allow_similar or not asked[i]:
            return self.conflicts(i, [*refs, *pool], allow_similar)
        if self.conflicts(i, [*refs, *pool], True):
            return True
        same_line = sum(1 for j in [*refs, *pool] if self.pair(i, j))
        return same_line >= self.config.need_variants


class CompanionDesigns:
    """Other designs of a line that the shop's baskets show bought together: the herb
    marker in rosemary with the one in basil (88% of the baskets with basil), party bags in
    three designs; never the same product in another colour or size (the green alarm clock
    beside the red one), whatever the baskets say. Such a design may join a bundle beside an
    anchor or a cart item of its line (at most `companion_designs` of them), though it is a
    substitute; the association rule is its reason. A shop whose shoppers buy one design of a line shows no such rule,
    and its bundles keep one design per line."""

    def __init__(self, rules: object, substitutes: Substitutes, config: ComposerConfig) -> None:
        self.rule = getattr(rules, "rule", None)  # the index's association rules, if it has them
        self.substitutes = substitutes
        self.config = config

    def allowed(self, i: int, refs: Sequence[int], pool: Sequence[int]) -> bool:
        """May item i join as a companion design of one of `refs` (anchor or cart rows)? Never
        a duplicate of a ref, never a substitute of another pool item."""
        cfg = self.config
        if self.rule is None or cfg.companion_designs <= 0 or not refs:
            return False
        if self.substitutes.conflicts(i, refs, True) or self.substitutes.conflicts(i, pool):
            return False
        for ref in refs:
            if not self.substitutes.pair(i, ref) or \
                    self.substitutes.design_words[i] == self.substitutes.design_words[ref]:
                continue  # no line-mate, or the same product in another colour or size
            found = self.rule(ref, i)
            if found and found["support"] >= cfg.companion_min_support \
                    and found["confidence"] >= cfg.companion_min_confidence:
                return True
        return False
