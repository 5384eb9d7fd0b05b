"""The catalog and the interaction log, as loaded, cleaned and validated.

`Catalog` is an ordered list of `Item`s (position = the integer index every model uses).
`Interactions` holds one row per basket line (basket, item, user, time, quantity).
`BasketData` is the sparse view the candidate sources learn from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from .errors import DataValidationError, UnknownItemError
from .records import Item

ITEM_COLUMNS = ("item_id", "title", "price", "description", "category", "brand")
INTERACTION_COLUMNS = ("basket_id", "item_id", "user_id", "timestamp", "quantity")

_SPACES = re.compile(r"\s+")
_SMALL_WORDS = {"a", "an", "and", "of", "in", "on", "for", "with", "the", "to", "or", "at"}


def normalise_text(text: object) -> str:
    """NFKC, collapse whitespace, strip stray punctuation at the ends."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    value = unicodedata.normalize("NFKC", str(text))
    value = _SPACES.sub(" ", value).strip()
    return value.strip(" .,;")


def display_title(text: str) -> str:
    """Shop-style title case for ALL-CAPS titles ("WHITE METAL LANTERN" -> "White Metal Lantern").

    Titles that already mix cases are kept as the shop wrote them.
    """
    letters = [c for c in text if c.isalpha()]
    if not letters or any(c.islower() for c in letters):
        return text
    words = text.lower().split(" ")
    out = []
    for i, word in enumerate(words):
        if i > 0 and word in _SMALL_WORDS:
            out.append(word)
        else:
            out.append("-".join(part[:1].upper() + part[1:] for part in word.split("-")))
    return " ".join(out)


@dataclasses.dataclass
class Catalog:
    items: list[Item]

    def __post_init__(self) -> None:
        self.index_of: dict[str, int] = {}
        for position, item in enumerate(self.items):
            if item.item_id in self.index_of:
                raise DataValidationError(f"duplicate item id {item.item_id!r}", field="item_id")
            self.index_of[item.item_id] = position
        self.prices = np.array(
            [np.nan if it.price is None else it.price for it in self.items], dtype=np.float64
        )

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.index_of

    def get(self, item_id: str) -> Item:
        try:
            return self.items[self.index_of[item_id]]
        except KeyError as exc:
            raise UnknownItemError([item_id]) from exc

    def indices(self, item_ids: Iterable[str], *, strict: bool = True) -> list[int]:
        ids = list(item_ids)
        missing = [i for i in ids if i not in self.index_of]
        if missing and strict:
            raise UnknownItemError(missing)
        return [self.index_of[i] for i in ids if i in self.index_of]

    @property
    def categories(self) -> list[str]:
        return [it.category for it in self.items]

    def with_categories(self, categories: Sequence[str]) -> Catalog:
        return Catalog(
            [dataclasses.replace(it, category=c) for it, c in zip(self.items, categories, strict=True)]
        )

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for it in self.items:
            row = {
                "item_id": it.item_id,
                "title": it.title,
                "price": it.price,
                "description": it.description,
                "category": it.category,
                "brand": it.brand,
            }
            row.update({f"attr:{k}": v for k, v in it.attributes.items()})
            rows.append(row)
        return pd.DataFrame(rows, columns=None if rows else list(ITEM_COLUMNS))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Catalog:
        attr_cols = [c for c in frame.columns if c.startswith("attr:")]
        items = []
        for row in frame.itertuples(index=False):
            rec = dict(zip(frame.columns, row, strict=True))
            price = rec.get("price")
            items.append(
                Item(
                    item_id=str(rec["item_id"]),
                    title=str(rec["title"]),
                    price=None if price is None or pd.isna(price) else float(price),
                    description=_str_or_empty(rec.get("description")),
                    category=_str_or_empty(rec.get("category")),
                    brand=_str_or_empty(rec.get("brand")),
                    attributes={
                        c[5:]: str(rec[c]) for c in attr_cols if not _is_missing(rec[c])
                    },
                )
            )
        return cls(items)

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for it in self.items:
            digest.update(repr((it.item_id, it.title, it.price, it.description, it.category,
                                it.brand, sorted(it.attributes.items()))).encode())
        return digest.hexdigest()[:16]


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _str_or_empty(value: object) -> str:
    return "" if _is_missing(value) else str(value)


