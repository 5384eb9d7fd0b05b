"""Scale-out: the same index through a real Chroma server (HttpClient on loopback)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_embeddings_content import make_catalog

from retrieval.embeddings import Embedder
from retrieval.records import PriceRange
from retrieval.vector_store import ChromaIndex, VectorStoreConfig

CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMA.exists() and shutil.which("chroma") is None:
        pytest.fail("the chromadb package's `chroma` command is missing: a broken install")
    port = _free_port()
    proc = subprocess.Popen(
        [str(CHROMA if CHROMA.exists() else "chroma"), "run", "--path", str(tmp_path_factory.mktemp("chroma")),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the Chroma server did not start within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_index_builds_and_searches_through_a_chroma_server(server: str) -> None:
    catalog = make_catalog()
    embedder = Embedder()
    vectors = embedder.encode([it.text() for it in catalog.items])
    index = ChromaIndex(VectorStoreConfig(server_url=server, collection="server_test"), embedder)
    index.build(catalog, vectors)
    assert index.count() == len(catalog)
    assert index.is_current(catalog)
    hits = [item_id for item_id, _ in index.search("something to light a birthday cake", k=3)]
    assert "p1" in hits
    cheap = index.search("party", k=10, price=PriceRange(high=5.0))
    assert cheap and all(catalog.get(i).price is not None and catalog.get(i).price <= 5.0 for i, _ in cheap)
    # A second client (another process in production) sees the same collection.
    again = ChromaIndex(VectorStoreConfig(server_url=server, collection="server_test"), embedder)
    assert again.count() == len(catalog) and again.is_current(catalog)
