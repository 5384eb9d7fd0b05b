"""Ingestion of any shop's files: every bad value is named by file, row and field."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from retrieval.catalog import BasketData, display_title
from retrieval.errors import ConfigError, DataValidationError
from retrieval.ingest import ColumnMap, load_interactions, load_items

ITEMS = "item_id,title,price,category,colour\nA1,RED MUG,3.50,kitchen,red\nA2,Blue plate,£4.00,kitchen,blue\nA3,tea towel,,kitchen,\n"
LINES = "basket_id,item_id,user_id,timestamp,quantity\nb1,A1,u1,2011-01-02 10:00,2\nb1,A2,u1,2011-01-02 10:00,1\nb2,A3,,2011-01-03,1\n"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_items_loaded_normalised_and_attributes_kept(tmp_path: Path) -> None:
    catalog = load_items(write(tmp_path, "items.csv", ITEMS))
    assert [it.item_id for it in catalog.items] == ["A1", "A2", "A3"]
    assert catalog.get("A1").title == "Red Mug"  # ALL-CAPS titles become shop title case
    assert catalog.get("A2").title == "Blue plate"  # mixed case is the shop's choice, kept
    assert catalog.get("A2").price == 4.0
    assert catalog.get("A3").price is None
    assert catalog.get("A1").attributes == {"colour": "red"}
    assert catalog.get("A3").attributes == {}


def test_interactions_loaded_and_built(tmp_path: Path) -> None:
    catalog = load_items(write(tmp_path, "items.csv", ITEMS))
    inter = load_interactions(write(tmp_path, "lines.csv", LINES), catalog)
    assert len(inter) == 3 and inter.n_baskets == 2
    data = BasketData.build(catalog, inter)
    assert data.baskets.shape == (2, 3)
    assert data.user_ids == ["u1"]
    assert data.basket_users.tolist() == [0, -1]


def test_column_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "items.csv", "sku,name,cost\nX,Lamp,10\n")
    catalog = load_items(path, ColumnMap.parse(["item_id=sku", "title=name", "price=cost"]))
    assert catalog.get("X").price == 10.0


def test_json_and_jsonl_and_parquet_and_zip(tmp_path: Path) -> None:
    records = [{"item_id": "A", "title": "Lamp", "price": 2}, {"item_id": "B", "title": "Shade", "price": 3}]
    assert len(load_items(write(tmp_path, "i.json", json.dumps(records)))) == 2
    jsonl = "\n".join(json.dumps(r) for r in records)
    assert len(load_items(write(tmp_path, "i.jsonl", jsonl))) == 2
    pd.DataFrame(records).to_parquet(tmp_path / "i.parquet")
    assert load_items(tmp_path / "i.parquet").get("B").price == 3.0
    with zipfile.ZipFile(tmp_path / "i.csv.zip", "w") as archive:
        archive.writestr("i.csv", ITEMS)
    assert len(load_items(tmp_path / "i.csv.zip")) == 3


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.csv", "item_id,name\nA,Mug\n",
         "file {path}: missing column 'title' (needed as title); columns found: item_id, name; "
         "map another column with --column title=NAME"),
        ("price.csv", "item_id,title,price\nA,Mug,3\nB,Plate,cheap\n",
         "file {path}, row 2, field 'price': 'cheap' is not a number"),
        ("negative.csv", "item_id,title,price\nA,Mug,-3\n",
         "file {path}, row 1, field 'price': must not be negative, got '-3'"),
        ("dup.csv", "item_id,title\nA,Mug\nB,Plate\nA,Cup\n",
         "file {path}, row 3, field 'item_id': duplicate item id 'A' (first seen in row 1)"),
        ("empty.csv", "", "file {path}: the file is empty"),
        ("header.csv", "item_id,title\n", "file {path}: the file has a header but no data rows"),
        ("notitle.csv", "item_id,title\nA,  \n", "file {path}, row 1, field 'title': title is empty"),
    ],
)
def test_malformed_items_give_exact_errors(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(DataValidationError) as info:
        load_items(path)
    assert str(info.value) == expected.format(path=path)


def test_wrong_encoding_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "latin.csv", "item_id,title\nA,Caf\xe9 mug\n".encode("latin-1"))
    with pytest.raises(DataValidationError) as info:
        load_items(path)
    assert str(info.value) == (
        f"file {path}: not valid utf-8 text (byte 0xe9 on line 2); save the file as UTF-8 "
        "or pass its encoding (e.g. encoding='latin-1')"
    )
    assert load_items(path, encoding="latin-1").get("A").title == "Café mug"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="file not found"):
        load_items(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("basket_id,item_id\nb1,A1\nb1,ZZ\n",
         "file {path}, row 2, field 'item_id': unknown item 'ZZ' (not in the items file; 1 rows refer to unknown items)"),
        ("basket_id,item_id,quantity\nb1,A1,2\nb1,A2,0\n",
         "file {path}, row 2, field 'quantity': must be greater than 0, got '0'"),
        ("basket_id,item_id,timestamp\nb1,A1,2011-01-01\nb1,A2,yesterday\n",
         "file {path}, row 2, field 'timestamp': 'yesterday' is not a date/time"),
        ("basket_id,item_id\nb1,A1\n,A2\n", "file {path}, row 2, field 'basket_id': basket_id is empty (1 rows)"),
        ("order,item_id\nb1,A1\n",
         "file {path}: missing column 'basket_id' (needed as basket_id); columns found: order, item_id; "
         "map another column with --column basket_id=NAME"),
    ],
)
def test_malformed_interactions_give_exact_errors(tmp_path: Path, content: str, expected: str) -> None:
    catalog = load_items(write(tmp_path, "items.csv", ITEMS))
    path = write(tmp_path, "lines.csv", content)
    with pytest.raises(DataValidationError) as info:
        load_interactions(path, catalog)
    assert str(info.value) == expected.format(path=path)


def test_column_spec_errors() -> None:
    with pytest.raises(ConfigError, match="unknown role 'sku'"):
        ColumnMap.parse(["sku=id"])
    with pytest.raises(ConfigError, match="expected ROLE=COLUMN"):
        ColumnMap.parse(["title"])


def test_display_title() -> None:
    assert display_title("SET OF 3 CAKE TINS PANTRY DESIGN") == "Set of 3 Cake Tins Pantry Design"
    assert display_title("WHITE HANGING HEART T-LIGHT HOLDER") == "White Hanging Heart T-Light Holder"
    assert display_title("iPhone case") == "iPhone case"
