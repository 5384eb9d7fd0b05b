"""One shop's saved index: catalog, embeddings, Chroma collection and fitted candidate sources.

`build_index` writes everything into a temporary folder and swaps it in with one rename
(a failed build leaves the previous index intact). The manifest describes the artifact:
format, data hash, embedding model, sources and blend weights, so a stale index is
detected and rebuilt rather than silently served.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .benchmark import DEFAULT_SOURCES, KNOWN_SOURCES, source_factories
from .blend import BlendConfig, BlendSource, fit_blend
from .catalog import Catalog, Interactions
from .categories import derive_categories
from .config import Config, check
from .content import ChromaSource, ContentSource
from .embeddings import Embedder, EmbeddingConfig
from .errors import ConfigError, IndexStateError
from .records import Candidate, Query
from .storage import atomic_folder, cache_dir, cached_embeddings
from .tuning import TuningConfig
from .vector_store import ChromaIndex, VectorStoreConfig

# 2: live co-purchase counts and the blend score cache in the pickles; 3: settings per shop;
# 4: the Transformer over baskets and purchase histories in the blend
INDEX_FORMAT = 4
Echo = Callable[[str], None]


def default_index_dir(shop: str) -> Path:
    return cache_dir() / "index" / shop


@dataclasses.dataclass(frozen=True)
class IndexConfig(Config):
    sources: tuple[str, ...] = DEFAULT_SOURCES
    chroma_server: str | None = None
    collection: str = "items"
    embedding_model: str = EmbeddingConfig().model
    # time for choosing each source's settings on this shop's validation split (0: defaults)
    tuning_seconds: float = TuningConfig().budget_seconds

    def validate(self) -> None:
        check(self.tuning_seconds >= 0, "index.tuning_seconds", "must be 0 or more")
        unknown = sorted(set(self.sources) - set(KNOWN_SOURCES))
        check(not unknown, "index.sources", f"unknown {unknown}; known: {', '.join(KNOWN_SOURCES)}")
        check(self.chroma_server is None or self.chroma_server.startswith(("http://", "https://")),
              "index.chroma_server", "must look like http://host:port")


def data_hash(catalog: Catalog, interactions: Interactions) -> str:
    return f"{catalog.content_hash()}-{interactions.content_hash()}"


def _echo_none(_: str) -> None:
    return None


def build_index(catalog: Catalog, interactions: Interactions, out: Path, config: IndexConfig | None = None,
                *, echo: Echo = _echo_none, leave_out_users: Iterable[str] = ()) -> dict[str, Any]:
    """Build the shop's index in `out` (swapped in whole). `leave_out_users`: customers who
    asked to be forgotten: their lines are dropped before anything is fitted or stored, and
    the manifest counts them (never names them)."""
    config = config or IndexConfig()
    started = time.perf_counter()
    out = Path(out)
    interactions, left_out = interactions.without_users(leave_out_users)
    if left_out:
        echo(f"leaving out the purchase history of {left_out} forgotten customer(s)")
    digest = data_hash(catalog, interactions)
    embedder = Embedder(EmbeddingConfig(model=config.embedding_model))
    echo(f"embedding {len(catalog):,} items with {embedder.model_id} ...")
    embeddings = cached_embeddings(catalog, embedder, progress=True)
    if not any(catalog.categories):
        echo("the catalog has no categories: clustering item embeddings into named categories ...")
        catalog = catalog.with_categories(derive_categories(catalog, embeddings))
    with atomic_folder(out) as tmp:
        catalog.to_frame().to_parquet(tmp / "items.parquet", index=False)
        interactions.frame.to_parquet(tmp / "interactions.parquet", index=False)
        np.save(tmp / "embeddings.npy", embeddings)
        store_config = _store_config(config, tmp)
        echo("writing the Chroma collection ...")
        ChromaIndex(store_config, embedder=embedder).build(catalog, embeddings)
        echo(f"fitting candidate sources ({', '.join(config.sources)}) and learning blend weights ...")
        factories = source_factories(catalog, embeddings, None, config.sources)
        split_kind = "time" if interactions.frame["timestamp"].notna().any() else "random"
        blend = fit_blend(catalog, interactions, factories, BlendConfig(), split_kind=split_kind,
                          tuning=TuningConfig(budget_seconds=config.tuning_seconds))
        for name, report in blend.tuning.items():
            if len(report["trials"]) > 1:
                echo(f"  {name}: settings {report['chosen'] or 'defaults'} "
                     f"(of {len(report['trials'])} tried on the validation split)")
        blend.save(tmp / "blend.pkl")
        manifest = {
            "format": INDEX_FORMAT,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "data_hash": digest,
            "items": len(catalog),
            "baskets": interactions.n_baskets,
            "interaction_lines": len(interactions),
            "users": int(interactions.frame["user_id"].nunique()),
            "customers_left_out": left_out,
            "embedding_model": embedder.model_id,
            "embedding_dimension": int(embeddings.shape[1]),
            "sources": list(factories),
            "blend_weights": blend.describe(),
            "blend_validation_ndcg@10": blend.validation_ndcg,
            "source_settings": blend.settings(),
            "source_fit_seconds": {name: round(t, 2) for name, t in blend.fit_seconds.items()},
            "tuning": blend.tuning,
            "chroma": {"server": config.chroma_server, "collection": config.collection},
            "config": config.to_dict(),
            "build_seconds": round(time.perf_counter() - started, 1),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    echo(f"index written to {out} in {manifest['build_seconds']} s")
    return manifest


def _store_config(config: IndexConfig, folder: Path) -> VectorStoreConfig:
    if config.chroma_server:
        return VectorStoreConfig(server_url=config.chroma_server, collection=config.collection)
    return VectorStoreConfig(path=str(folder / "chroma"), collection=config.collection)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = Path(folder) / "manifest.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def ensure_index(catalog: Catalog, interactions: Interactions, out: Path, config: IndexConfig | None = None,
                 *, echo: Echo = _echo_none, leave_out_users: Iterable[str] = ()) -> Path:
    """Build the index unless a current one (same format, data and config) is already there;
    a newly forgotten customer (`leave_out_users`) changes the data, so the index is rebuilt."""
    config = config or IndexConfig()
    leave_out_users = tuple(leave_out_users)
    kept, _ = interactions.without_users(leave_out_users)
    manifest = read_manifest(out)
    if (manifest and manifest.get("format") == INDEX_FORMAT
            and manifest.get("data_hash") == data_hash(catalog, kept)
            and manifest.get("config") == json.loads(json.dumps(config.to_dict()))):
        return out
    if manifest:
        echo(f"the index in {out} is stale (data or settings changed): rebuilding")
    build_index(catalog, interactions, out, config, echo=echo, leave_out_users=leave_out_users)
    return out


class ShopIndex:
    """A loaded index: what the assistant and the CLI query."""

    def __init__(self, folder: Path, manifest: dict[str, Any], catalog: Catalog, interactions: Interactions,
                 blend: BlendSource, embedder: Embedder, vector_store: ChromaIndex) -> None:
        self.folder = folder
        self.manifest = manifest
        self.catalog = catalog
        self.interactions = interactions
        self.blend = blend
        self.embedder = embedder
        self.vector_store = vector_store
        self.sources = {c.name: c for c in blend.components}
        self.chroma = ChromaSource(vector_store)
        if blend.data is None:
            raise IndexStateError(f"{folder}: the saved blend was never fitted; rebuild the index")
        self.chroma.fit(blend.data)

    @classmethod
    def load(cls, folder: Path) -> ShopIndex:
        folder = Path(folder)
        manifest = read_manifest(folder)
        if manifest is None:
            raise IndexStateError(f"no index in {folder}; build one with `cartsmith index --out {folder}`")
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexStateError(f"{folder}: index format {manifest.get('format')} is not {INDEX_FORMAT}; "
                                  "rebuild it with `cartsmith index`")
        catalog = Catalog.from_frame(pd.read_parquet(folder / "items.parquet"))
        interactions = Interactions(pd.read_parquet(folder / "interactions.parquet"))
        config = IndexConfig.from_dict(manifest["config"])
        embedder = Embedder(EmbeddingConfig(model=config.embedding_model))
        if embedder.model_id != manifest["embedding_model"]:
            raise IndexStateError(f"{folder}: built with embedding model {manifest['embedding_model']}, "
                                  f"but {embedder.model_id} is configured; rebuild the index")
        blend = BlendSource.load(folder / "blend.pkl")
        for component in blend.components:
            if isinstance(component, ContentSource):
                component.set_embedder(embedder)
        store = ChromaIndex(_store_config(config, folder), embedder=embedder)
        return cls(folder, manifest, catalog, interactions, blend, embedder, store)

    def recommend(self, query: Query, k: int = 10, method: str = "blend") -> list[Candidate]:
        if method == "blend":
            return self.blend.recommend(query, k)
        if method == "chroma":
            return self.chroma.recommend(query, k)
        if method not in self.sources:
            raise ConfigError(f"unknown method {method!r}; known: blend, chroma, {', '.join(self.sources)}")
        return self.sources[method].recommend(query, k)


def ensure_default_index(echo: Echo = _echo_none, leave_out_users: Iterable[str] = ()) -> Path:
    """The default shop's index (UCI Online Retail), built or rebuilt when missing or stale
    (or when a customer was forgotten since: `leave_out_users`)."""
    from .datasets import load_online_retail

    catalog, interactions, report = load_online_retail()
    echo("Online Retail (UCI, CC BY 4.0), cleaned: " + "; ".join(report.lines()))
    return ensure_index(catalog, interactions, default_index_dir("online-retail"), echo=echo,
                        leave_out_users=leave_out_users)


def demo(echo: Echo) -> int:
    """Build the default shop if needed, then complete three real late-2011 baskets."""
    index = ShopIndex.load(ensure_default_index(echo))
    frame = index.interactions.frame
    late = frame[frame["timestamp"] >= pd.Timestamp("2011-11-01")]
    sizes = late.groupby("basket_id")["item_id"].nunique()
    picks = sizes[(sizes >= 4) & (sizes <= 8)].index[:3]
    for basket_id in picks:
        items = list(dict.fromkeys(late.loc[late["basket_id"] == basket_id, "item_id"]))
        seeds = tuple(items[:2])
        echo("")
        echo(f"Basket {basket_id}: a shopper has " + " + ".join(index.catalog.get(s).title for s in seeds))
        for cand in index.recommend(Query(seed_items=seeds), k=5):
            item = index.catalog.get(cand.item_id)
            bought = "  <- also in the real basket" if cand.item_id in items[2:] else ""
            echo(f"  {item.title} (£{item.price:.2f}){bought}")
            if cand.evidence:
                echo(f"      {cand.evidence[0].text}")
    echo("")
    echo("Text search 'christmas decorations for the tree':")
    for cand in index.recommend(Query(text="christmas decorations for the tree"), k=5, method="chroma"):
        echo(f"  {index.catalog.get(cand.item_id).title}")
    return 0
