"""Coarse categories for a catalog that has none: cluster item embeddings, name the clusters.

KMeans (fixed seed) groups the item text vectors; each group is named after the title words
that are common inside it and rare outside it (a class-based TF-IDF), skipping stopwords,
colours, sizes, units and numbers: e.g. "candles & t-lights", "mugs, cups & saucers".
Names are unique and the whole thing is deterministic for a given catalog and embeddings.

>>> cats = derive_categories(catalog, embeddings)        # one name per item
>>> catalog = catalog.with_categories(cats)
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from .catalog import Catalog
from .config import Config, check
from .embeddings import normalize_rows


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


COLOUR_WORDS = _words("""
black white red green blue yellow pink purple orange brown grey gray silver gold golden
ivory cream beige navy teal turquoise aqua lilac lavender violet magenta cyan maroon burgundy
khaki tan mint coral peach rose copper bronze charcoal natural clear multicolour multicolor
multi colour colours color colors pastel bright dark light-blue light-pink
""")

SIZE_WORDS = _words("""
small medium large big giant jumbo mini tiny xl xxl xs s m l extra regular tall short wide
long size sizes set sets pack packs pcs pc piece pieces assorted asst of x cm mm m ml l
ltr litre liter g kg oz lb lbs fl ct count inch inches in ft pair pairs dozen
""")

# English stopwords plus shop filler; sklearn's list is folded in at first use.
EXTRA_STOPWORDS = _words("""
new design vintage style retro classic deluxe premium original item items product products
organic natural with without free and or the of for in on to a an by & + w/ n
""")

_TOKEN = re.compile(r"[a-z]+(?:['-][a-z]+)*")


@dataclasses.dataclass(frozen=True)
class ClusterConfig(Config):
    """How many clusters and how they are named.

    n_clusters: fixed number, or None for round(sqrt(n_items / 4)) clipped to
        [min_clusters, max_clusters] (and never more than the items).
    max_words / min_share: a name takes up to max_words terms scoring at least min_share
        of the best term's score.
    """

    n_clusters: int | None = None
    min_clusters: int = 8
    max_clusters: int = 40
    seed: int = 0
    n_init: int = 4
    max_iter: int = 100
    max_words: int = 3
    min_share: float = 0.4

    def validate(self) -> None:
        check(self.n_clusters is None or self.n_clusters >= 1, "categories.n_clusters", "must be >= 1")
        check(1 <= self.min_clusters <= self.max_clusters, "categories",
              "need 1 <= min_clusters <= max_clusters")
        check(self.n_init >= 1 and self.max_iter >= 1, "categories", "n_init and max_iter must be >= 1")
        check(1 <= self.max_words <= 5, "categories.max_words", "must be 1..5")
        check(0.0 < self.min_share <= 1.0, "categories.min_share", "must be within (0, 1]")


def default_n_clusters(n_items: int, config: ClusterConfig | None = None) -> int:
    config = config or ClusterConfig()
    if config.n_clusters is not None:
        k = config.n_clusters
    else:
        k = min(max(round(math.sqrt(n_items / 4)), config.min_clusters), config.max_clusters)
    return max(1, min(k, n_items))


def cluster_items(embeddings: np.ndarray, n_clusters: int, *, seed: int = 0, n_init: int = 4,
                  max_iter: int = 100) -> np.ndarray:
    """KMeans labels on unit vectors, renumbered by first appearance (stable ids)."""
    from sklearn.cluster import KMeans

    vecs = normalize_rows(np.asarray(embeddings, dtype=np.float32)).astype(np.float64)
    n_distinct = len(np.unique(vecs.round(6), axis=0))
    n_clusters = max(1, min(n_clusters, n_distinct))
    if n_clusters == 1:
        return np.zeros(len(vecs), dtype=np.int64)
    km = KMeans(n_clusters=n_clusters, random_state=seed, n_init=n_init, max_iter=max_iter)
    raw = km.fit_predict(vecs)
    order: dict[int, int] = {}
    for label in raw:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in raw], dtype=np.int64)


def _stopwords() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | EXTRA_STOPWORDS | COLOUR_WORDS | SIZE_WORDS


def _stem(token: str) -> str:
    """Crude singular: candles -> candle, boxes -> box, berries -> berry (not glass, bus)."""
    if len(token) <= 3 or token.endswith(("ss", "us", "is")):
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("ches", "shes", "xes", "sses")):
        return token[:-2]
    if token.endswith("s"):
        return token[:-1]
    return token


def title_terms(title: str, stop: frozenset[str] | None = None) -> list[str]:
    """Tokens of a title worth naming a category by (lower case, no stopwords/colours/sizes)."""
    stop = _stopwords() if stop is None else stop
    terms = []
    for tok in _TOKEN.findall(title.lower()):
        tok = tok.strip("'-")
        if tok.endswith("'s"):
            tok = tok[:-2]
        if len(tok) < 3 or tok in stop or _stem(tok) in stop:
            continue
        terms.append(tok)
    return terms


def _join(words: Sequence[str]) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " & " + words[-1]


def _centrality(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each item's cosine to its cluster's centre, floored at a small positive weight."""
    vecs = normalize_rows(np.asarray(embeddings, dtype=np.float32))
    weights = np.empty(len(vecs), dtype=np.float64)
    for c in np.unique(labels):
        members = labels == c
        centre = normalize_rows(vecs[members].mean(axis=0)[None, :])[0]
        weights[members] = vecs[members] @ centre
    return np.clip(weights, 0.05, None)


