"""The hand-written parse set (`evals/parse/*.yaml`, written and labelled as
`evals/parse/LABELS.md` says): loading with errors that name the file, case and field, and
the eval's own slot-by-slot comparison of a served reading (`evals.served_reading`) with
the label: numbers equal, mentions by their content words, the need by the needs book's
match (the composer's), so a paraphrase of the same need counts as right.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from assistant.records import INTENTS
from retrieval.datasets import REPO_ROOT

PARSE_DIR = REPO_ROOT / "evals" / "parse"
FIELDS = ("intent", "budget", "budget_min", "item_cap", "sort", "size", "party_size", "need", "items", "exclude",
          "target")
SLOTS = FIELDS[1:]
_NUMBERS = ("budget", "budget_min", "item_cap")
_COUNTS = ("size", "party_size")
_MENTION_LISTS = ("items", "exclude")
_STOP = frozenset(["a", "an", "the", "some", "my", "our", "your", "his", "her", "their", "this", "that", "these", "those", "any", "of", "for", "with", "to", "and", "one", "ones", "thing", "things", "bit", "bits", "stuff"])

NeedJudge = Callable[[str, str], bool]


class ParseSetError(ValueError):
    """A case of the hand-written set is malformed; the message names file, case and field."""


@dataclasses.dataclass(frozen=True)
class ParseCase:
    id: str
    say: str
    want: Mapping[str, Any]
    bundle: tuple[str, ...] = ()
    source: str = ""

    @property
    def summary(self) -> str:
        """The bundle as the parse prompt shows it (`Actions.bundle_summary`)."""
        return "; ".join(f"[{n}] {t}" for n, t in enumerate(self.bundle, 1)) if self.bundle else "(none)"


# --------------------------------------------------------------------------- loading


def _case(raw: Any, where: str) -> ParseCase:
    if not isinstance(raw, dict):
        raise ParseSetError(f"{where}: a case must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - {"id", "say", "want", "bundle"})
    if unknown:
        raise ParseSetError(f"{where}: unknown field(s) {', '.join(unknown)}; known: id, say, want, bundle")
    case_id = raw.get("id")
    if not isinstance(case_id, str) or not case_id:
        raise ParseSetError(f"{where}: field 'id' must be a non-empty string")
    where = f"{where} ({case_id})"
    say = raw.get("say")
    if not isinstance(say, str) or not say.strip():
        raise ParseSetError(f"{where}: field 'say' must be a non-empty string")
    bundle = raw.get("bundle") or []
    if not isinstance(bundle, list) or not all(isinstance(t, str) and t for t in bundle):
        raise ParseSetError(f"{where}: field 'bundle' must be a list of item titles")
    want = raw.get("want")
    if not isinstance(want, dict):
        raise ParseSetError(f"{where}: field 'want' must be a mapping")
    bad = sorted(set(want) - set(FIELDS))
    if bad:
        raise ParseSetError(f"{where}: want: unknown field(s) {', '.join(bad)}; known: {', '.join(FIELDS)}")
    if want.get("intent") not in INTENTS:
        raise ParseSetError(f"{where}: want.intent must be one of {', '.join(INTENTS)}, got {want.get('intent')!r}")
    for name in (*_NUMBERS, *_COUNTS):
        value = want.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
            raise ParseSetError(f"{where}: want.{name} must be a positive number, got {value!r}")
    if want.get("sort") not in (None, "cheapest"):
        raise ParseSetError(f"{where}: want.sort must be 'cheapest', got {want.get('sort')!r}")
    for name in _MENTION_LISTS:
        value = want.get(name)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)):
            raise ParseSetError(f"{where}: want.{name} must be a list of strings")
    if want.get("need") is not None and not isinstance(want["need"], str):
        raise ParseSetError(f"{where}: want.need must be a string")
    target = want.get("target")
    if target is not None:
        if bundle and not (isinstance(target, int) and 1 <= target <= len(bundle)):
            raise ParseSetError(f"{where}: want.target must be a position from 1 to {len(bundle)}, got {target!r}")
        if not bundle and not isinstance(target, str):
            raise ParseSetError(f"{where}: want.target without a bundle must be a mention")
    return ParseCase(case_id, say, dict(want), tuple(bundle), where.split(" (")[0])


def load_parse_set(folder: str | Path = PARSE_DIR) -> list[ParseCase]:
    """Every case of every `*.yaml` in the folder, ids unique across files."""
    cases: list[ParseCase] = []
    seen: dict[str, str] = {}
    paths = sorted(Path(folder).glob("*.yaml"))
    if not paths:
        raise ParseSetError(f"{folder}: no *.yaml files of parse cases")
    for path in paths:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ParseSetError(f"{path.name}: not valid YAML: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
            raise ParseSetError(f"{path.name}: expected a mapping with a 'cases' list")
        for n, raw in enumerate(data["cases"], 1):
            case = dataclasses.replace(_case(raw, f"{path.name} case {n}"), source=path.name)
            if case.id in seen:
                raise ParseSetError(f"{path.name} case {n}: id {case.id!r} is also used in {seen[case.id]}")
            seen[case.id] = path.name
            cases.append(case)
    return cases


# --------------------------------------------------------------------------- comparison


def _stems(text: str) -> frozenset[str]:
    from assistant.understand.words import content_stems

    words = content_stems(re.sub(r"[’']s\b", "", str(text)))
    return frozenset(w for w in words if w not in _STOP)


def _mention_equal(want: str, got: str) -> bool:
    a, b = _stems(want), _stems(got)
    return bool(a) and bool(b) and (a <= b or b <= a)


def _mentions_equal(want: Sequence[str], got: Sequence[str]) -> bool:
    if len(want) != len(got):
        return False
    left = list(got)
    for w in want:
        hit = next((g for g in left if _mention_equal(w, g)), None)
        if hit is None:
            return False
        left.remove(hit)
    return True


def slot_equal(slot: str, want: Any, got: Any, need_judge: NeedJudge | None = None) -> bool:
    if want is None or got is None:
        return want is None and got is None
    if slot in _NUMBERS:
        return abs(float(want) - float(got)) < 0.005
    if slot in _COUNTS or slot == "sort":
        return bool(want == got)
    if slot in _MENTION_LISTS:
        return _mentions_equal(list(want), list(got))
    if slot == "target":
        if isinstance(want, int) or isinstance(got, int):
            return bool(want == got)
        return _mention_equal(str(want), str(got))
    if slot == "need":
        if need_judge is not None:
            return need_judge(str(want), str(got))
        return _mention_equal(str(want), str(got))
    return bool(want == got)


def compare(want: Mapping[str, Any], got: Mapping[str, Any], need_judge: NeedJudge | None = None) -> dict[str, bool]:
    """Per field: right or wrong, over the fields the label or the reading sets."""
    out = {"intent": want.get("intent") == got.get("intent")}
    for slot in SLOTS:
        if want.get(slot) is not None or got.get(slot) is not None:
            out[slot] = slot_equal(slot, want.get(slot), got.get(slot), need_judge)
    return out


def score_parse_set(cases: Sequence[ParseCase], readings: Sequence[Mapping[str, Any]],
                    need_judge: NeedJudge | None = None) -> dict[str, Any]:
    """intent accuracy, exact match (every field right), per-slot accuracy over the cases
    where the label or the reading sets the slot, and the failures."""
    n = len(cases)
    hits = dict.fromkeys(SLOTS, 0)
    counted = dict.fromkeys(SLOTS, 0)
    intent = exact = 0
    failures = []
    for case, got in zip(cases, readings, strict=True):
        verdict = compare(case.want, got, need_judge)
        intent += verdict["intent"]
        exact += all(verdict.values())
        for slot in SLOTS:
            if slot in verdict:
                counted[slot] += 1
                hits[slot] += verdict[slot]
        if not all(verdict.values()):
            failures.append({"id": case.id, "say": case.say, "want": dict(case.want), "got": dict(got),
                             "wrong": [k for k, ok in verdict.items() if not ok]})
    return {
        "n": n,
        "intent_accuracy": round(intent / n, 4) if n else None,
        "exact_match": round(exact / n, 4) if n else None,
        "slot_accuracy": {s: round(hits[s] / counted[s], 4) for s in SLOTS if counted[s]},
        "slot_cases": {s: counted[s] for s in SLOTS if counted[s]},
        "failures": failures,
    }


def score_by_file(cases: Sequence[ParseCase], readings: Sequence[Mapping[str, Any]],
                  need_judge: NeedJudge | None = None) -> dict[str, dict[str, Any]]:
    """The same scores for each file of the set apart (`handwritten_fresh.yaml` was written
    after the rules of its day: the check that they carry over to new words)."""
    out: dict[str, dict[str, Any]] = {}
    for name in sorted({c.source for c in cases}):
        picked = [(c, r) for c, r in zip(cases, readings, strict=True) if c.source == name]
        report = score_parse_set([c for c, _ in picked], [r for _, r in picked], need_judge)
        out[name] = {k: report[k] for k in ("n", "intent_accuracy", "exact_match", "slot_accuracy")}
    return out


def needs_book_judge() -> NeedJudge:
    """The needs book's match, as the composer uses it: a need is right when the label's best
    matching need is among the reading's two best (a paraphrase of the same need); a label
    the book has no need for is compared by its content words."""
    from assistant.compose.needs_book import NeedsBook, shipped_needs_path
    from assistant.compose.needs_match import distinct_matches
    from retrieval.embeddings import Embedder

    book = NeedsBook.load(shipped_needs_path())
    embed = Embedder().encode

    def names(text: str) -> list[str]:
        return [m.need.name for m in distinct_matches(book.match(text, embed))]

    def judge(want: str, got: str) -> bool:
        wanted = names(want)
        if not wanted:
            return _mention_equal(want, got)
        return wanted[0] in names(got)[:2]

    return judge
