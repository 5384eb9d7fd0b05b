"""Loaders for the two real shops the project is measured on.

- UCI Online Retail (`data/online_retail.csv.zip`, CC BY 4.0): the default shop. Cleaned as
  a shop would: cancellations, service codes, non-positive quantities/prices and exact
  duplicate lines dropped; a stock code's description variants merged into one title;
  price = median unit price.
- Instacart sample (`../shared/data/instacart_sample`, non-commercial terms): 49,688
  products with aisle/department; real orders; no prices.
- Steam bundles (`../shared/data/steam_bundles`, UCSD research data, no licence stated):
  615 publisher-made bundles of 2 to 22 games as baskets, 2,798 games; no customers, no
  dates. The sparse shop (most pairs seen once) the sources' settings are tuned on.
"""

from __future__ import annotations

import ast
import dataclasses
import gzip
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .catalog import Catalog, Interactions, display_title, normalise_text
from .errors import DataValidationError
from .ingest import read_table
from .records import Item

REPO_ROOT = Path(__file__).resolve().parent.parent
ONLINE_RETAIL_COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                         "UnitPrice", "CustomerID")
# Real products have a 5-digit stock code (optionally a variant letter) or the web shop's DCGS
# prefix; everything else (POST, DOT, M, C2, D, S, BANK CHARGES, AMAZONFEE, CRUK, gift_*, B,
# PADS) is postage, fees, manual adjustments, vouchers or samples.
_PRODUCT_CODE = re.compile(r"^(\d{5}[A-Z]{0,2}|DCGS\w+)$")


def data_dir() -> Path:
    return Path(os.environ.get("CARTSMITH_DATA", REPO_ROOT / "data"))


