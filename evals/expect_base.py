"""Records of a scripted turn and the parsers that read each expectation's YAML value.

A parser turns what a script wrote into a normalised value or raises ValueError saying what
was expected; the script loader adds the file, turn and key. The checkers that use these
records are in `evals.expect_bundle` and `evals.expect_reply`, registered in
`evals.expectations`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from assistant.records import Bundle, CartLine, Reply

from .judge import CatalogFile, PromptTemplates

Verdict = tuple[bool, str]


@dataclasses.dataclass(frozen=True)
class Rejection:
    """The assistant refused the input itself (`assistant.safety.guard.InputRejected`)."""

    field: str
    limit: int | None
    message: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    kind: str
    expected: Any
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Observation:
    """One scripted turn as it happened: what was sent, what came back, what was checked."""

    turn: int
    action: str  # say | restart | cart_add
    user_text: str = ""
    reply: Reply | None = None
    rejected: Rejection | None = None
    error: str | None = None  # an unexpected exception: a bug, recorded instead of crashing the run
    latency_s: float = 0.0
    cart: tuple[CartLine, ...] = ()
    constraints: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class CheckContext:
    """What checkers compare a turn with, read by the evals themselves (`evals.judge`)."""

    catalog: CatalogFile = dataclasses.field(default_factory=lambda: CatalogFile({}))
    templates: PromptTemplates = dataclasses.field(default_factory=PromptTemplates)
    previous_bundle: Bundle | None = None  # the latest bundle shown before this turn


@dataclasses.dataclass(frozen=True)
class Spec:
    parse: Callable[[Any], Any]  # YAML value -> normalised value; ValueError says what was expected
    check: Callable[[Any, Observation, CheckContext], Verdict]
    summary: str
    needs_reply: bool = True
    item_refs: Callable[[Any], tuple[str, ...]] = lambda value: ()
    category_refs: Callable[[Any], tuple[str, ...]] = lambda value: ()


# --------------------------------------------------------------------------- value parsers


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_true(value: Any) -> bool:
    if value is not True:
        raise ValueError(f"expected true, got {show(value)}")
    return True


def parse_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {show(value)}")
    return value


def parse_strings(value: Any) -> tuple[str, ...]:
    """A string or a list of strings; whole numbers count as strings (YAML reads 22727 as int)."""
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"expected a non-empty string or a list of them, got {show(value)}")
        out.append(v.strip())
    if not out:
        raise ValueError("expected at least one entry")
    return tuple(out)


def parse_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"expected a number > 0, got {show(value)}")
    return float(value)


def parse_whole(value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"expected a whole number >= {minimum}, got {show(value)}")
    return value


def parse_mapping(value: Any, known: Iterable[str]) -> Mapping[str, Any]:
    names = tuple(known)
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"expected a mapping with some of {', '.join(names)}, got {show(value)}")
    unknown = sorted(set(map(str, value)) - set(names))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(names)}")
    return value


def parse_count(value: Any) -> tuple[int, int | None]:
    """`3` -> exactly 3; `{min: 3, max: 5}` (either bound optional)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return (value, value)
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a whole number >= 0 or {{min, max}}, got {show(value)}")
    data = parse_mapping(value, ("min", "max"))
    low = parse_whole(data.get("min", 0))
    high = parse_whole(data["max"]) if "max" in data else None
    if high is not None and high < low:
        raise ValueError(f"max ({high}) is below min ({low})")
    return (low, high)


def parse_choices(allowed: tuple[str, ...]) -> Callable[[Any], tuple[str, ...]]:
    def parse(value: Any) -> tuple[str, ...]:
        try:
            values = parse_strings(value)
        except ValueError:
            values = ()
        bad = [v for v in values if v not in allowed]
        if not values or bad:
            raise ValueError(f"expected one of {', '.join(allowed)} (or a list of them), got {show(value)}")
        return values

    return parse


def in_count(n: int, bounds: tuple[int, int | None]) -> bool:
    return n >= bounds[0] and (bounds[1] is None or n <= bounds[1])


def show_count(bounds: tuple[int, int | None]) -> str:
    low, high = bounds
    if low == high:
        return str(low)
    return f"at least {low}" if high is None else f"{low} to {high}"


def parse_relevant(value: Any) -> dict[str, Any]:
    if isinstance(value, list | str):
        return {"words": parse_strings(value), "at_least": None}
    data = parse_mapping(value, ("words", "at_least"))
    if "words" not in data:
        raise ValueError("missing words")
    return {"words": parse_strings(data["words"]),
            "at_least": parse_whole(data["at_least"], 1) if "at_least" in data else None}


def parse_grounded(value: Any) -> tuple[str, ...]:
    if value is True:
        return ()
    if isinstance(value, Mapping):
        return parse_strings(parse_mapping(value, ("allow",))["allow"])
    raise ValueError(f"expected true or {{allow: [items the reply may also name]}}, got {show(value)}")


def parse_cart(value: Any) -> dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"count": parse_count(value), "contains": (), "lacks": (), "same_as_bundle": False}
    if isinstance(value, list):
        refs = parse_strings(value)
        return {"count": (len(refs), len(refs)), "contains": refs, "lacks": (), "same_as_bundle": False}
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a count, a list of items, or {{count, contains, lacks, same_as_bundle}}, "
                         f"got {show(value)}")
    data = parse_mapping(value, ("count", "contains", "lacks", "same_as_bundle"))
    return {"count": parse_count(data["count"]) if "count" in data else None,
            "contains": parse_strings(data["contains"]) if "contains" in data else (),
            "lacks": parse_strings(data["lacks"]) if "lacks" in data else (),
            "same_as_bundle": parse_bool(data.get("same_as_bundle", False))}


def parse_rejected(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"rejected": value}
    data = parse_mapping(value, ("field", "limit"))
    out: dict[str, Any] = {"rejected": True}
    if "field" in data:
        out["field"] = parse_strings(data["field"])[0]
    if "limit" in data:
        out["limit"] = parse_whole(data["limit"], 1)
    return out


def parse_remembers(value: Any) -> dict[str, Any]:
    data = parse_mapping(value, ("budget", "need", "exclude"))
    out: dict[str, Any] = {}
    if "budget" in data:
        out["budget"] = parse_number(data["budget"])
    if "need" in data:
        out["need"] = parse_strings(data["need"])
    if "exclude" in data:
        out["exclude"] = parse_strings(data["exclude"])
    return out


def parse_changed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"changed": value}
    data = parse_mapping(value, ("added", "removed", "removed_slot"))
    out: dict[str, Any] = {"changed": True}
    for key in ("added", "removed"):
        if key in data:
            out[key] = data[key] if isinstance(data[key], bool) else parse_whole(data[key])
    if "removed_slot" in data:
        out["removed_slot"] = parse_whole(data["removed_slot"], 1)
    return out


def parse_locked(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(f"expected a slot number >= 1 or an item, got {show(value)}")


