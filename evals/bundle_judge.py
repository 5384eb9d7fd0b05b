"""The bundle benchmark's own judgement of one reply (`cartsmith eval bundles`).

It reads only the reply (the bundle's dict and the text) and the shop's own files
(items.parquet, interactions.parquet); it uses none of the product's detectors, matchers or
needs code, so a change to the product cannot move the ruler it is measured with.

Per request (labels: evals/bundle_requests.yaml, read by `evals.bundle_labels`):

kinds_covered   share of the labelled kinds with at least one bundle line whose title
                matches one of the kind's phrases (`title_matches`; a phrase also matches
                the shop's other names for the same thing, `SAME_THING`: "wrap" is
                "wrapping paper", "cake case" "baking case"); no bundle: 0.
budget_use      total / budget, where the shopper stated a budget; total = sum over lines of
                quantity x price (quantity defaults to 1: today's `BundleItem` has none).
over_budget     total > budget + 0.005.
item_cap_ok     every line's unit price <= item_cap + 0.005, where the shopper capped it.
filler_share    share of bundle lines that are filler (`is_filler`: cards, wrap, gift tags,
                tissues, ribbon, gift bags, envelopes, gift tape, postage), unless the
                request is about cards or wrap.
quantity_ok     where a party size and per-guest kinds are labelled: at least one per-guest
                kind is in the bundle, and for each that is, the units of its lines reach the
                party size; units of a line = quantity x the pack size its title states
                (`pack_size`: "Set of 6", "Set/20", "Pack of 72", "Box of 6", "60 ... Cases",
                "11 Pc", "for 2"; otherwise 1). No bundle: not ok.
coherence       mean pairwise lift of the bundle's distinct items in held-out invoices (from
                2011-10-01 on), lift(a, b) = (n_ab + 1) / (n_a n_b / N + 1): the observed
                count of invoices holding both over the count independence predicts, each with
                one added (add-one smoothing: a pair never seen, or items never sold, scores 1,
                not 0 or a huge ratio). Compared with `RANDOM_DRAWS` random bundles of the
                same size, each item replaced by a random item of its own category (seeded by
                the request id): `coherence_ratio` = bundle lift / random lift.
specific_reasons  share of the bundle's items whose reply line (the first line naming its
                title) gives a reason (`reason_for`: the words after "Title (£price) —", or
                the line without title, prices, list and quantity marks) that is specific:
                it is not only generic phrases (`GENERIC_REASONS`), and it
                carries a number (evidence) or a word sharing a stem (`stem`) with the
                request's kind names, kind phrases or content words (a role for the need).
cheap_rank      for "cheapest" requests: mean over lines matching a kind of the share of that
                kind's catalog items that are strictly cheaper (0: the cheapest there is).
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd

from .bundle_labels import BundleRequest

HELD_OUT_FROM = "2011-10-01"  # the benchmark's time split: invoices from this date on
RANDOM_DRAWS = 50
PRICE_SLACK = 0.005  # prices are pence: a rounding error is not a breach

# -- matching titles -------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Word-boundary, case-insensitive; each word of 3+ letters also matches its plural
    ("case" -> "cases", "box" -> "boxes", "party" -> "parties", "key" -> "keys"); words may be joined by a
    space, a hyphen or nothing ("tea cup" matches "Teacup")."""
    parts = []
    for word in re.split(r"[\s\-]+", phrase.strip().lower()):
        if len(word) >= 3 and word.isalpha() and word.endswith("y") and word[-2] not in "aeiou":
            parts.append(re.escape(word[:-1]) + "(?:y|ies)")
        elif len(word) >= 3 and word.isalpha():
            parts.append(re.escape(word) + "(?:s|es)?")
        else:
            parts.append(re.escape(word))
    return re.compile(r"(?<![a-z0-9])" + r"[\s\-]*".join(parts) + r"(?![a-z0-9])", re.IGNORECASE)