def shared_data_dir() -> Path:
    return Path(os.environ.get("CARTSMITH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@dataclasses.dataclass(frozen=True)
class CleaningReport:
    rows_read: int
    cancellations: int
    non_products: int
    bad_quantity_or_price: int
    exact_duplicates: int
    rows_kept: int
    items: int
    merged_description_variants: int

    def lines(self) -> list[str]:
        return [f"{k.replace('_', ' ')}: {v:,}" for k, v in dataclasses.asdict(self).items()]


def load_online_retail(path: str | Path | None = None) -> tuple[Catalog, Interactions, CleaningReport]:
    path = Path(path) if path else data_dir() / "online_retail.csv.zip"
    raw = read_table(path)
    missing = [c for c in ONLINE_RETAIL_COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError(f"missing column(s) {', '.join(missing)} for Online Retail", file=str(path))
    rows_read = len(raw)
    frame = raw.copy()
    frame["StockCode"] = frame["StockCode"].str.strip().str.upper()
    cancelled = frame["InvoiceNo"].str.upper().str.startswith("C")
    frame = frame[~cancelled]
    is_product = frame["StockCode"].str.match(_PRODUCT_CODE)
    non_products = int((~is_product).sum())
    frame = frame[is_product]
    qty = pd.to_numeric(frame["Quantity"], errors="coerce")
    price = pd.to_numeric(frame["UnitPrice"], errors="coerce")
    ok = (qty > 0) & (price > 0)
    bad = int((~ok).sum())
    frame = frame[ok].assign(Quantity=qty[ok], UnitPrice=price[ok])
    before = len(frame)
    frame = frame.drop_duplicates()
    duplicates = before - len(frame)
    frame = frame.assign(Description=frame["Description"].map(normalise_text).str.upper())
    frame = frame[frame["Description"] != ""]

    # One title per stock code: its most frequent description among valid lines.
    variants = frame.groupby(["StockCode", "Description"]).size().rename("n").reset_index()
    variants = variants.sort_values(["StockCode", "n", "Description"], ascending=[True, False, True])
    titles = variants.drop_duplicates("StockCode").set_index("StockCode")["Description"]
    merged = int(variants.groupby("StockCode").size().gt(1).sum())
    prices = frame.groupby("StockCode")["UnitPrice"].median()
    items = [
        Item(item_id=code, title=display_title(titles[code]), price=round(float(prices[code]), 2),
             description=titles[code].capitalize())
        for code in sorted(titles.index)
    ]
    catalog = Catalog(items)
    customers = frame["CustomerID"].str.replace(r"\.0$", "", regex=True).str.strip()
    interactions = Interactions(pd.DataFrame({
        "basket_id": frame["InvoiceNo"].to_numpy(),
        "item_id": frame["StockCode"].to_numpy(),
        "user_id": customers.where(customers != "", None).to_numpy(),
        "timestamp": pd.to_datetime(frame["InvoiceDate"]).to_numpy(),
        "quantity": frame["Quantity"].astype(float).to_numpy(),
    }))
    report = CleaningReport(
        rows_read=rows_read, cancellations=int(cancelled.sum()), non_products=non_products,
        bad_quantity_or_price=bad, exact_duplicates=duplicates, rows_kept=len(interactions),
        items=len(catalog), merged_description_variants=merged,
    )
    return catalog, interactions, report


def load_instacart(folder: str | Path | None = None) -> tuple[Catalog, Interactions]:
    """Instacart products (category = department / aisle) and the two real order samples."""
    folder = Path(folder) if folder else shared_data_dir() / "instacart_sample"
    products = read_table(folder / "products.csv")
    aisles = read_table(folder / "aisles.csv").set_index("aisle_id")["aisle"]
    departments = read_table(folder / "departments.csv").set_index("department_id")["department"]
    items = [
        Item(
            item_id=str(row.product_id),
            title=normalise_text(row.product_name),
            category=str(departments.get(row.department_id, "")),
            attributes={"aisle": str(aisles.get(row.aisle_id, ""))},
        )
        for row in products.itertuples(index=False)
    ]
    catalog = Catalog(items)
    train = read_table(folder / "order_products__train_head.csv")
    prior = read_table(folder / "order_products__prior_sample.csv")
    orders = read_table(folder / "orders_sample.csv").set_index("order_id")["user_id"]
    lines = pd.concat([train, prior], ignore_index=True)
    users = lines["order_id"].map(orders)
    interactions = Interactions(pd.DataFrame({
        "basket_id": lines["order_id"].astype(str).to_numpy(),
        "item_id": lines["product_id"].astype(str).to_numpy(),
        "user_id": users.where(users.notna(), None).to_numpy(),
        "timestamp": pd.Series(pd.NaT, index=lines.index, dtype="datetime64[us]").to_numpy(),
        "quantity": np.ones(len(lines)),
    }))
    return catalog, interactions


def load_steam_bundles(folder: str | Path | None = None) -> tuple[Catalog, Interactions]:
    """Steam's bundles as baskets (one basket per bundle, its games once each), each game an
    item (title, first genre as category, genres, price in dollars). The file holds Python
    dict literals, one per line, not JSON."""
    path = (Path(folder) if folder else shared_data_dir() / "steam_bundles") / "bundle_data.json.gz"
    if not path.exists():
        raise DataValidationError(f"{path}: the Steam bundles file is missing (see its SOURCE.md)")
    items: dict[str, Item] = {}
    lines: list[tuple[str, str]] = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                bundle = ast.literal_eval(line)
            except (SyntaxError, ValueError) as exc:
                raise DataValidationError(f"{path}: line {number} is not a bundle record ({exc})") from None
            for game in bundle.get("items", ()):
                item_id = str(game["item_id"])
                if item_id not in items:
                    genres = [g.strip() for g in str(game.get("genre") or "").split(",") if g.strip()]
                    price = re.sub(r"[^\d.]", "", str(game.get("discounted_price") or ""))
                    items[item_id] = Item(item_id=item_id, title=normalise_text(str(game.get("item_name") or item_id)),
                                          category=genres[0] if genres else "",
                                          price=float(price) if price else None,
                                          attributes={"genres": ", ".join(genres)})
                lines.append((str(bundle["bundle_id"]), item_id))
    frame = pd.DataFrame(lines, columns=["basket_id", "item_id"]).drop_duplicates()
    interactions = Interactions(pd.DataFrame({
        "basket_id": frame["basket_id"].to_numpy(),
        "item_id": frame["item_id"].to_numpy(),
        "user_id": np.full(len(frame), None, dtype=object),
        "timestamp": pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]").to_numpy(),
        "quantity": np.ones(len(frame)),
    }))
    return Catalog(list(items.values())), interactions
