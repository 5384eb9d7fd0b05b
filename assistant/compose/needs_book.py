"""A shop's needs book: which kinds of things serve each occasion, person, interest or theme.

The book is data a shop edits (`data/needs/gift_and_home.yaml` ships with the default shop;
the format is in docs/NEEDS.md). Loading validates every field and fails with a
`NeedsFileError` (a `ConfigError`) that names the file, the need, the kind and the field,
so the person editing knows what to fix. `NeedsBookHolder` keeps the book in force across
reloads: a file that fails to load leaves the previous book serving.

>>> book = NeedsBook.load(shipped_needs_path())
>>> matches = book.match("afternoon tea for six, budget £40", embedder.encode)
>>> kinds = book.kinds_for(matches, recipient.interests, asked_for=text)
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from assistant.compose.kind_merge import merge_kinds, style_words_of
from assistant.compose.need_records import SETTING_GROUPS
from assistant.compose.needs_match import (
    GROUPS,
    MATCH_THRESHOLD,
    Embed,
    Kind,
    Need,
    NeedMatch,
    NeedMatcher,
)
from assistant.understand.words import content_stems
from retrieval.datasets import data_dir
from retrieval.errors import ConfigError

__all__ = ["FORMAT_VERSION", "NeedsBook", "NeedsBookHolder", "NeedsFileError", "merge_kinds", "parse_needs",
           "shipped_needs_path", "style_words_of"]

FORMAT_VERSION = 1
_TOP_FIELDS = ("version", "description", "needs")
_NEED_FIELDS = ("name", "group", "examples", "kinds", "style_words", "marks", "look", "present")
_KIND_FIELDS = ("kind", "synonyms", "role", "per_guest", "per_table", "pieces", "centrepiece", "filler", "avoid")


def shipped_needs_path() -> Path:
    """The needs file of the default shop (under $CARTSMITH_DATA when that is set)."""
    return data_dir() / "needs" / "gift_and_home.yaml"


class NeedsFileError(ConfigError):
    """A needs file is wrong; the message names the file, the need, the kind and the field."""

    def __init__(self, file: str, message: str, *, need: str | None = None,
                 kind: int | None = None, field: str | None = None) -> None:
        self.file = file
        self.need = need
        self.kind = kind
        self.field = field
        where = [f"needs file {file}"]
        if need is not None:
            where.append(f"need {need}")
        if kind is not None:
            where.append(f"kind {kind}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}")


class _Where:
    """Where in the file a value sits, to say so when it is wrong."""

    def __init__(self, file: str, need: str | None = None, kind: int | None = None) -> None:
        self.file, self.need, self.kind = file, need, kind

    def error(self, message: str, field: str | None = None) -> NeedsFileError:
        return NeedsFileError(self.file, message, need=self.need, kind=self.kind, field=field)


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice (plain YAML keeps the last one silently)."""