# Other names the catalog gives the same thing, as a merchandiser reads them: a label that
# says "cake case" accepts "Fairy Cake Baking Cases". One table for every label, so a fix
# here holds for every request and is never tuned to one bundle.
SAME_THING: dict[str, tuple[str, ...]] = {
    "wrap": ("wrapping paper",),
    "cake case": ("baking case",),
    "cookie cutter": ("biscuit cutter",),
    "t-light holder": ("votive holder", "tealight holder"),
    "candle holder": ("votive holder",),
}


def title_matches(title: str, phrases: Iterable[str]) -> bool:
    return any(phrase_pattern(p).search(title)
               for phrase in phrases for p in (phrase, *SAME_THING.get(phrase.lower(), ())))


_FILLER = re.compile(
    r"\b(?:cards?|postcards?|wrap|wrapping|gift\s*tags?|tissues?|ribbons?|gift\s*bags?|envelopes?|"
    r"gift\s*tape|postage|packing\s*charge|next\s*day\s*carriage)\b", re.IGNORECASE)
# Things whose titles carry a filler word but that are products in their own right.
_NOT_FILLER = re.compile(r"\b(?:playing\s*cards?|snap\s*cards?|card\s*holder|cardholder|card\s*wallet|"
                         r"card\s*kit|tissue\s*box|purse|balm|seed\s*envelopes?)\b", re.IGNORECASE)


def is_filler(title: str) -> bool:
    return bool(_FILLER.search(title)) and not _NOT_FILLER.search(title)


_PACK_PATTERNS = (
    re.compile(r"\b(?:set|pack|box|bag|tube|tin|s)\s*(?:of\s*)?/?\s*(\d+)\b(?!'s)", re.IGNORECASE),
    re.compile(r"\b(\d+)\s*(?:pack|pc|pcs|piece|pieces)\b", re.IGNORECASE),
    re.compile(r"\bfor\s+(\d+)\b", re.IGNORECASE),
    # a leading count ("60 Teatime Fairy Cake Cases"), not a size or a part ("3 Tier", "5 Hook")
    re.compile(r"^(\d+)\s+(?!tier|hook|drawer|strand|wick|layer|shelf|door)[a-z]", re.IGNORECASE),
)


_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "ten": 10, "twelve": 12,
                 "dozen": 12, "twenty": 20}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)


def pack_size(title: str) -> int:
    """How many units one catalog line holds, as its title states it (1 when it does not)."""
    title = _NUMBER_WORD.sub(lambda m: str(_NUMBER_WORDS[m.group(1).lower()]), title)
    found = [int(m.group(1)) for pattern in _PACK_PATTERNS for m in pattern.finditer(title)]
    return max([n for n in found if 1 <= n <= 500] or [1])


# -- reasons ---------------------------------------------------------------------------

GENERIC_REASONS = (
    "a close match in style", "same style", "fits right in", "matches your taste", "a good fit",
    "rounds the set off", "goes well with the rest", "a nice addition", "a great choice",
    "you'll love it", "a perfect match", "completes the set", "your pick", "the one you chose",
    "your starting point", "kept, as you asked", "staying in, as asked", "a popular choice",
)
_STOPWORDS = frozenset({
    "and", "any", "are", "bit", "bits", "but", "can", "could", "for", "from", "get", "got", "have", "her",
    "him", "his", "i'd", "i'm", "it's", "its", "just", "like", "little", "lot", "need", "nice", "our",
    "please", "she", "some", "something", "stuff", "that", "the", "their", "them", "they", "thing", "things",
    "this", "want", "we're", "what", "who", "with", "you", "your", "about", "around", "under", "over", "max",
    "budget", "pounds", "quid", "each", "per", "all", "also", "maybe", "really", "very", "too",
})
_MONEY = re.compile(r"£\s?\d[\d,]*(?:\.\d+)?")
_LIST_MARK = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")


