"""Generic ingestion of any shop's items and interactions files, validated row by row.

Files: CSV/TSV (optionally zipped), JSON (array of records) or JSON Lines, Parquet.
Columns are mapped to roles (item_id, title, description, category, price, brand,
basket_id, user_id, timestamp, quantity); every other items column becomes an attribute.
Every bad value raises `DataValidationError` naming the file, the data row (1-based,
header excluded) and the field, so a shop owner can fix the file.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .catalog import Catalog, Interactions, display_title, normalise_text
from .config import Config, check
from .errors import ConfigError, DataValidationError
from .records import Item

ROLES = (
    "item_id", "title", "description", "category", "price", "brand",
    "basket_id", "user_id", "timestamp", "quantity",
)
REQUIRED_ITEM_ROLES = ("item_id", "title")
REQUIRED_INTERACTION_ROLES = ("basket_id", "item_id")
MAX_ERRORS_SHOWN = 5


@dataclasses.dataclass(frozen=True)
class ColumnMap(Config):
    """Which file column plays each role. Defaults: the role's own name."""

    item_id: str = "item_id"
    title: str = "title"
    description: str = "description"
    category: str = "category"
    price: str = "price"
    brand: str = "brand"
    basket_id: str = "basket_id"
    user_id: str = "user_id"
    timestamp: str = "timestamp"
    quantity: str = "quantity"

    def validate(self) -> None:
        for role in ROLES:
            check(bool(getattr(self, role).strip()), f"column {role}", "column name is empty")

    @classmethod
    def parse(cls, specs: Iterable[str]) -> ColumnMap:
        """From CLI pairs like ["title=Description", "price=UnitPrice"]."""
        mapping: dict[str, str] = {}
        for spec in specs:
            role, sep, name = spec.partition("=")
            role, name = role.strip(), name.strip()
            if not sep or not role or not name:
                raise ConfigError(f"--column {spec!r}: expected ROLE=COLUMN, e.g. title=Description")
            if role not in ROLES:
                raise ConfigError(f"--column {spec!r}: unknown role {role!r}; roles: {', '.join(ROLES)}")
            mapping[role] = name
        return cls.from_dict(mapping, where="--column")


