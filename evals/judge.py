"""The evals' own judges of a reply: grounding against the catalog file, leaks against the
prompt template files.

An evaluation that used the product's detectors (`assistant.safety.guard`) would share
their blind spots and pass whatever they miss, so nothing here imports the product: the
catalog is read from its file with pandas (an index folder's `items.parquet`, or a CSV or
Parquet file with `item_id`, `title`, `price` columns), and the templates from
`prompts/templates/*.txt`.

- `ungrounded(text, catalog, ...)` lists what a reply names without being allowed to:
  catalog titles and distinctive item ids beyond the allowed items, and money amounts that
  equal none of the allowed amounts.
- `PromptTemplates.leaks(text)` lists the runs of `LEAK_RUN_WORDS` or more consecutive
  template words that a reply repeats.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from retrieval.datasets import REPO_ROOT

TEMPLATES_DIR = REPO_ROOT / "prompts" / "templates"
# Eight words: the templates' instructions are that long or longer (bar "You are a friendly
# shop assistant." and "Shop request as JSON.", harmless alone), while the runs the product
# says by itself (its list of edits: "cheaper, swap, remove, add, lock, more like this")
# stay below it.
LEAK_RUN_WORDS = 8
# A one-word title under this length ("Tote", "Ruler") is ordinary prose more often than a
# product mention.
MIN_TITLE_CHARS = 6
# Ids this short ("1", "22") are list numbers and quantities as often as ids.
MIN_ID_CHARS = 4
PENNY = 0.005  # amounts are rendered to the penny

_AMOUNT = re.compile(
    r"(?P<currency>£|\$|€|\b(?:gbp|eur|usd)\b)\s?(?P<number>\d[\d,]*(?:\.\d+)?)"
    r"|(?<![\w.,])(?P<spelled>\d[\d,]*(?:\.\d+)?)\s?(?:pounds?|quid|gbp)\b",
    re.IGNORECASE)
_WORDS = re.compile(r"[a-z0-9]+")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


# --------------------------------------------------------------------------- the catalog file


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    item_id: str
    title: str
    price: float | None
    category: str = ""


@dataclasses.dataclass(frozen=True)
class CatalogFile:
    """The catalog as its file says: id -> entry."""

    entries: Mapping[str, CatalogEntry]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> CatalogFile:
        missing = {"item_id", "title", "price"} - set(frame.columns)
        if missing:
            raise ValueError(f"the catalog file lacks column(s) {', '.join(sorted(missing))}")
        categories = frame["category"] if "category" in frame.columns else pd.Series("", index=frame.index)
        entries = {}
        for item_id, title, price, category in zip(frame["item_id"], frame["title"], frame["price"], categories,
                                                   strict=True):
            known_price = None if pd.isna(price) else float(price)
            entries[str(item_id)] = CatalogEntry(str(item_id), str(title), known_price,
                                                 "" if pd.isna(category) else str(category))
        return cls(entries)

    @classmethod
    def load(cls, path: Path) -> CatalogFile:
        """An index folder (its `items.parquet`), or a `.parquet` / `.csv` items file."""
        path = Path(path)
        if path.is_dir():
            path = path / "items.parquet"
        if path.suffix == ".csv":
            return cls.from_frame(pd.read_csv(path, dtype={"item_id": str}))
        return cls.from_frame(pd.read_parquet(path))

    @functools.cached_property
    def titles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.title for e in self.entries.values()))

    @functools.cached_property
    def mentionable(self) -> tuple[tuple[str, str], ...]:
        """(title, normalised title) for the titles long enough to count as a mention."""
        return tuple((t, _norm(t)) for t in self.titles if len(t) >= MIN_TITLE_CHARS)

    @functools.cached_property
    def ids_folded(self) -> Mapping[str, CatalogEntry]:
        """Ids in lower case: the reply text is matched lower-cased ("85123a")."""
        return {i.lower(): e for i, e in self.entries.items()}

    @property
    def categories(self) -> set[str]:
        return {e.category.lower() for e in self.entries.values()}

    def resolve(self, ref: str) -> list[CatalogEntry]:
        """A script's item reference: the exact id, else every title with that piece (any case)."""
        if ref in self.entries:
            return [self.entries[ref]]
        piece = ref.lower()
        return [e for e in self.entries.values() if piece in e.title.lower()]

    def price_of_title(self, title: str) -> float | None:
        wanted = _norm(title)
        return next((e.price for e in self.entries.values() if _norm(e.title) == wanted), None)

    def cost(self, item_id: str, quantity: int = 1) -> float | None:
        """quantity x the file's price; None when the id is not in the file."""
        entry = self.entries.get(item_id)
        return None if entry is None else round(quantity * (entry.price or 0.0), 2)

    def total(self, lines: Iterable[tuple[str, int]]) -> float | None:
        """The sum of (item id, quantity) lines at the file's prices; None when an id is not
        in the file."""
        costs = [self.cost(item_id, quantity) for item_id, quantity in lines]
        if any(c is None for c in costs):
            return None
        return round(sum(c or 0.0 for c in costs), 2)