@dataclasses.dataclass
class Interactions:
    """One row per basket line. Columns: basket_id, item_id, user_id, timestamp, quantity."""

    frame: pd.DataFrame

    def __post_init__(self) -> None:
        for col in INTERACTION_COLUMNS:
            if col not in self.frame.columns:
                self.frame[col] = None if col != "quantity" else 1.0
        self.frame = self.frame[list(INTERACTION_COLUMNS)].reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def n_baskets(self) -> int:
        return int(self.frame["basket_id"].nunique())

    def subset(self, mask: np.ndarray | pd.Series) -> Interactions:
        return Interactions(self.frame[np.asarray(mask)].copy())

    def without_users(self, user_ids: Iterable[str]) -> tuple[Interactions, int]:
        """(these interactions less every line of the given users, how many of them had
        lines): a customer who asked to be forgotten leaves no trace in what is fitted."""
        forgotten = {str(u) for u in user_ids}
        if not forgotten:
            return self, 0
        users = self.frame["user_id"]
        mask = users.notna().to_numpy() & users.astype(str).isin(forgotten).to_numpy()
        if not mask.any():
            return self, 0
        return self.subset(~mask), int(users[mask].astype(str).nunique())

    def content_hash(self) -> str:
        hashed = pd.util.hash_pandas_object(self.frame.astype(str), index=False)
        return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]


@dataclasses.dataclass
class BasketData:
    """What the candidate sources learn from: sparse basket×item and user×item matrices.

    Rows of `baskets` are baskets in chronological order when timestamps exist; values are 1
    (an item counts once per basket). `basket_users[b]` is the user's row in `user_items`, or -1.
    """

    catalog: Catalog
    baskets: sparse.csr_matrix
    basket_users: np.ndarray
    user_ids: list[str]
    user_items: sparse.csr_matrix
    sequences: list[np.ndarray]

    @property
    def user_index(self) -> dict[str, int]:
        cached = getattr(self, "_user_index", None)
        if cached is None:
            cached = {u: i for i, u in enumerate(self.user_ids)}
            self._user_index = cached
        return cached

    @property
    def n_items(self) -> int:
        return len(self.catalog)

    @classmethod
    def build(cls, catalog: Catalog, interactions: Interactions) -> BasketData:
        frame = interactions.frame
        item_idx = frame["item_id"].map(catalog.index_of)
        if item_idx.isna().any():
            missing = frame.loc[item_idx.isna(), "item_id"].astype(str).unique().tolist()
            raise UnknownItemError(missing)
        frame = frame.assign(_item=item_idx.astype(np.int64))
        if frame["timestamp"].notna().any():
            order = frame.groupby("basket_id", sort=False)["timestamp"].min().sort_values(kind="stable")
            basket_order = order.index
        else:
            basket_order = pd.Index(frame["basket_id"].drop_duplicates())
        basket_pos = pd.Series(np.arange(len(basket_order)), index=basket_order)
        rows = frame["basket_id"].map(basket_pos).to_numpy()
        cols = frame["_item"].to_numpy()
        n_b, n_i = len(basket_order), len(catalog)
        baskets = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_b, n_i))
        baskets.data[:] = 1.0  # duplicates summed by the constructor; an item counts once
        baskets.sum_duplicates()
        baskets.data[:] = 1.0

        users = frame["user_id"].where(frame["user_id"].notna(), None)
        known = users.dropna().astype(str)
        user_ids = sorted(known.unique().tolist())
        user_pos = {u: i for i, u in enumerate(user_ids)}
        first_user = frame.assign(_u=users).groupby("basket_id", sort=False)["_u"].first()
        basket_users = np.array(
            [user_pos.get(str(u), -1) if pd.notna(u) else -1 for u in first_user.reindex(basket_order)],
            dtype=np.int64,
        )
        if user_ids:
            ui_rows = frame.loc[known.index, "user_id"].astype(str).map(user_pos).to_numpy()
            ui_cols = frame.loc[known.index, "_item"].to_numpy()
            user_items = sparse.csr_matrix(
                (np.ones(len(ui_rows), dtype=np.float32), (ui_rows, ui_cols)), shape=(len(user_ids), n_i)
            )
            user_items.sum_duplicates()
        else:
            user_items = sparse.csr_matrix((0, n_i), dtype=np.float32)
        sequences = _user_sequences(frame, basket_order, user_pos)
        return cls(catalog, baskets, basket_users, user_ids, user_items, sequences)


def _user_sequences(frame: pd.DataFrame, basket_order: pd.Index, user_pos: dict[str, int]) -> list[np.ndarray]:
    """Item sequences for next-item models: per user (by time), else per basket (cart order)."""
    order = pd.Series(np.arange(len(basket_order)), index=basket_order)
    keyed = frame.assign(_b=frame["basket_id"].map(order))
    if user_pos:
        keyed = keyed.assign(_k=keyed["user_id"].astype(str).where(keyed["user_id"].notna(),
                                                                  "basket:" + keyed["basket_id"].astype(str)))
    else:
        keyed = keyed.assign(_k="basket:" + keyed["basket_id"].astype(str))
    keyed = keyed.sort_values(["_k", "_b"], kind="stable")
    return [grp["_item"].to_numpy() for _, grp in keyed.groupby("_k", sort=False)]
