"""Model files shipped inside installed PyPI packages, found without importing them."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

from .errors import ConfigError


def installed_package_folder(field: str, name: str, registry: Mapping[str, tuple[str, str, str]], prefix: str,
                             install_hint: str) -> tuple[Path, str, str]:
    """(the package's folder, its distribution name, the registry's inner path) for the
    packaged model `name`; ConfigError naming `field` when it is unknown or not installed.
    install_hint may use {dist}."""
    if name not in registry:
        raise ConfigError(
            f"{field}: unknown packaged model {name!r}; known: "
            + ", ".join(prefix + n for n in sorted(registry))
        )
    module, dist, inner = registry[name]
    spec = importlib.util.find_spec(module)
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    if not roots:
        raise ConfigError(f"{field}: {prefix}{name} needs the {dist!r} package, which is not installed; "
                          + install_hint.format(dist=dist))
    return Path(roots[0]), dist, inner