# --------------------------------------------------------------------------- grounding


def money_amounts(text: str) -> list[tuple[str, float, bool]]:
    """(as written, value, in pounds) for every money amount in the text."""
    out = []
    for match in _AMOUNT.finditer(text):
        number = match.group("number") or match.group("spelled")
        currency = (match.group("currency") or "£").strip().upper()
        out.append((match.group().strip().rstrip(","), float(number.replace(",", "")), currency in ("£", "GBP")))
    return out


def _mentions(title: str, text: str) -> bool:
    """The title appears in the (normalised) text as whole words."""
    if title not in text:
        return False
    return re.search(rf"(?<![a-z0-9]){re.escape(title)}(?![a-z0-9])", text) is not None


def ungrounded(text: str, catalog: CatalogFile, item_ids: Iterable[str] = (), titles: Iterable[str] = (),
               amounts: Iterable[float | None] = ()) -> list[str]:
    """What the reply names beyond what it may: catalog titles and ids other than those of
    `item_ids` (and the extra `titles`, e.g. items an edit removed), and money amounts equal
    to none of `amounts` (an amount in another currency never is)."""
    allowed_ids = set(item_ids)
    allowed = {_norm(catalog.entries[i].title) for i in allowed_ids if i in catalog.entries}
    allowed |= {_norm(t) for t in titles}
    rest = _norm(text)
    # An allowed title is consumed first: "Gift Voucher £20.00" is a name, not a price, and a
    # catalog title inside an allowed one ("Lunch Bag" in "Lunch Bag Red") is no mention.
    for title in sorted(allowed, key=len, reverse=True):
        rest = rest.replace(title, " | ")
    problems = [title for title, normed in catalog.mentionable if normed not in allowed and _mentions(normed, rest)]
    tokens = set(re.findall(r"(?<![\w£$€.,])[0-9a-z]+(?!\w|[.,]\d)", rest))
    problems += [f"item id {catalog.ids_folded[token].item_id}" for token in sorted(tokens)
                 if len(token) >= MIN_ID_CHARS and any(ch.isdigit() for ch in token)
                 and token in catalog.ids_folded and catalog.ids_folded[token].item_id not in allowed_ids]
    values = [v for v in amounts if v is not None]
    for written, value, in_pounds in money_amounts(rest):
        if not in_pounds or not any(abs(value - v) < PENNY for v in values):
            problems.append(written)
    return problems


def pairwise_differences(prices: Sequence[float | None]) -> list[float]:
    """|a - b| for every two known prices: what a comparison may quote."""
    known = [p for p in prices if p is not None]
    return [round(abs(a - b), 2) for a, b in itertools.combinations(known, 2)]


# --------------------------------------------------------------------------- prompt leaks


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.casefold())


@dataclasses.dataclass(frozen=True)
class PromptTemplates:
    """The word runs of the prompt templates; a placeholder ends a run (what fills it is the
    shopper's or the shop's text, not the prompt's)."""

    pieces: tuple[tuple[str, ...], ...] = ()
    run_words: int = LEAK_RUN_WORDS

    @classmethod
    def from_texts(cls, texts: Iterable[str], run_words: int = LEAK_RUN_WORDS) -> PromptTemplates:
        pieces = [tuple(_words(piece)) for text in texts for piece in _PLACEHOLDER.split(text)]
        return cls(tuple(p for p in pieces if len(p) >= run_words), run_words)

    @classmethod
    def load(cls, folder: Path = TEMPLATES_DIR, run_words: int = LEAK_RUN_WORDS) -> PromptTemplates:
        files = sorted(Path(folder).glob("*.txt"))
        if not files:
            raise FileNotFoundError(f"no prompt templates (*.txt) in {folder}")
        return cls.from_texts((f.read_text(encoding="utf-8") for f in files), run_words)

    def leaks(self, text: str) -> list[str]:
        """Each longest run of at least `run_words` template words that the text repeats."""
        said = _words(text)
        n = self.run_words
        grams = {tuple(said[i:i + n]) for i in range(len(said) - n + 1)}
        found: list[str] = []
        for piece in self.pieces:
            start = 0
            while start <= len(piece) - n:
                if piece[start:start + n] not in grams:
                    start += 1
                    continue
                end = start + n
                while end < len(piece) and piece[end - n + 1:end + 1] in grams:
                    end += 1
                run = " ".join(piece[start:end])
                if run not in found:
                    found.append(run)
                start = end
        return found