def name_clusters(
    titles: Sequence[str],
    labels: np.ndarray,
    config: ClusterConfig | None = None,
    embeddings: np.ndarray | None = None,
) -> dict[int, str]:
    """A unique, readable name for each cluster label from its items' titles.

    A term scores p_in * log(1 + p_in / p_out): how many of the cluster's titles hold it
    against how many of the other titles do. With `embeddings`, titles close to the cluster
    centre count more (so ties go to words of the most typical items). Terms that recur in
    the cluster come first; single-title terms only fill a name up to two words. Terms that
    usually stand next to each other in the titles keep their order as one phrase
    ("hot water bottles", "cake cases") instead of being listed ("bottles, hot & water").
    """
    config = config or ClusterConfig()
    stop = _stopwords()
    labels = np.asarray(labels)
    cluster_ids = sorted({int(x) for x in labels})
    n_items = len(titles)
    weights = (_centrality(embeddings, labels) if embeddings is not None
               else np.ones(n_items, dtype=np.float64))
    counts: dict[int, Counter[str]] = {c: Counter() for c in cluster_ids}  # titles with stem
    mass: dict[int, dict[str, float]] = {c: {} for c in cluster_ids}  # weighted
    total: Counter[str] = Counter()
    surface: dict[str, Counter[str]] = {}
    sequences: dict[int, list[list[str]]] = {c: [] for c in cluster_ids}
    for title, label, weight in zip(titles, labels, weights, strict=True):
        stems = set()
        seq = []
        for tok in title_terms(title, stop):
            stem = _stem(tok)
            stems.add(stem)
            seq.append(stem)
            surface.setdefault(stem, Counter())[tok] += 1
        c = int(label)
        sequences[c].append(seq)
        counts[c].update(stems)
        for stem in stems:
            mass[c][stem] = mass[c].get(stem, 0.0) + float(weight)
        total.update(stems)
    sizes = Counter(int(x) for x in labels)
    cluster_weight = {c: float(weights[labels == c].sum()) for c in cluster_ids}

    def display(stem: str, head: bool) -> str:
        # the form the titles use most; the last word of a phrase is plural ("t-light
        # holders", "candles") when the titles use the plural at least a fifth of the time
        forms = surface[stem]
        if head:
            plurals = [(n, f) for f, n in forms.items() if f != stem and f.endswith("s")]
            if plurals and max(plurals)[0] >= 0.2 * sum(forms.values()):
                return max(plurals)[1]
        return max(forms.items(), key=lambda kv: (kv[1], kv[0] != stem, kv[0]))[0]

    def make_name(c: int, picked: list[str]) -> str:
        units = _phrases(picked, sequences[c])
        words: list[list[str]] = []
        budget = config.max_words
        for unit in units:
            if words and len(unit) > budget:
                break
            words.append(unit[:budget])
            budget -= len(words[-1])
            if budget <= 0:
                break
        return _join([" ".join(display(s, i == len(unit) - 1) for i, s in enumerate(unit))
                      for unit in words])

    def ranked(c: int) -> tuple[list[str], list[str]]:
        rest = max(n_items - sizes[c], 1)
        scored = []
        for stem, count in counts[c].items():
            p_in = mass[c][stem] / cluster_weight[c]
            p_out = (total[stem] - count) / rest
            score = p_in * math.log(1.0 + (p_in + 1e-3) / (p_out + 1e-3))
            scored.append((count >= 2 or sizes[c] == 1, score, stem))
        scored.sort(key=lambda t: (-t[1], t[2]))
        recurring = [(sc, st) for rec, sc, st in scored if rec]
        single = [st for rec, _, st in scored if not rec]
        picked = []
        if recurring:
            top = recurring[0][0]
            picked = [st for sc, st in recurring[: config.max_words] if sc >= config.min_share * top]
        spare = [st for _, st in recurring if st not in picked] + single
        while len(picked) < min(2, config.max_words) and spare:
            picked.append(spare.pop(0))
        return picked, spare

    names: dict[int, str] = {}
    used: set[str] = set()
    for c in sorted(cluster_ids, key=lambda c: (-sizes[c], c)):
        picked, spare = ranked(c)
        if not picked:
            name = "other"
        else:
            name = make_name(c, picked)
            while name in used and spare:
                picked = [*picked[: config.max_words - 1], spare.pop(0)]
                name = make_name(c, picked)
        base, n = name, 2
        while name in used:
            name, n = f"{base} ({n})", n + 1
        used.add(name)
        names[c] = name
    return names


