"""The simulated shopper of `cartsmith eval simulate`: plain code, seeded, no language model.

A shopper holds a hidden basket (a real held-out invoice). It opens either with one of its
items by title ("what goes well with <title>?") or with a need made of the most telling
words its basket's titles share (when they share none, the commonest category among its
items). Each later turn reveals at most `max_hints` new hints about items it has not found
yet (one telling word of the item's title, or the item's category) and, now and then, turns
down a word it saw only in items it did not want ("... but no heart"). It accepts exactly
the shown items that are in its hidden basket, and stops after `max_turns` turns or as soon
as it has found every hidden item.

"Telling" words are ranked by inverse document frequency over the catalog's titles, among
words that name a kind of product rather than one product or everything: in at least
`min_word_titles` titles and at most `max_word_share` of them. Nothing here knows a shop's
vocabulary; the same policy runs on any catalog.

Every random choice comes from one `random.Random` seeded with (seed, basket id), so the
same seed gives the same transcript for the same answers, and every system under test
meets the same shopper.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from retrieval.catalog import Catalog
from retrieval.config import Config, check

# English function words only: shop-specific words are left to the frequency filter.
_STOP = frozenset({
    "a", "an", "and", "the", "of", "for", "with", "in", "on", "to", "by", "from", "at", "or",
    "its", "it", "is", "my", "your", "our", "this", "that", "as", "all", "no", "not",
})
_WORD = re.compile(r"[a-z]+")

OPEN_ITEM = ("what goes well with {title}?", "something to go with the {title}, please",
             "i'm getting the {title} - what else would go with it?")
OPEN_NEED = ("i'm looking for a few {need} things", "any ideas for something {need}?",
             "could you put together some {need} bits for me")
FOLLOW = ("thanks! i also need {hints}", "next i'm after {hints}", "what about {hints}?",
          "could you also find {hints}")
NO_HINT = "what else would go with what i have?"


def stem(word: str) -> str:
    """A light plural stem, enough to match 'lanterns' with 'lantern'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def title_words(title: str) -> list[tuple[str, str]]:
    """(stem, surface word) for each content word of a title, in order, once each."""
    seen: dict[str, str] = {}
    for word in _WORD.findall(title.lower()):
        if len(word) >= 3 and word not in _STOP:
            seen.setdefault(stem(word), word)
    return list(seen.items())


@dataclasses.dataclass(frozen=True)
class ShopperConfig(Config):
    max_turns: int = 5
    max_hints: int = 2
    item_opening_share: float = 0.5   # open with an item (else with a need)
    budget_share: float = 0.5         # state a budget in the opening
    exclude_share: float = 0.5        # turn down a seen word in a later turn
    category_hint_share: float = 0.3  # a hint is the item's category (else a title word)
    min_word_titles: int = 3
    max_word_share: float = 0.05
    bundle_size: int = 4              # the stated budget fits this many of the hidden items

    def validate(self) -> None:
        check(1 <= self.max_turns <= 20, "shopper.max_turns", "must be between 1 and 20")
        check(1 <= self.max_hints <= 2, "shopper.max_hints", "must be 1 or 2 (the issue's limit)")
        for name in ("item_opening_share", "budget_share", "exclude_share", "category_hint_share"):
            check(0.0 <= getattr(self, name) <= 1.0, f"shopper.{name}", "must be within [0, 1]")
        check(self.min_word_titles >= 1, "shopper.min_word_titles", "must be at least 1")
        check(0 < self.max_word_share <= 1, "shopper.max_word_share", "must be within (0, 1]")
        check(1 <= self.bundle_size <= 10, "shopper.bundle_size", "must be between 1 and 10")


@dataclasses.dataclass(frozen=True)
class ShopperItem:
    item_id: str
    title: str
    category: str = ""
    price: float | None = None


class TextStats:
    """Title word frequencies of one catalog: which words tell items apart."""

    def __init__(self, titles: Iterable[str], config: ShopperConfig | None = None) -> None:
        self.config = config or ShopperConfig()
        self.df: Counter[str] = Counter()
        self.n_titles = 0
        for title in titles:
            self.n_titles += 1
            self.df.update(s for s, _ in title_words(title))

    @classmethod
    def from_catalog(cls, catalog: Catalog, config: ShopperConfig | None = None) -> TextStats:
        return cls((it.title for it in catalog.items), config)

    def idf(self, word_stem: str) -> float:
        return math.log((1 + self.n_titles) / (1 + self.df[word_stem]))

    def telling(self, word_stem: str) -> bool:
        df = self.df[word_stem]
        return self.config.min_word_titles <= df <= self.config.max_word_share * self.n_titles