def stem(word: str) -> str:
    """A light stemmer: a plural ending, then one verb or agent ending, keeping 3+ letters
    ("parties" / "party" -> "part", "bakers" / "baking" / "bake" -> "bak")."""
    w = word.lower().strip("'")
    w = w[:-2] if w.endswith("'s") else w
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if w.endswith(suffix) and not w.endswith("ss") and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)] + repl
            break
    for suffix in ("ing", "ers", "er", "ed", "e", "y"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)]
    return w


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z']*", text.lower())


def need_stems(request: BundleRequest) -> frozenset[str]:
    words = [w for kind in request.kinds for phrase in (kind.name, *kind.match) for w in _words(phrase)]
    words += _words(request.text)
    return frozenset(stem(w) for w in words if w not in _STOPWORDS and len(w) >= 3)


def _only_generic(reason: str) -> bool:
    rest = reason.lower()
    for phrase in GENERIC_REASONS:
        rest = rest.replace(phrase, " ")
    return not _words(rest)


_PRICE_NOTE = re.compile(r"\([^()]*£[^()]*\)")  # "(£3.75)", "(£3.75 each, £22.50)"
_QUANTITY_MARK = re.compile(r"\d+\s*[×x]\s*$", re.IGNORECASE)  # "6 × " before a title
_SEPARATOR = re.compile(r"\s[—–-]\s|[—–]|:\s")


def reason_for(title: str, text: str) -> str | None:
    """The reason the reply gives an item, from its first line naming the title (as a whole:
    a longer title that starts with it does not count): what follows the separator after the
    title ("Title (£2.95) — reason"), else the rest of the line; without prices, list marks
    and a quantity mark ("6 × "). None when no line names the item."""
    named = re.compile(r"(?<![a-z0-9])" + re.escape(title) + r"(?=\s*(?:[^\sa-z0-9]|$))", re.IGNORECASE)
    for line in text.splitlines():
        found = named.search(line)
        if found is None:
            continue
        after = _PRICE_NOTE.sub(" ", line[found.end():])
        separator = _SEPARATOR.search(after)
        if separator is not None:
            reason = after[separator.end():]
        else:
            reason = _QUANTITY_MARK.sub(" ", _LIST_MARK.sub("", line[:found.start()])) + " " + after
        return _MONEY.sub(" ", reason).strip(" -—–:;,.()\t")
    return None


def is_specific(reason: str | None, stems: frozenset[str]) -> bool:
    if not reason or _only_generic(reason):
        return False
    return bool(re.search(r"\d", reason)) or any(stem(w) in stems for w in _words(reason))


# -- the catalog's facts ----------------------------------------------------------------