def _phrases(picked: list[str], sequences: list[list[str]]) -> list[list[str]]:
    """Chain picked terms into phrases where one mostly comes right after the other.

    b follows a when, in at least 60% (and 2) of the titles holding both, b is the next
    kept term after a. Units come back in the order of their best-scoring member.
    """
    chosen = set(picked)
    follows: Counter[tuple[str, str]] = Counter()
    together: Counter[tuple[str, str]] = Counter()
    for seq in sequences:
        present = sorted(set(seq) & chosen)
        for i, a in enumerate(present):
            for b in present[i + 1:]:
                together[(a, b)] += 1
        for a, b in itertools.pairwise(seq):
            if a != b and a in chosen and b in chosen:
                follows[(a, b)] += 1
    nxt: dict[str, str] = {}
    prev: dict[str, str] = {}
    for (a, b), n in sorted(follows.items(), key=lambda kv: (-kv[1], kv[0])):
        both = together[(min(a, b), max(a, b))]
        if n < 2 or n < 0.6 * both or a in nxt or b in prev:
            continue
        cur: str | None = b  # refuse cycles
        while cur is not None and cur != a:
            cur = nxt.get(cur)
        if cur == a:
            continue
        nxt[a], prev[b] = b, a
    units: list[list[str]] = []
    seen: set[str] = set()
    for stem in picked:
        if stem in seen:
            continue
        head = stem
        while head in prev:
            head = prev[head]
        chain = []
        node: str | None = head
        while node is not None and node not in seen:
            chain.append(node)
            seen.add(node)
            node = nxt.get(node)
        units.append(chain)
    return units


def derive_categories(catalog: Catalog, embeddings: np.ndarray, config: ClusterConfig | None = None) -> list[str]:
    """One category name per catalog item (aligned with `catalog.items`), from clustering."""
    config = config or ClusterConfig()
    if len(catalog) == 0:
        return []
    if len(embeddings) != len(catalog):
        raise ValueError(f"{len(embeddings)} embeddings for {len(catalog)} items")
    k = default_n_clusters(len(catalog), config)
    labels = cluster_items(embeddings, k, seed=config.seed, n_init=config.n_init, max_iter=config.max_iter)
    names = name_clusters([it.title for it in catalog.items], labels, config, embeddings)
    return [names[int(label)] for label in labels]


assign_categories = derive_categories  # the name the index builder uses
