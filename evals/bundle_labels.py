"""The labelled shopper requests of the bundle benchmark (evals/bundle_requests.yaml).

`load_requests(path)` reads and checks them; a wrong label fails with the request's id and
the field, e.g. `bundle_requests.yaml, request 'tea-party-for-six', per_guest: 'cups' is
not one of its kinds`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REQUESTS_PATH = Path(__file__).resolve().parent / "bundle_requests.yaml"
GROUPS = ("occasion", "life_event", "person_relation", "person_interest", "theme", "cards_and_wrap",
          "cheapest", "item_cap")
FIELDS = ("id", "group", "text", "kinds", "budget", "party_size", "per_guest", "about_filler", "cheapest",
          "item_cap")
MIN_KINDS, MAX_KINDS = 2, 4


class LabelError(ValueError):
    """A request of the set is labelled wrongly; the message names the request and field."""


@dataclasses.dataclass(frozen=True)
class Kind:
    name: str
    match: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class BundleRequest:
    id: str
    group: str
    text: str
    kinds: tuple[Kind, ...]
    budget: float | None = None
    party_size: int | None = None
    per_guest: tuple[str, ...] = ()
    about_filler: bool = False
    cheapest: bool = False
    item_cap: float | None = None


def _number(value: Any, where: str, *, whole: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise LabelError(f"{where}: expected a positive number or null, got {value!r}")
    if whole and not float(value).is_integer():
        raise LabelError(f"{where}: expected a whole number, got {value!r}")
    return float(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise LabelError(f"{where}: expected true or false, got {value!r}")
    return value


def _kind(raw: Any, where: str) -> Kind:
    if not isinstance(raw, Mapping) or set(raw) != {"name", "match"}:
        raise LabelError(f"{where}: a kind is {{name: ..., match: [...]}}, got {raw!r}")
    name, match = raw["name"], raw["match"]
    if not isinstance(name, str) or not name.strip():
        raise LabelError(f"{where}.name: expected a non-empty string")
    if not isinstance(match, list) or not match or not all(isinstance(m, str) and m.strip() for m in match):
        raise LabelError(f"{where}.match: expected a non-empty list of phrases")
    return Kind(name.strip(), tuple(m.strip().lower() for m in match))


def parse_request(raw: Any, where: str) -> BundleRequest:
    if not isinstance(raw, Mapping):
        raise LabelError(f"{where}: expected a mapping")
    missing, unknown = sorted(set(FIELDS) - set(raw)), sorted(set(raw) - set(FIELDS))
    if missing or unknown:
        raise LabelError(f"{where}: " + "; ".join(
            part for part in (f"missing {', '.join(missing)}" if missing else "",
                              f"unknown {', '.join(unknown)}" if unknown else "") if part))
    where = f"{where.rsplit(',', 1)[0]}, request {raw['id']!r}"
    if raw["group"] not in GROUPS:
        raise LabelError(f"{where}, group: {raw['group']!r} is not one of {', '.join(GROUPS)}")
    if not isinstance(raw["text"], str) or not raw["text"].strip():
        raise LabelError(f"{where}, text: expected the shopper's words")
    if not isinstance(raw["kinds"], list) or not MIN_KINDS <= len(raw["kinds"]) <= MAX_KINDS:
        raise LabelError(f"{where}, kinds: expected {MIN_KINDS}-{MAX_KINDS} kinds")
    kinds = tuple(_kind(k, f"{where}, kinds[{n}]") for n, k in enumerate(raw["kinds"]))
    names = [k.name for k in kinds]
    if len(set(names)) != len(names):
        raise LabelError(f"{where}, kinds: names must be unique")
    per_guest = raw["per_guest"]
    if not isinstance(per_guest, list) or not all(isinstance(p, str) for p in per_guest):
        raise LabelError(f"{where}, per_guest: expected a list of kind names")
    for name in per_guest:
        if name not in names:
            raise LabelError(f"{where}, per_guest: {name!r} is not one of its kinds")
    party = _number(raw["party_size"], f"{where}, party_size", whole=True)
    if per_guest and party is None:
        raise LabelError(f"{where}, per_guest: needs a party_size")
    return BundleRequest(
        id=str(raw["id"]), group=raw["group"], text=raw["text"].strip(), kinds=kinds,
        budget=_number(raw["budget"], f"{where}, budget"), party_size=int(party) if party else None,
        per_guest=tuple(per_guest), about_filler=_flag(raw["about_filler"], f"{where}, about_filler"),
        cheapest=_flag(raw["cheapest"], f"{where}, cheapest"),
        item_cap=_number(raw["item_cap"], f"{where}, item_cap"))


def load_requests(path: Path = REQUESTS_PATH) -> list[BundleRequest]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, Mapping) or not isinstance(data.get("requests"), list):
        raise LabelError(f"{path.name}: expected a top-level 'requests:' list")
    requests = [parse_request(raw, f"{path.name}, entry {n}") for n, raw in enumerate(data["requests"], 1)]
    seen: set[str] = set()
    for request in requests:
        if request.id in seen:
            raise LabelError(f"{path.name}: request id {request.id!r} appears twice")
        seen.add(request.id)
    return requests