def _strict_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def _described(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if value is None:
        return "nothing"
    return f"{value!r}"


def _check_fields(data: Any, known: Sequence[str], required: Sequence[str], where: _Where,
                  what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise where.error(f"must be a mapping of fields ({', '.join(required)}...), got {_described(data)}")
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise where.error(f"unknown field{hint}; {what} fields are {', '.join(known)}", str(key))
    for key in required:
        if key not in data:
            raise where.error(f"is missing; every {what} needs one", key)
    return data


def _text(data: Mapping[str, Any], field: str, where: _Where) -> str:
    value = data[field]
    if not isinstance(value, str) or not value.strip():
        raise where.error(f"must be a non-empty text, got {_described(value)}", field)
    return " ".join(value.split())


def _texts(data: Mapping[str, Any], field: str, where: _Where, *, required: bool) -> tuple[str, ...]:
    value = data.get(field, [])
    if not isinstance(value, list) or (required and not value):
        need = "a non-empty list" if required else "a list"
        raise where.error(f"must be {need} of texts, got {_described(value)}", field)
    for index, entry in enumerate(value, start=1):
        if not isinstance(entry, str) or not entry.strip():
            raise where.error(f"entry {index} must be a non-empty text, got {_described(entry)}", field)
    return tuple(dict.fromkeys(" ".join(entry.split()) for entry in value))


def _flag(data: Mapping[str, Any], field: str, where: _Where) -> bool:
    value = data.get(field, False)
    if not isinstance(value, bool):
        raise where.error(f"must be true or false, got {_described(value)}", field)
    return value


def _count(data: Mapping[str, Any], field: str, where: _Where) -> int | None:
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.error(f"must be a positive whole number, got {_described(value)}", field)
    return value


def _parse_kind(data: Any, need_name: str, where: _Where) -> Kind:
    fields = _check_fields(data, _KIND_FIELDS, ("kind", "synonyms", "role"), where, "kind")
    if fields.get("per_guest") is not None and fields.get("per_table") is not None:
        raise where.error("give per_guest or per_table, not both (a piece for each guest, or for each table)",
                          "per_table")
    return Kind(
        name=_text(fields, "kind", where),
        synonyms=_texts(fields, "synonyms", where, required=True),
        role=_text(fields, "role", where),
        need=need_name,
        per_guest=_count(fields, "per_guest", where),
        per_table=_count(fields, "per_table", where),
        pieces=_count(fields, "pieces", where),
        centrepiece=_flag(fields, "centrepiece", where),
        filler=_flag(fields, "filler", where),
        avoid=_texts(fields, "avoid", where, required=False),
    )


def _parse_need(data: Any, index: int, file: str) -> Need:
    said_name = data.get("name") if isinstance(data, Mapping) else None
    # a need is called by its name as soon as it has one, by its position until then
    if isinstance(said_name, str) and said_name.strip():
        where = _Where(file, repr(" ".join(said_name.split())))
    else:
        where = _Where(file, str(index))
    fields = _check_fields(data, _NEED_FIELDS, ("name", "group", "examples", "kinds"), where, "need")
    name = _text(fields, "name", where)
    group = fields["group"]
    if group not in GROUPS:
        raise where.error(f"must be one of {', '.join(GROUPS)}, got {_described(group)}", "group")
    kinds_data = fields["kinds"]
    if not isinstance(kinds_data, list) or not kinds_data:
        raise where.error(f"must be a non-empty list of kinds, got {_described(kinds_data)}", "kinds")
    kinds: list[Kind] = []
    for kind_index, kind_data in enumerate(kinds_data, start=1):
        kind_where = _Where(file, repr(name), kind_index)
        kind = _parse_kind(kind_data, name, kind_where)
        if any(k.name.lower() == kind.name.lower() for k in kinds):
            raise kind_where.error(f"the kind {kind.name!r} is already listed in this need", "kind")
        kinds.append(kind)
    look = _flag(fields, "look", where)
    if look and group != "theme":
        raise where.error(f"only a theme can be a look, this need's group is {group!r}", "look")
    style_words = _texts(fields, "style_words", where, required=False)
    if look and not style_words:
        raise where.error("a look dresses other needs' kinds through its style words: give some",
                          "style_words")
    present = _flag(fields, "present", where)
    if present and group not in SETTING_GROUPS:
        raise where.error(f"only an occasion, life event or season can be a present (a person's needs are "
                          f"left out when hosting anyway), this need's group is {group!r}", "present")
    return Need(name=name, group=group, examples=_texts(fields, "examples", where, required=True),
                kinds=tuple(kinds), style_words=style_words,
                marks=_texts(fields, "marks", where, required=False), look=look, present=present)


def parse_needs(text: str, file: str) -> tuple[tuple[Need, ...], str]:
    """The needs (and the description) in a needs file's text; `file` names it in errors."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: builds no objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise NeedsFileError(file, f"not valid YAML{at}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise NeedsFileError(file, f"not valid YAML: {exc}") from exc
    top = _Where(file)
    if data is None:
        raise top.error("the file is empty; it needs 'version' and 'needs'")
    fields = _check_fields(data, _TOP_FIELDS, ("version", "needs"), top, "top-level")
    if fields["version"] != FORMAT_VERSION:
        raise top.error(f"must be {FORMAT_VERSION} (the only format this version reads), "
                        f"got {_described(fields['version'])}", "version")
    description = _text(fields, "description", top) if "description" in fields else ""
    needs_data = fields["needs"]
    if not isinstance(needs_data, list) or not needs_data:
        raise top.error(f"must be a non-empty list of needs, got {_described(needs_data)}", "needs")
    needs: list[Need] = []
    first_entry: dict[str, int] = {}
    for index, need_data in enumerate(needs_data, start=1):
        need = _parse_need(need_data, index, file)
        key = need.name.lower()
        if key in first_entry:
            raise NeedsFileError(file, f"the name is already used by need {first_entry[key]} "
                                 "(need names must be unique)", need=f"{need.name!r} ({index})",
                                 field="name")
        first_entry[key] = index
        needs.append(need)
    return tuple(needs), description


class NeedsBook:
    """The needs of one shop, and the matching of a request against them."""

    def __init__(self, needs: Sequence[Need], *, source: str = "<memory>", description: str = "") -> None:
        self.needs = tuple(needs)
        self.source = source
        self.description = description
        self._by_name = {need.name.lower(): need for need in self.needs}
        self._matcher = NeedMatcher(self.needs)
        # the words that end the book's names for things ("cushion", "doormat", "sign"): a
        # listed phrase ending in one names a thing, whatever the catalog's titles end in
        self.thing_words = frozenset(stems[-1] for need in self.needs for kind in need.kinds
                                     for synonym in kind.synonyms if (stems := content_stems(synonym)))

    @classmethod
    def load(cls, path: str | Path) -> NeedsBook:
        """Read and validate a needs file; NeedsFileError says what is wrong and where."""
        shown = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise NeedsFileError(shown, "no such file") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise NeedsFileError(shown, f"cannot be read: {exc}") from exc
        needs, description = parse_needs(text, shown)
        return cls(needs, source=shown, description=description)

    def __len__(self) -> int:
        return len(self.needs)

    def __repr__(self) -> str:
        return f"NeedsBook({self.source!r}, {len(self.needs)} needs)"

    def need(self, name: str) -> Need:
        """The need called `name` (any case); KeyError when the book has none."""
        return self._by_name[name.lower()]

    def in_group(self, group: str) -> tuple[Need, ...]:
        return tuple(need for need in self.needs if need.group == group)

    def warm(self, embed: Embed) -> None:
        """Embed the needs' phrases now (startup) rather than on the first request."""
        self._matcher.phrase_vectors(embed)

    def match(self, text: str, embed: Embed, *, threshold: float = MATCH_THRESHOLD,
              limit: int = 6) -> list[NeedMatch]:
        """The needs a request's text is about, best first (person, occasion and interests
        may all match at once); [] when none is close enough."""
        return self._matcher.match(text, embed, threshold=threshold, limit=limit)

    def kinds_for(self, matches: Sequence[NeedMatch], interests: Iterable[str] = (), *,
                  asked_for: str = "") -> list[Kind]:
        """The kinds to fill the bundle with, in order (see `merge_kinds`)."""
        return merge_kinds(matches, interests, asked_for=asked_for)

    def style_words(self, matches: Sequence[NeedMatch]) -> tuple[str, ...]:
        """Title words that give items the matched needs' look, best match first."""
        return style_words_of(matches)


class NeedsBookHolder:
    """The needs book in force. `reload` swaps in a freshly read file only when it is
    valid; when it is not, the error is raised and the previous book keeps serving."""

    def __init__(self, book: NeedsBook, path: str | Path | None = None) -> None:
        self._book = book
        self._path = Path(path) if path is not None else None
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path) -> NeedsBookHolder:
        return cls(NeedsBook.load(path), path)

    @property
    def book(self) -> NeedsBook:
        return self._book

    @property
    def path(self) -> Path | None:
        return self._path

    def reload(self, path: str | Path | None = None) -> NeedsBook:
        """Load `path` (default: the file last loaded) and put it in force; on a
        NeedsFileError nothing changes and the error says what to fix."""
        target = Path(path) if path is not None else self._path
        if target is None:
            raise ConfigError("needs book: nothing to reload from; pass the needs file's path")
        fresh = NeedsBook.load(target)
        with self._lock:
            self._book = fresh
            self._path = target
        return fresh
