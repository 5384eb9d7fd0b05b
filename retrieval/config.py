"""Typed, validated configuration dataclasses: defaults, checks, and no unknown keys.

Every component owns one dataclass derived from `Config`. `from_dict` refuses unknown
keys (naming them and the keys that exist) and `validate` checks ranges, so a typo in a
TOML file fails loudly instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from .errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Config:
    """Base for component configs. Subclasses add fields and override `validate`."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:  # pragma: no cover - default has nothing to check
        """Raise ConfigError naming the field when a value is out of range."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "") -> Self:
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        label = where or cls.__name__
        if unknown:
            raise ConfigError(
                f"{label}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(names))}"
            )
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for key, value in data.items():
            values[key] = _coerce(value, hints[key], f"{label}.{key}")
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"{label}: {exc}") from exc

    @classmethod
    def from_toml(cls, path: str | Path, section: str | None = None) -> Self:
        path = Path(path)
        data = read_toml(path)
        if section is not None:
            data = data.get(section, {})
        return cls.from_dict(data, where=f"{path}{'[' + section + ']' if section else ''}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file as a dict; a missing or malformed file is a ConfigError naming it."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _coerce(value: Any, hint: Any, label: str) -> Any:
    """Check a TOML/JSON value against a field's type; convert lists to tuples."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, label)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{label}: bad value {value!r}")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{label}: expected a list, got {type(value).__name__}")
        inner = args[0] if args else Any
        return tuple(_coerce(v, inner, f"{label}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping) or hint is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{label}: expected a table, got {type(value).__name__}")
        return dict(value)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{label}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(hint, type):
        if hint is int and isinstance(value, bool):
            raise ConfigError(f"{label}: expected int, got bool")
        if not isinstance(value, hint):
            raise ConfigError(f"{label}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
    return value


def check(condition: bool, label: str, message: str) -> None:
    """Raise ConfigError('label: message') unless condition holds."""
    if not condition:
        raise ConfigError(f"{label}: {message}")
