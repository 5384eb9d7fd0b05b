"""Typed, validated configuration dataclasses: defaults, checks, and no unknown keys.

Every component owns one dataclass derived from `Config`. `from_dict` refuses unknown
keys (naming them and the keys that exist) and `validate` checks ranges, so a typo in a
TOML file fails loudly instead of being silently ignored. A `Literal[...]` field (or an
optional one) is checked on every construction, from a file or from Python, and a value
outside it names the field as `section.field` (`Config.section`) and the allowed values.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from .errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Config:
    """Base for component configs. Subclasses add fields and override `validate`.

    `section` names the config in error messages; by default it is the class name in
    snake case without "Config" (`AssistantConfig` -> "assistant", `ItemKNNConfig` ->
    "item_knn"); a subclass may set it.
    """

    section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        label = section_of(type(self))
        for name, allowed in _literal_fields(type(self)).items():
            value = getattr(self, name)
            if not _is_allowed(value, allowed):
                raise ConfigError(f"{label}.{name}: {value!r} is not one of {', '.join(map(repr, allowed))}")
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


def section_of(cls: type[Config]) -> str:
    """The name a config's fields go by in error messages (`Config.section`)."""
    if cls.section:
        return cls.section
    name = cls.__name__.lstrip("_")
    stem = name.removesuffix("Config") or name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", stem).lower()


_LITERAL_FIELDS: dict[type, dict[str, tuple[Any, ...]]] = {}


def _literal_fields(cls: type[Config]) -> dict[str, tuple[Any, ...]]:
    """The allowed values of each `Literal[...]` or `Literal[...] | None` field (None
    included for the optional ones); fields of any other type are not listed. Read once
    per class: resolving the annotations costs more than a construction."""
    known = _LITERAL_FIELDS.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    allowed: dict[str, tuple[Any, ...]] = {}
    for field in dataclasses.fields(cls):
        values = _literal_values(hints[field.name])
        if values is not None:
            allowed[field.name] = values
    return _LITERAL_FIELDS.setdefault(cls, allowed)


def _literal_values(hint: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(hint) is typing.Literal:
        return typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [_literal_values(arg) for arg in typing.get_args(hint) if arg is not type(None)]
        if not members or any(m is None for m in members):
            return None  # a Literal joined with a free type (str, int, ...) allows anything of it
        optional = (None,) if type(None) in typing.get_args(hint) else ()
        return tuple(v for m in members if m is not None for v in m) + optional
    return None


def _is_allowed(value: Any, allowed: tuple[Any, ...]) -> bool:
    # by type as well as value: True is not the literal 1, nor 0 the literal False
    return any(value == a and type(value) is type(a) for a in allowed)


def check(condition: bool, label: str, message: str) -> None:
    """Raise ConfigError('label: message') unless condition holds."""
    if not condition:
        raise ConfigError(f"{label}: {message}")
