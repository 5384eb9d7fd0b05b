"""Collaborative-filtering candidate sources: popularity, rules, item/user kNN, ALS, BPR and a
Transformer over baskets.

Every source is a `ScoringSource` with a typed config; build one by name with `make_source`:

    source = make_source("item_knn", {"neighbours": 50}).fit(data)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import Config
from ..errors import ConfigError
from ._common import CFSource
from .basket_transformer import BasketTransformerConfig, BasketTransformerSource
from .item_knn import ItemKNNConfig, ItemKNNSource
from .mf import ALSConfig, ALSSource, BPRConfig, BPRSource
from .next_item import NextItemConfig, NextItemSource
from .popularity import PopularityConfig, PopularitySource
from .rules import AssociationRulesSource, RulesConfig
from .user_knn import UserKNNConfig, UserKNNSource

CF_SOURCES: dict[str, type[CFSource]] = {
    cls.name: cls
    for cls in (
        PopularitySource,
        AssociationRulesSource,
        ItemKNNSource,
        UserKNNSource,
        ALSSource,
        BPRSource,
        BasketTransformerSource,
    )
}
# Sequence models rank likely successors, not co-purchase groups, so they sit outside the
# co-purchase checkerboard that every CF_SOURCES entry passes; they have their own tests.
SEQUENCE_SOURCES: dict[str, type[CFSource]] = {NextItemSource.name: NextItemSource}
ALL_SOURCES: dict[str, type[CFSource]] = {**CF_SOURCES, **SEQUENCE_SOURCES}


def make_source(name: str, options: Mapping[str, Any] | Config | None = None) -> CFSource:
    """Build the CF source called `name` from a dict of config options (or a config object).

    Unknown names and unknown option keys raise ConfigError listing the valid ones.
    """
    try:
        cls = ALL_SOURCES[name]
    except KeyError:
        raise ConfigError(
            f"unknown CF source {name!r}; known sources: {', '.join(sorted(ALL_SOURCES))}"
        ) from None
    if isinstance(options, Config):
        return cls(options)
    config = cls.config_class.from_dict(dict(options or {}), where=f"cf.{name}")
    return cls(config)


__all__ = [
    "ALL_SOURCES",
    "CF_SOURCES",
    "SEQUENCE_SOURCES",
    "ALSConfig",
    "ALSSource",
    "AssociationRulesSource",
    "BPRConfig",
    "BPRSource",
    "BasketTransformerConfig",
    "BasketTransformerSource",
    "CFSource",
    "ItemKNNConfig",
    "ItemKNNSource",
    "NextItemConfig",
    "NextItemSource",
    "PopularityConfig",
    "PopularitySource",
    "RulesConfig",
    "UserKNNConfig",
    "UserKNNSource",
    "make_source",
]
