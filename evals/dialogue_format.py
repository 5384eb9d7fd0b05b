"""The YAML format of a scripted dialogue (see docs/EVALS.md) → validated `Script` records.

Every error names the file, the turn (1-based) and the key, e.g.
`evals/dialogues/tea.yaml, turn 2, key 'expect.itmes': unknown expectation kind; known kinds: ...`.
Expectation values are checked by each kind's parser (`evals.expect_base`), so a script
fails before any turn runs, not halfway through an evaluation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from retrieval.errors import CartsmithError

from .expectations import EXPECTATIONS, STATE_KINDS

SHIPPED_DIR = Path(__file__).resolve().parent / "dialogues"
TOP_KEYS = ("name", "description", "catalog", "user_id", "turns")
ACTIONS = ("say", "say_repeat", "restart", "cart_add")
MAX_TEXT_CHARS = 10_000_000


class ScriptError(CartsmithError):
    """A script is malformed; the message names the file, the turn and the key."""


def where(path: Path, turn: int | None = None, key: str | None = None) -> str:
    parts = [str(path)]
    if turn is not None:
        parts.append(f"turn {turn}")
    if key is not None:
        parts.append(f"key '{key}'")
    return ", ".join(parts)


@dataclasses.dataclass(frozen=True)
class Expect:
    kind: str
    value: Any  # normalised by the kind's parser
    raw: Any  # as written, for the report


@dataclasses.dataclass(frozen=True)
class ScriptTurn:
    action: str  # say | restart | cart_add
    text: str = ""
    item: str | None = None
    expect: tuple[Expect, ...] = ()


@dataclasses.dataclass(frozen=True)
class Script:
    name: str
    description: str
    path: Path
    turns: tuple[ScriptTurn, ...]
    catalog: str | None = None  # None: the default shop; else an index folder built by `cartsmith index`
    user_id: str | None = None

    @property
    def expectations(self) -> int:
        return sum(len(t.expect) for t in self.turns)


# --------------------------------------------------------------------------- the format


def _text(value: Any, where: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ScriptError(f"{where}: expected {'a string' if allow_empty else 'a non-empty string'}, "
                          f"got {value!r}")
    return value


def _parse_expect(raw: Any, path: Path, n: int, action: str) -> tuple[Expect, ...]:
    if raw is None:
        if action == "say":
            raise ScriptError(f"{where(path, n, 'expect')}: missing; every message needs expectations")
        return ()
    if not isinstance(raw, Mapping) or (action == "say" and not raw):
        raise ScriptError(f"{where(path, n, 'expect')}: expected a mapping of expectation kinds to values")
    out = []
    for kind, value in raw.items():
        key = f"expect.{kind}"
        if kind not in EXPECTATIONS:
            raise ScriptError(f"{where(path, n, key)}: unknown expectation kind; known kinds: "
                              f"{', '.join(sorted(EXPECTATIONS))}")
        if action != "say" and kind not in STATE_KINDS:
            raise ScriptError(f"{where(path, n, key)}: a {action} turn has no reply; it may only expect "
                              f"{', '.join(STATE_KINDS)}")
        try:
            out.append(Expect(kind, EXPECTATIONS[kind].parse(value), value))
        except ValueError as exc:
            raise ScriptError(f"{where(path, n, key)}: {exc}") from None
    return tuple(out)


def _parse_turn(raw: Any, path: Path, n: int) -> ScriptTurn:
    if not isinstance(raw, Mapping):
        raise ScriptError(f"{where(path, n)}: expected a mapping such as {{say: ..., expect: {{...}}}}, got {raw!r}")
    unknown = sorted(set(map(str, raw)) - set(ACTIONS) - {"expect"})
    if unknown:
        raise ScriptError(f"{where(path, n, unknown[0])}: unknown key; a turn has one of "
                          f"{', '.join(ACTIONS)}, and expect")
    actions = [a for a in ACTIONS if a in raw]
    if not actions:
        raise ScriptError(f"{where(path, n, 'say')}: missing; a turn needs one of {', '.join(ACTIONS)}")
    if len(actions) > 1:
        raise ScriptError(f"{where(path, n, actions[1])}: a turn has exactly one of {', '.join(ACTIONS)}; "
                          f"got {', '.join(actions)}")
    action = actions[0]
    if action == "say":
        text = _text(raw["say"], where(path, n, "say"), allow_empty=True)
        return ScriptTurn("say", text, expect=_parse_expect(raw.get("expect"), path, n, "say"))
    if action == "say_repeat":
        spec = raw["say_repeat"]
        if not isinstance(spec, Mapping) or not {"text", "times"} <= set(map(str, spec)) <= {"text", "times", "end"}:
            raise ScriptError(f"{where(path, n, 'say_repeat')}: expected {{text: STRING, times: N, end: STRING}} "
                              f"(end optional), got {spec!r}")
        piece = _text(spec["text"], where(path, n, "say_repeat.text"))
        times = spec["times"]
        if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_TEXT_CHARS // len(piece):
            raise ScriptError(f"{where(path, n, 'say_repeat.times')}: expected a whole number from 1 to "
                              f"{MAX_TEXT_CHARS // len(piece):,} (at most {MAX_TEXT_CHARS:,} characters), "
                              f"got {times!r}")
        end = _text(spec.get("end", ""), where(path, n, "say_repeat.end"), allow_empty=True)
        return ScriptTurn("say", piece * times + end, expect=_parse_expect(raw.get("expect"), path, n, "say"))
    if action == "restart":
        if raw["restart"] is not True:
            raise ScriptError(f"{where(path, n, 'restart')}: expected true, got {raw['restart']!r}")
        return ScriptTurn("restart", expect=_parse_expect(raw.get("expect"), path, n, "restart"))
    item = raw["cart_add"]
    item = str(item) if isinstance(item, int) and not isinstance(item, bool) else item
    item = _text(item, where(path, n, "cart_add")).strip()
    return ScriptTurn("cart_add", item=item, expect=_parse_expect(raw.get("expect"), path, n, "cart_add"))


def parse_script(data: Any, path: Path) -> Script:
    if not isinstance(data, Mapping):
        raise ScriptError(f"{path}: expected a mapping with {', '.join(TOP_KEYS)}")
    unknown = sorted(set(map(str, data)) - set(TOP_KEYS))
    if unknown:
        raise ScriptError(f"{where(path, key=unknown[0])}: unknown key; known keys: {', '.join(TOP_KEYS)}")
    for key in ("name", "description", "turns"):
        if key not in data:
            raise ScriptError(f"{where(path, key=key)}: missing")
    name = _text(data["name"], where(path, key="name")).strip()
    description = _text(data["description"], where(path, key="description")).strip()
    turns = data["turns"]
    if not isinstance(turns, list) or not turns:
        raise ScriptError(f"{where(path, key='turns')}: expected a non-empty list of turns")
    catalog = data.get("catalog")
    if catalog is not None and catalog != "default":
        folder = Path(_text(catalog, where(path, key="catalog")))
        if not folder.is_absolute() and (path.parent / folder).is_dir():
            folder = path.parent / folder
        if not folder.is_dir():
            raise ScriptError(f"{where(path, key='catalog')}: no index folder at {folder} "
                              "(build one with `cartsmith index ... --out DIR`)")
        catalog = str(folder.resolve())
    else:
        catalog = None
    user_id = data.get("user_id")
    if user_id is not None:
        if isinstance(user_id, bool) or not isinstance(user_id, int | str) or not str(user_id).strip():
            raise ScriptError(f"{where(path, key='user_id')}: expected a shopper id, got {user_id!r}")
        user_id = str(user_id).strip()
    parsed = tuple(_parse_turn(t, path, n) for n, t in enumerate(turns, start=1))
    if not any(t.action == "say" for t in parsed):
        raise ScriptError(f"{where(path, key='turns')}: a script needs at least one message (say)")
    return Script(name, description, path, parsed, catalog, user_id)


def load_script(path: Path) -> Script:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScriptError(f"{path}: not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"{path}: cannot read: {exc}") from None
    return parse_script(data, path)


def script_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                raise ScriptError(f"{path}: no .yaml scripts in this folder")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise ScriptError(f"{path}: no such file or folder")
    return files


def load_scripts(paths: Sequence[Path]) -> list[Script]:
    """Every script under `paths` (files or folders; none: the shipped scripts), validated."""
    scripts: list[Script] = []
    seen: dict[str, Path] = {}
    for file in script_files(paths or [SHIPPED_DIR]):
        script = load_script(file)
        if script.name in seen:
            raise ScriptError(f"{where(file, key='name')}: {script.name!r} is also the name of {seen[script.name]}")
        seen[script.name] = file
        scripts.append(script)
    return scripts
