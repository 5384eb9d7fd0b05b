"""End to end on a slice of the real Online Retail data: index -> recommend -> eval baskets.

Runs the `cartsmith` command itself (in-process through `main`) on files with the shop's
own column names, so the column mapping, the index build, the saved artifacts and the
benchmark are exercised together.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from assistant.serve.cli import main
from retrieval.datasets import load_online_retail


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    catalog, interactions, _ = load_online_retail()
    frame = interactions.frame
    window = frame[(frame["timestamp"] >= "2011-08-01") & (frame["timestamp"] < "2011-09-15")]
    keep = window["basket_id"].drop_duplicates().iloc[:500]
    lines = window[window["basket_id"].isin(keep)]
    folder = tmp_path_factory.mktemp("shop")
    items = catalog.to_frame().set_index("item_id").loc[sorted(lines["item_id"].unique())].reset_index()
    items = items.rename(columns={"item_id": "sku", "title": "name", "price": "cost"})[["sku", "name", "cost"]]
    items.to_csv(folder / "items.csv", index=False)
    lines.rename(columns={"basket_id": "invoice", "item_id": "sku", "user_id": "customer", "timestamp": "date"}).to_csv(
        folder / "lines.csv", index=False)
    return folder / "items.csv", folder / "lines.csv"


COLUMNS = ["--column", "item_id=sku", "--column", "title=name", "--column", "price=cost",
           "--column", "basket_id=invoice", "--column", "user_id=customer", "--column", "timestamp=date"]


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One CPU thread for the numeric libraries (BLAS, OpenMP, torch): their calls here are
    small, and on two cores shared with other jobs a second thread makes each call wait for
    a descheduled one (this test took 55 s instead of 23 s), as the composer's own
    `one_blas_thread` notes."""
    import torch
    from threadpoolctl import threadpool_limits

    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(torch_threads)


@pytest.mark.usefixtures("one_thread")
def test_index_recommend_eval(shop_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CARTSMITH_CACHE", str(tmp_path / "cache"))
    items, lines = shop_files
    out = tmp_path / "index"
    assert main(["index", "--items", str(items), "--interactions", str(lines), *COLUMNS, "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data_hash"] and manifest["embedding_model"].startswith("packaged:all-MiniLM-L6-v2")
    assert set(manifest["sources"]) >= {"rules", "item_knn", "user_knn", "als", "bpr", "popularity", "content"}
    assert not list(tmp_path.glob(".index.tmp-*"))

    frame = pd.read_csv(lines, dtype=str)
    anchor = frame["sku"].value_counts().index[0]
    capsys.readouterr()
    assert main(["recommend", "--index", str(out), "--items", anchor, "--k", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 1 <= len(result["candidates"]) <= 5
    assert all(c["item_id"] != anchor and c["evidence"] for c in result["candidates"])

    assert main(["recommend", "--index", str(out), "--query", "christmas lights", "--method", "chroma"]) == 0
    assert "1." in capsys.readouterr().out

    # a returning customer with no cart: what they buy next, from their earlier orders
    regular = frame.groupby("customer")["invoice"].nunique().sort_values(kind="stable").index[-1]
    assert main(["recommend", "--index", str(out), "--user", regular, "--k", "5", "--json"]) == 0
    nxt = json.loads(capsys.readouterr().out)["candidates"]
    assert len(nxt) == 5 and all(c["evidence"][0]["kind"] == "basket_model" for c in nxt)
    assert main(["recommend", "--index", str(out), "--user", "no-such-customer"]) == 0
    assert "customer 'no-such-customer' has no orders in this shop's history" in capsys.readouterr().out

    report = tmp_path / "eval.json"
    stamps = pd.to_datetime(frame["date"]).sort_values()
    split_day = stamps.iloc[int(len(stamps) * 0.75)].strftime("%Y-%m-%d")
    assert main(["eval", "baskets", "--items", str(items), "--interactions", str(lines), *COLUMNS,
                 "--split", f"time:{split_day}", "--json", str(report), "--report", str(tmp_path / "rep")]) == 0
    data = json.loads(report.read_text())
    assert data["blend"] == "blend" and data["best_baseline"] in data["methods"]
    for metrics in data["methods"].values():
        assert {"recall@10", "recall@20", "ndcg@10", "hit_rate@10", "precision@10", "f1@10",
                "coverage@10"} <= set(metrics)
    assert (tmp_path / "rep" / "ndcg_recall.png").stat().st_size > 1000
    assert "| blend |" in (tmp_path / "rep" / "results.md").read_text()


def test_failed_build_keeps_previous_index(shop_files: tuple[Path, Path], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CARTSMITH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "index"
    out.mkdir()
    (out / "manifest.json").write_text('{"format": 1, "previous": true}')
    items, _ = shop_files
    bad = tmp_path / "bad.csv"
    bad.write_text("invoice,sku\n1,NOT-AN-ITEM\n")
    code = main(["index", "--items", str(items), "--interactions", str(bad), *COLUMNS[:6],
                 "--column", "basket_id=invoice", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"file {bad}, row 1, field 'sku': unknown item 'NOT-AN-ITEM'" in err
    assert json.loads((out / "manifest.json").read_text()) == {"format": 1, "previous": True}


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "--index", str(tmp_path / "none"), "--items", "X"]) == 2
    assert "no index in" in capsys.readouterr().err
    assert main(["eval", "baskets", "--items", str(tmp_path / "a.csv")]) == 2
    assert "--items and --interactions go together" in capsys.readouterr().err
    assert main(["recommend", "--index", str(tmp_path / "none")]) == 2
    assert "recommend needs --items, --query or --user" in capsys.readouterr().err


def test_serve_with_a_missing_index_exits_with_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No server that answers every request with an error: the command stops and says what to run."""
    assert main(["serve", "--index", str(tmp_path / "none"), "--port", "8999"]) == 2
    err = capsys.readouterr().err
    assert f"no index in {tmp_path / 'none'}" in err and "cartsmith index --out" in err
