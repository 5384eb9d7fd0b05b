"""The shopper's words against one catalog: which item a mention names (`resolve`), whether
the shop has something for a need (`need_match`), and which titles a word rules out.

Text-to-items similarity goes through a `retrieval.vector_search.VectorSearch`: exact
numpy over every item by default, or the shop's Chroma collection, which scores only the
`config.search_depth` nearest items (the rest read -inf, "not similar"). Where a few given
rows need their cosine whatever their rank (the titles holding a mention's words, the items
holding a need's head noun), `_at` reads it from the matrix in memory.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from assistant.compose.config import ComposerConfig, Match
from assistant.understand.need_text import GENERIC_HEADS, need_core, need_head, need_parts
from assistant.understand.words import content_stems, mentions_all, stem, stem_set, tokens
from retrieval.catalog import Catalog
from retrieval.content import ContentSource
from retrieval.records import Item
from retrieval.vector_search import VectorSearch, make_vector_search
from retrieval.vector_store import ChromaIndex

_ARTICLES = ("the", "a", "an", "my", "that", "this")


_HEAD_TITLES = 3  # titles a word must end to name a kind of thing
_WANT_LEADS = frozenset({"something", "anything", "some", "any", "more", "a", "an", "the"})


class CatalogMatcher:
    """Words -> catalog items by ids, titles, title words and text embeddings."""

    def __init__(self, catalog: Catalog, content: ContentSource, config: ComposerConfig, *,
                 store: ChromaIndex | None = None, search: VectorSearch | None = None) -> None:
        """`search`: how a text finds its items; by default the one `config.vector_search`
        picks (`make_vector_search`: exact over `content`'s embeddings, or `store`, the
        index's Chroma collection)."""
        self.catalog = catalog
        self.content = content
        self.embeddings = content.embeddings
        self.config = config
        self.search = search if search is not None else make_vector_search(
            config.vector_search, content.embeddings, store, [it.item_id for it in catalog.items])
        items = catalog.items
        self._title_stems = [stem_set(it.title) for it in items]
        vocab: dict[str, list[int]] = defaultdict(list)
        for i, it in enumerate(items):
            for s in self._title_stems[i] | stem_set(f"{it.description} {it.category}"):
                vocab[s].append(i)
        self._vocab = {s: np.array(v, dtype=np.int64) for s, v in vocab.items()}
        self._by_title: dict[str, list[int]] = defaultdict(list)
        for i, it in enumerate(items):
            self._by_title[" ".join(tokens(it.title))].append(i)
        self._id_lower = {it.item_id.lower(): i for i, it in enumerate(items)}
        # what titles are things of: the last word of a title names what it is ("Cake Stand",
        # "Teapot"), a word that ends only one title or two is no kind of thing here
        ends: dict[str, int] = defaultdict(int)
        for it in items:
            words = tokens(it.title)
            if words:
                ends[stem(words[-1])] += 1
        self._title_heads = frozenset(word for word, count in ends.items() if count >= _HEAD_TITLES)

    # -- mentions -> items ----------------------------------------------------------------
    def resolve(self, mentions: Sequence[str]) -> list[Match]:
        """Each mention as an item: exact id, exact title, all its words in a title (the
        closest such title by embedding), else the nearest item by embedding if its cosine
        >= resolve_threshold; otherwise unresolved, with the nearest items as alternatives."""
        return [self._resolve_one(m) for m in ([mentions] if isinstance(mentions, str) else mentions)]

    def _resolve_one(self, mention: str) -> Match:
        text = (mention or "").strip()
        if not text:
            return Match(mention, None, 0.0, "none")
        items = self.catalog.items
        pos = self.catalog.index_of.get(text, self._id_lower.get(text.lower()))
        if pos is not None:
            return Match(mention, items[pos], 1.0, "id")
        vec = self.content.text_vector(text)
        sims = self.search.similarities(vec, self.config.search_depth)
        words = tokens(text)
        exact = self._by_title.get(" ".join(words)) or self._by_title.get(
            " ".join(words[1:] if words and words[0] in _ARTICLES else words), [])
        if exact:
            return Match(mention, items[min(exact)], 1.0, "title")
        wanted = content_stems(text)
        attempts = [wanted, [w for w in wanted if not re.search(r"\d", w)]]
        attempts += [[*wanted[:k], stem(wanted[k] + wanted[k + 1]), *wanted[k + 2:]]
                     for k in range(len(wanted) - 1)]  # "tea pot" -> "teapot"
        for attempt in attempts:
            if not attempt:
                continue
            sets = [set(self._vocab_titles(w)) for w in attempt]
            hits = sorted(set.intersection(*sets)) if sets else []
            if hits:
                at = self._at(sims, vec, hits)
                pos = max(range(len(hits)), key=lambda p: (at[p], -hits[p]))
                return Match(mention, items[hits[pos]], round(float(at[pos]), 4), "words")
        best = int(np.argmax(sims))
        if sims[best] >= self.config.resolve_threshold:
            return Match(mention, items[best], round(float(sims[best]), 4), "similar")
        return Match(mention, None, round(float(sims[best]), 4), "none", self.nearest(sims))

    def _vocab_titles(self, word: str) -> list[int]:
        return [int(i) for i in self._vocab.get(word, ()) if word in self._title_stems[int(i)]]

    def text_sims(self, text: str) -> np.ndarray:
        """Cosine of `text` to every catalog item (`self.search`: exact for all items, or
        the search_depth nearest from Chroma with -inf for the rest)."""
        return self.search.similarities(self.content.text_vector(text), self.config.search_depth)

    def _at(self, sims: np.ndarray, vec: np.ndarray, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """`sims` at these rows; a row the search left unscored (-inf: beyond an approximate
        search's top n) gets its exact cosine from the embeddings in memory. A small given
        set of rows, so numpy over those rows is cheaper than another store query."""
        rows = np.asarray(rows, dtype=np.int64)
        out = sims[rows].astype(np.float32)
        missing = ~np.isfinite(out)
        if missing.any():
            out[missing] = self.embeddings[rows[missing]] @ vec
        return out

    def nearest(self, sims: np.ndarray, exclude: Iterable[int] = ()) -> tuple[Item, ...]:
        """The `config.alternatives` items with the highest `sims`, `exclude` (rows) left out."""
        k = self.config.alternatives
        masked = sims.astype(np.float64).copy()
        masked[list(exclude)] = -np.inf
        order = np.lexsort((np.arange(len(masked)), -masked))[:k]
        return tuple(self.catalog.items[i] for i in order if np.isfinite(masked[i]))

    def items_with_word(self, word: str) -> list[int]:
        """Rows whose titles have this word (stemmed: "candles" finds "Candle")."""
        return self._vocab_titles(stem(word.lower()))

    def items_with_words(self, words: Sequence[str]) -> list[int]:
        """Rows whose titles have every one of these words (stemmed)."""
        stems = [stem(word.lower()) for word in words]
        if not stems:
            return []
        return [i for i in self._vocab_titles(stems[0]) if all(s in self._title_stems[i] for s in stems[1:])]

    def names_a_kind(self, word: str) -> bool:
        """Does this word end several titles, so that it names a kind of thing the shop sells
        ("mug", "stand", "napkins"), not a look or a design ("red", "owl")?"""
        return stem(word.lower()) in self._title_heads

    def items_titled(self, title: str) -> list[int]:
        """Rows of the items with exactly this title (case and punctuation aside)."""
        return list(self._by_title.get(" ".join(tokens(title)), []))

    def term_excluded(self, i: int, exclude_terms: Iterable[str]) -> bool:
        """Does any excluded word ("candles") rule out item row i by its title?"""
        return any(mentions_all(self._title_stems[i], content_stems(term)) for term in exclude_terms)

    # -- needs ----------------------------------------------------------------------------
    def need_match(self, need: str) -> tuple[bool, float, np.ndarray]:
        """(does the shop have something for this need, best cosine, cosine per item).

        A need may list several wants ("something gingham and something star", "candles,
        napkins"; `need_parts`). Its parts are matched one by one and served together when
        the whole matches nothing, or when every part matches and the parts, on average,
        match the catalog at least as well as the whole does: "gingham and lace" is two
        wants, while "black and white photo frames" matches better as one."""
        ok, best, sims, _ = self.need_wants(need)
        return ok, best, sims

    def need_wants(self, need: str) -> tuple[bool, float, np.ndarray, list[np.ndarray]]:
        """need_match, plus each served want's own cosines ([] when the need is one want)."""
        whole = self._match_one(need)
        parts = need_parts(need)
        if not parts or parts == [need.strip(" .!?-")] or (len(parts) < 2 and whole[0]):
            return (*whole, [])
        each = [self._match_one(p) for p in parts]
        matched = [m for m in each if m[0]]
        if not matched:
            return (*whole, [])
        if whole[0] and (len(matched) < len(each) or statistics.fmean(m[1] for m in matched) < whole[1]):
            return (*whole, [])
        best = max(m[1] for m in matched)
        # Each part's cosines shifted so its own best item sits at the overall best: an item
        # near any part's best scores as a match, whichever part is the easier one.
        sims = np.max(np.stack([m[2] - (m[1] - best) for m in matched]), axis=0)
        return True, best, sims, [m[2] for m in matched]

    def _match_one(self, need: str) -> tuple[bool, float, np.ndarray]:
        vec = self.content.text_vector(need_core(need))
        sims = self.search.similarities(vec, self.config.search_depth)
        best = float(sims.max(initial=-1.0))
        cfg = self.config
        if best >= cfg.no_match_threshold:
            return True, best, sims
        head = need_head(need)
        if head is None or head in GENERIC_HEADS:
            return best >= cfg.lexical_match_threshold, best, sims
        ok = self._titles_say(head, sims, vec)
        if not ok and head.endswith("ing"):
            # "wicker hanging things": a participle after the thing says how it is used, so
            # the word before it may be what the titles call it (never a second guess beyond)
            words = [stem(word) for word in tokens(need_core(need))]
            if len(words) >= 2 and words[-1] == head:
                ok = self._titles_say(words[-2], sims, vec)
        if not ok and head in self._vocab and [stem(word) for word in tokens(need)
                                               if word not in _WANT_LEADS] == [head]:
            # a want of one word the titles use ("something grow" for Grow Your Own Herbs): a
            # lone word's vector sits far from every whole title that holds it ("my car" is
            # whose, not a want)
            ok = True
        return ok, best, sims

    def _titles_say(self, word: str, sims: np.ndarray, vec: np.ndarray) -> bool:
        """Do titles with this word match the need closely enough (lexical fallback)?"""
        having = self._vocab.get(word)
        return having is not None and float(self._at(sims, vec, having).max()) >= self.config.lexical_match_threshold