@dataclasses.dataclass(frozen=True)
class Hint:
    kind: str  # "item" (named outright), "need", "words" or "category"
    text: str
    item_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Utterance:
    turn: int
    text: str
    hints: tuple[Hint, ...] = ()
    named: tuple[str, ...] = ()  # items named outright: context, not items to find
    budget: float | None = None
    exclude: tuple[str, ...] = ()  # words turned down in this message

    @property
    def query(self) -> str | None:
        """The hint text a text-capable source is asked (named items go in as seeds)."""
        words = [h.text for h in self.hints if h.kind != "item"]
        return " ".join(words) if words else None


class SimulatedShopper:
    """One shopper with one hidden basket; see the module docstring for the policy."""

    def __init__(self, basket_id: str, items: Sequence[ShopperItem], stats: TextStats,
                 config: ShopperConfig | None = None, seed: int = 13) -> None:
        self.config = config or ShopperConfig()
        if len({it.item_id for it in items}) < 2:
            raise ValueError(f"basket {basket_id}: a shopper needs at least 2 distinct items")
        self.basket_id = basket_id
        self.items = {it.item_id: it for it in sorted(items, key=lambda it: it.item_id)}
        self.stats = stats
        self.rng = random.Random(f"{seed}:{basket_id}")
        self._stems = {i: [s for s, _ in title_words(it.title)] for i, it in self.items.items()}
        self._surface = {s: w for it in self.items.values() for s, w in title_words(it.title)}
        self._basket_stems = {s for stems in self._stems.values() for s in stems}
        self.named: list[str] = []
        self.targets: tuple[str, ...] = tuple(self.items)
        self.accepted: list[str] = []
        self.seen: set[str] = set()
        self.rejected: list[str] = []
        self.excluded: list[str] = []
        self.told: Counter[str] = Counter()  # hints given per target item
        self._told_keys: set[str] = set()
        self.budget: float | None = None
        self.turn = 0
        self.opening_kind = ""
        self.utterances: list[Utterance] = []

    # -- the policy --------------------------------------------------------------------
    def opening(self) -> Utterance:
        if self.turn:
            raise RuntimeError(f"basket {self.basket_id}: the shopper has already opened")
        self.turn = 1
        rng = self.rng
        if rng.random() < self.config.item_opening_share:
            item = self.items[rng.choice(list(self.items))]
            self.named = [item.item_id]
            self.targets = tuple(i for i in self.items if i != item.item_id)
            self.opening_kind = "item"
            hints = (Hint("item", item.title, item.item_id),)
            text = rng.choice(OPEN_ITEM).format(title=item.title)
        else:
            need = self._need()
            self.opening_kind = "need"
            hints = (Hint("need", need),)
            text = rng.choice(OPEN_NEED).format(need=need)
        if rng.random() < self.config.budget_share:
            self.budget = self._budget()
            if self.budget is not None:
                text = _append(text, f", under £{self.budget:.0f}")
        return self._say(Utterance(1, text, hints, tuple(self.named), self.budget))

    def react(self, shown: Sequence[str]) -> tuple[str, ...]:
        """Accept the shown items that are in the hidden basket; the rest are turned down."""
        targets = set(self.targets)
        new = tuple(i for i in dict.fromkeys(shown) if i in targets and i not in self.accepted)
        self.accepted.extend(new)
        for i in dict.fromkeys(shown):
            if i not in self.items and i not in self.rejected:
                self.rejected.append(i)
        self.seen.update(shown)
        return new

    @property
    def done(self) -> bool:
        return self.turn >= self.config.max_turns or set(self.accepted) >= set(self.targets)

    def next_utterance(self, titles: Mapping[str, str]) -> Utterance | None:
        """The next message, or None when the shopper stops. `titles`: id -> title of the
        items it turned down (where it finds a word to refuse)."""
        if self.done:
            return None
        self.turn += 1
        hints = self._hints()
        text = self.rng.choice(FOLLOW).format(hints=" and ".join(_phrase(h) for h in hints)) \
            if hints else NO_HINT
        exclude: tuple[str, ...] = ()
        if self.rejected and self.rng.random() < self.config.exclude_share:
            word = self._refusal(titles)
            if word is not None:
                self.excluded.append(stem(word))
                exclude = (word,)
                text = _append(text, f" - but no {word}")
        return self._say(Utterance(self.turn, text, hints, (), None, exclude))

    # -- parts -------------------------------------------------------------------------
    def _say(self, utterance: Utterance) -> Utterance:
        self.utterances.append(utterance)
        return utterance

    def _need(self) -> str:
        """The most telling words the basket's titles share, else its commonest category."""
        count: Counter[str] = Counter(s for stems in self._stems.values() for s in stems)
        scored = sorted(((n * self.stats.idf(s), s) for s, n in count.items()
                         if n >= 2 and self.stats.telling(s)), key=lambda t: (-t[0], t[1]))
        if scored:
            top = [scored[0]] + [t for t in scored[1:2] if t[0] >= 0.5 * scored[0][0]]
            for _, s in top:
                self._told_keys.add("w:" + s)
            return " ".join(self._surface[s] for _, s in top)
        categories = Counter(it.category for it in self.items.values() if it.category)
        if categories:
            name = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            self._told_keys.add("c:" + name)
            return name
        item = self.items[self.rng.choice(list(self.items))]  # no shared word, no category
        return " ".join(w for _, w in title_words(item.title)[:2]) or item.title

    def _budget(self) -> float | None:
        """Room for the named items and the `bundle_size` dearest hidden ones, in £5 steps."""
        named = [self.items[i].price for i in self.named]
        dearest = sorted((self.items[i].price for i in self.targets), key=lambda p: -(p or 0.0))
        prices = named + dearest[: self.config.bundle_size]
        if any(p is None for p in prices):
            return None
        return float(max(5, 5 * math.ceil(sum(p for p in prices if p is not None) / 5)))

    def _hints(self) -> tuple[Hint, ...]:
        missing = [i for i in self.targets if i not in self.accepted]
        self.rng.shuffle(missing)
        missing.sort(key=lambda i: self.told[i])  # stable: least-hinted items first
        hints: list[Hint] = []
        for item_id in missing:
            if len(hints) >= self.config.max_hints:
                break
            hint = self._hint_for(item_id)
            if hint is not None:
                hints.append(hint)
                self.told[item_id] += 1
        return tuple(hints)

    def _hint_for(self, item_id: str) -> Hint | None:
        item = self.items[item_id]
        words = sorted((s for s in self._stems[item_id]
                        if self.stats.telling(s) and "w:" + s not in self._told_keys),
                       key=lambda s: (-self.stats.idf(s), s))
        category_ok = bool(item.category) and "c:" + item.category not in self._told_keys
        use_category = category_ok and (not words or self.rng.random() < self.config.category_hint_share)
        if use_category:
            self._told_keys.add("c:" + item.category)
            return Hint("category", item.category, item_id)
        if words:
            self._told_keys.add("w:" + words[0])
            return Hint("words", self._surface[words[0]], item_id)
        return None

    def _refusal(self, titles: Mapping[str, str]) -> str | None:
        """A telling word in the most turned-down titles and in none of the basket's."""
        counts: Counter[str] = Counter()
        surface: dict[str, str] = {}
        for item_id in self.rejected:
            for s, w in title_words(titles.get(item_id, "")):
                if s not in self._basket_stems and s not in self.excluded and self.stats.telling(s):
                    counts[s] += 1
                    surface.setdefault(s, w)
        if not counts:
            return None
        best = sorted(counts, key=lambda s: (-counts[s], -self.stats.idf(s), s))[0]
        return surface[best]

    def refuses(self, title: str) -> bool:
        """True when a title holds a word this shopper has turned down."""
        return bool(self.excluded) and any(s in self.excluded for s, _ in title_words(title))


def _append(text: str, clause: str) -> str:
    """Add a clause before a closing question mark."""
    return text[:-1] + clause + "?" if text.endswith("?") else text + clause


def _phrase(hint: Hint) -> str:
    if hint.kind == "category":
        return f"something from your {hint.text} range"
    return f"something {hint.text}"