@dataclasses.dataclass
class CatalogFacts:
    """Titles, prices and categories of the shop, and who bought what in held-out invoices."""

    titles: Mapping[str, str]
    prices: Mapping[str, float]
    categories: Mapping[str, str]
    invoices_of: Mapping[str, frozenset[str]]  # item id -> held-out invoices holding it
    n_invoices: int
    _kind_prices: dict[tuple[str, ...], list[float]] = dataclasses.field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, folder: Path, held_out_from: str = HELD_OUT_FROM) -> CatalogFacts:
        items = pd.read_parquet(Path(folder) / "items.parquet", columns=["item_id", "title", "price", "category"])
        lines = pd.read_parquet(Path(folder) / "interactions.parquet", columns=["basket_id", "item_id", "timestamp"])
        return cls.from_frames(items, lines, held_out_from)

    @classmethod
    def from_frames(cls, items: pd.DataFrame, lines: pd.DataFrame, held_out_from: str = HELD_OUT_FROM) -> CatalogFacts:
        held = lines[lines["timestamp"] >= pd.Timestamp(held_out_from)]
        groups = held.groupby(held["item_id"].astype(str))["basket_id"]
        invoices_of = {item: frozenset(baskets.astype(str)) for item, baskets in groups}
        ids = items["item_id"].astype(str)
        return cls(dict(zip(ids, items["title"].astype(str), strict=True)),
                   dict(zip(ids, items["price"].fillna(0.0).astype(float), strict=True)),
                   dict(zip(ids, items["category"].fillna("").astype(str), strict=True)),
                   invoices_of, int(held["basket_id"].nunique()))

    @functools.cached_property
    def ids_by_category(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for item, category in sorted(self.categories.items()):
            out.setdefault(category, []).append(item)
        return out

    def lift(self, a: str, b: str) -> float:
        ia, ib = self.invoices_of.get(a, frozenset()), self.invoices_of.get(b, frozenset())
        expected = len(ia) * len(ib) / self.n_invoices if self.n_invoices else 0.0
        return (len(ia & ib) + 1) / (expected + 1)

    def mean_lift(self, ids: Sequence[str]) -> float | None:
        pairs = list(combinations(dict.fromkeys(ids), 2))
        return statistics.fmean(self.lift(a, b) for a, b in pairs) if pairs else None

    def random_lift(self, categories: Sequence[str], seed: str, draws: int = RANDOM_DRAWS) -> float | None:
        """Mean pairwise lift of random bundles: each position a random item of its category."""
        if len(categories) < 2:
            return None
        rng = random.Random(seed)
        everything = sorted(self.titles)
        lifts = []
        for _ in range(draws):
            picked: list[str] = []
            for category in categories:
                pool = [i for i in self.ids_by_category.get(category) or everything if i not in picked]
                picked.append(rng.choice(pool or everything))
            lift = self.mean_lift(picked)
            if lift is not None:
                lifts.append(lift)
        return statistics.fmean(lifts) if lifts else None

    def cheaper_share(self, phrases: Sequence[str], price: float) -> float | None:
        """Share of the catalog items matching `phrases` that cost less than `price`."""
        key = tuple(phrases)
        if key not in self._kind_prices:
            self._kind_prices[key] = [self.prices[i] for i, t in self.titles.items() if title_matches(t, key)]
        prices = self._kind_prices[key]
        return sum(p < price - PRICE_SLACK for p in prices) / len(prices) if prices else None


# -- one request ------------------------------------------------------------------------


def _lines(bundle: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not bundle:
        return []
    out = []
    for item in bundle.get("items") or []:
        quantity = item.get("quantity")
        out.append({"item_id": str(item.get("item_id", "")), "title": str(item.get("title", "")),
                    "price": float(item.get("price") or 0.0), "category": str(item.get("category") or ""),
                    "quantity": int(quantity) if quantity is not None else 1})
    return out


def quantity_ok(request: BundleRequest, lines: Sequence[Mapping[str, Any]]) -> bool | None:
    if request.party_size is None or not request.per_guest:
        return None
    kinds = {k.name: k for k in request.kinds}
    present = False
    for name in request.per_guest:
        matching = [ln for ln in lines if title_matches(ln["title"], kinds[name].match)]
        if not matching:
            continue
        present = True
        if sum(ln["quantity"] * pack_size(ln["title"]) for ln in matching) < request.party_size:
            return False
    return present


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def judge(request: BundleRequest, bundle: Mapping[str, Any] | None, reply_text: str,
          facts: CatalogFacts) -> dict[str, Any]:
    """Every metric of one reply (None where a metric does not apply); see the module doc."""
    lines = _lines(bundle)
    found = [k.name for k in request.kinds if any(title_matches(ln["title"], k.match) for ln in lines)]
    total = round(sum(ln["quantity"] * ln["price"] for ln in lines), 2)
    row: dict[str, Any] = {
        "id": request.id, "group": request.group, "text": request.text, "has_bundle": bool(lines),
        "items": lines, "total": total if lines else None, "budget": request.budget,
        "kinds_found": found, "kinds_total": len(request.kinds), "kinds_covered": _round(len(found) / len(request.kinds)),
    }
    budgeted = request.budget is not None
    row["budget_use"] = _round(total / request.budget) if budgeted and lines and request.budget else None
    row["over_budget"] = (total > request.budget + PRICE_SLACK) if budgeted and request.budget else None
    row["item_cap_ok"] = (all(ln["price"] <= request.item_cap + PRICE_SLACK for ln in lines)
                          if request.item_cap is not None and lines else None)
    row["filler_share"] = (_round(sum(is_filler(ln["title"]) for ln in lines) / len(lines))
                           if lines and not request.about_filler else None)
    row["quantity_ok"] = quantity_ok(request, lines)
    ids = [ln["item_id"] for ln in lines if ln["item_id"] in facts.titles]
    distinct = list(dict.fromkeys(ids))
    bundle_lift = facts.mean_lift(distinct)
    random_lift = facts.random_lift([facts.categories[i] for i in distinct], f"bundles:{request.id}")
    row["coherence_lift"] = _round(bundle_lift)
    row["random_lift"] = _round(random_lift)
    row["coherence_ratio"] = _round(bundle_lift / random_lift) if bundle_lift and random_lift else None
    stems = need_stems(request)
    reasons = [reason_for(ln["title"], reply_text) for ln in lines]
    row["reasons"] = reasons
    row["specific_reasons"] = _round(sum(is_specific(r, stems) for r in reasons) / len(lines)) if lines else None
    row["cheap_rank"] = _round(_cheap_rank(request, lines, facts)) if request.cheapest else None
    return row


def _cheap_rank(request: BundleRequest, lines: Sequence[Mapping[str, Any]], facts: CatalogFacts) -> float | None:
    ranks = []
    for ln in lines:
        shares = [facts.cheaper_share(k.match, ln["price"]) for k in request.kinds if title_matches(ln["title"], k.match)]
        known = [s for s in shares if s is not None]
        if known:
            ranks.append(statistics.fmean(known))
    return statistics.fmean(ranks) if ranks else None


# -- the whole set ----------------------------------------------------------------------


def _mean(values: Iterable[float | bool | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return round(statistics.fmean(kept), 4) if kept else None


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The benchmark's numbers over judged requests (each metric over the requests it applies to)."""
    bundle_lifts = [r["coherence_lift"] for r in rows if r["coherence_lift"] is not None and r["random_lift"]]
    random_lifts = [r["random_lift"] for r in rows if r["coherence_lift"] is not None and r["random_lift"]]
    uses = [r["budget_use"] for r in rows if r["budget_use"] is not None]
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    return {
        "requests": len(rows),
        "no_bundle": sum(not r["has_bundle"] for r in rows),
        "kinds_covered": _mean(r["kinds_covered"] for r in rows),
        "budget_use_median": round(statistics.median(uses), 4) if uses else None,
        "budgeted_requests": sum(r["budget"] is not None for r in rows),
        "over_budget": sum(bool(r["over_budget"]) for r in rows),
        "item_cap_respected": _mean(r["item_cap_ok"] for r in rows),
        "filler_share": _mean(r["filler_share"] for r in rows),
        "quantity_ok": _mean(r["quantity_ok"] for r in rows),
        "party_requests": sum(r["quantity_ok"] is not None for r in rows),
        "coherence_lift": (round(statistics.fmean(bundle_lifts) / statistics.fmean(random_lifts), 4)
                           if bundle_lifts else None),
        "coherence_bundle_lift": _mean(bundle_lifts),
        "coherence_random_lift": _mean(random_lifts),
        "specific_reasons": _mean(r["specific_reasons"] for r in rows),
        "cheapest_price_rank": _mean(r["cheap_rank"] for r in rows),
        "by_group": {g: {"requests": len(rs), "kinds_covered": _mean(r["kinds_covered"] for r in rs)}
                     for g, rs in sorted(groups.items())},
    }