def read_table(path: str | Path, *, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV/TSV/JSON/JSONL/Parquet file (or a zip holding one) as strings-first."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise DataValidationError("file not found", file=name)
    if path.stat().st_size == 0:
        raise DataValidationError("the file is empty", file=name)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:
            raise DataValidationError(f"not a readable Parquet file ({exc})", file=name) from exc
        return _checked_nonempty(frame, name)
    raw = path.read_bytes()
    inner = path.name
    if suffixes and suffixes[-1] == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise DataValidationError(
                    f"a zip must hold exactly one data file, found {len(members)}", file=name
                )
            inner = members[0]
            raw = archive.read(inner)
    text = _decode(raw, encoding, name)
    if not text.strip():
        raise DataValidationError("the file is empty", file=name)
    kind = Path(inner).suffix.lower()
    if kind in (".json", ".jsonl", ".ndjson"):
        frame = _read_json(text, name, lines=kind != ".json")
    else:
        sep = "\t" if kind == ".tsv" else ","
        try:
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
        except pd.errors.ParserError as exc:
            raise DataValidationError(f"not valid CSV: {exc}", file=name) from exc
    return _checked_nonempty(frame, name)


def _decode(raw: bytes, encoding: str, name: str) -> str:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataValidationError(
            f"not valid {encoding} text (byte 0x{raw[exc.start]:02x} on line {line}); "
            f"save the file as UTF-8 or pass its encoding (e.g. encoding='latin-1')",
            file=name,
        ) from exc
    except LookupError as exc:
        raise ConfigError(f"unknown encoding {encoding!r}") from exc
    return text.removeprefix("\ufeff")


def _read_json(text: str, name: str, *, lines: bool) -> pd.DataFrame:
    records: list[object]
    try:
        if lines:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            loaded = json.loads(text)
            records = loaded if isinstance(loaded, list) else [loaded]
    except json.JSONDecodeError as exc:
        raise DataValidationError(f"not valid JSON (line {exc.lineno}: {exc.msg})", file=name) from exc
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise DataValidationError("expected an object with named fields", file=name, row=i)
    return pd.DataFrame.from_records(records)


def _checked_nonempty(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if frame.shape[1] == 0:
        raise DataValidationError("the file is empty (no header)", file=name)
    if len(frame) == 0:
        raise DataValidationError("the file has a header but no data rows", file=name)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _require_columns(frame: pd.DataFrame, columns: ColumnMap, roles: Iterable[str], name: str) -> None:
    for role in roles:
        col = getattr(columns, role)
        if col not in frame.columns:
            found = ", ".join(map(str, frame.columns[:12]))
            raise DataValidationError(
                f"missing column '{col}' (needed as {role}); columns found: {found}; "
                f"map another column with --column {role}=NAME",
                file=name,
            )


def _cell_is_empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def _parse_number(value: object, *, name: str, row: int, field: str, positive: bool) -> float | None:
    if _cell_is_empty(value):
        return None
    text = str(value).strip().lstrip("£$€").replace(",", "") if isinstance(value, str) else value
    try:
        number = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataValidationError(f"{value!r} is not a number", file=name, row=row, field=field) from None
    if not np.isfinite(number):
        raise DataValidationError(f"{value!r} is not a finite number", file=name, row=row, field=field)
    if positive and number <= 0:
        raise DataValidationError(f"must be greater than 0, got {value!r}", file=name, row=row, field=field)
    if number < 0:
        raise DataValidationError(f"must not be negative, got {value!r}", file=name, row=row, field=field)
    return number


def load_items(path: str | Path, columns: ColumnMap | None = None, *, encoding: str = "utf-8") -> Catalog:
    """Read, validate and normalise an items file into a Catalog."""
    columns = columns or ColumnMap()
    name = str(path)
    frame = read_table(path, encoding=encoding)
    _require_columns(frame, columns, REQUIRED_ITEM_ROLES, name)
    role_cols = {getattr(columns, r) for r in ("item_id", "title", "description", "category", "price", "brand")}
    attr_cols = [c for c in frame.columns if c not in role_cols]
    optional = {r: getattr(columns, r) for r in ("description", "category", "price", "brand")
                if getattr(columns, r) in frame.columns}
    items: list[Item] = []
    first_row: dict[str, int] = {}
    for row_no, rec in enumerate(frame.to_dict("records"), start=1):
        raw_id = rec[columns.item_id]
        if _cell_is_empty(raw_id):
            raise DataValidationError("item id is empty", file=name, row=row_no, field=columns.item_id)
        item_id = str(raw_id).strip()
        if item_id in first_row:
            raise DataValidationError(
                f"duplicate item id {item_id!r} (first seen in row {first_row[item_id]})",
                file=name, row=row_no, field=columns.item_id,
            )
        first_row[item_id] = row_no
        title = normalise_text(rec[columns.title])
        if not title:
            raise DataValidationError("title is empty", file=name, row=row_no, field=columns.title)
        price = None
        if "price" in optional:
            price = _parse_number(rec[optional["price"]], name=name, row=row_no, field=optional["price"],
                                  positive=False)
        items.append(
            Item(
                item_id=item_id,
                title=display_title(title),
                price=price,
                description=normalise_text(rec.get(optional.get("description", ""), "")),
                category=normalise_text(rec.get(optional.get("category", ""), "")).lower(),
                brand=normalise_text(rec.get(optional.get("brand", ""), "")),
                attributes={c: normalise_text(rec[c]) for c in attr_cols if not _cell_is_empty(rec[c])},
            )
        )
    return Catalog(items)


def load_interactions(
    path: str | Path, catalog: Catalog, columns: ColumnMap | None = None, *, encoding: str = "utf-8"
) -> Interactions:
    """Read and validate an interactions file against the catalog it refers to."""
    columns = columns or ColumnMap()
    name = str(path)
    frame = read_table(path, encoding=encoding)
    _require_columns(frame, columns, REQUIRED_INTERACTION_ROLES, name)
    out = pd.DataFrame({
        "basket_id": frame[columns.basket_id].astype(str).str.strip(),
        "item_id": frame[columns.item_id].astype(str).str.strip(),
    })
    for role, field in (("basket_id", columns.basket_id), ("item_id", columns.item_id)):
        empty = np.flatnonzero(frame[field].map(_cell_is_empty).to_numpy())
        if len(empty):
            raise DataValidationError(f"{role} is empty ({len(empty)} rows)", file=name,
                                      row=int(empty[0]) + 1, field=field)
    unknown = np.flatnonzero(~out["item_id"].isin(catalog.index_of.keys()).to_numpy())
    if len(unknown):
        first = int(unknown[0])
        raise DataValidationError(
            f"unknown item {out['item_id'].iat[first]!r} (not in the items file; {len(unknown)} rows "
            f"refer to unknown items)",
            file=name, row=first + 1, field=columns.item_id,
        )
    if columns.user_id in frame.columns:
        users = frame[columns.user_id].astype(str).str.strip()
        out["user_id"] = users.where(users != "", None)
    if columns.quantity in frame.columns:
        out["quantity"] = [
            _parse_number(v, name=name, row=i, field=columns.quantity, positive=True) or 1.0
            for i, v in enumerate(frame[columns.quantity].tolist(), start=1)
        ]
    if columns.timestamp in frame.columns:
        stamps = pd.to_datetime(frame[columns.timestamp], errors="coerce", format="mixed")
        bad = np.flatnonzero(stamps.isna().to_numpy() & ~frame[columns.timestamp].map(_cell_is_empty).to_numpy())
        if len(bad):
            first = int(bad[0])
            raise DataValidationError(
                f"{frame[columns.timestamp].iat[first]!r} is not a date/time", file=name,
                row=first + 1, field=columns.timestamp,
            )
        out["timestamp"] = stamps
    return Interactions(out)
