"""The hand-written parse set (`evals/parse/*.yaml`, written and labelled as
`evals/parse/LABELS.md` says): loading with errors that name the file, case and field; the
product's served reading of a message; the eval's own slot-by-slot comparison.

The served reading is what the assistant acts on: the guard's refusal, the model's parse of
the redacted text, then the code that reconciles it with the shopper's words
(`served_request`, with the intent reader's intent when it is sure), the money slots
(`spending_in`) and the one item the action points at (`_served_target`: an edit's target,
a cart request's item; none for intents whose action takes none), resolved to a bundle
position as the editor resolves it. With the default shop, a question, a cart request or a
comparison about a bundle on screen is read as its action serves it (`ServingShop.answered`:
the item answered about, the item put in the cart, the two items set side by side), since
those actions also find their items in the words themselves. With the default shop (`ServingShop`, as `cartsmith eval
model` runs it) a bundle request's items and need are read as the compose action reads them
(`read_bundle_wants`: a mention that names no catalog item joins the need) and a target by
the editor's words-then-embedding match; without a shop, mentions are taken as parsed and
targets by `resolve_target` without the embedding fallback. The
comparison is the eval's own: numbers equal, mentions by their content words, the need by the
needs book's match (the composer's), so a paraphrase of the same need counts as right.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from assistant.records import INTENTS, Request, RequestError
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


# --------------------------------------------------------------------------- served reading


class ServingShop:
    """The default shop as the compose action and the editor see it: its catalog items for a
    case's bundle titles, the action's reading of a bundle request, the editor's positions."""

    def __init__(self, index: Any = None) -> None:
        from assistant.compose.composer import BundleComposer
        from assistant.compose.config import ComposerConfig
        from assistant.compose.editor import BundleEditor
        from assistant.dialogue.assistant_config import AssistantConfig
        from assistant.dialogue.shop_reader import ShopReader
        from retrieval.shop_index import ShopIndex

        config = AssistantConfig()  # the defaults `cartsmith chat` serves with
        index = index or ShopIndex.load(config.index_path())
        self.composer = BundleComposer(index, ComposerConfig(size=config.bundle_size,
                                                             vector_search=config.vector_search),
                                       needs=config.needs_book())
        self.reader = ShopReader(index, self.composer)
        self.editor = BundleEditor(self.composer)
        self._by_title = {item.title.casefold(): item for item in index.catalog.items}

    def bundle(self, titles: Sequence[str]) -> Any:
        """The bundle of the catalog's items with these titles; None when one is not sold here."""
        from assistant.records import Bundle, BundleItem

        items = [self._by_title.get(title.casefold()) for title in titles]
        if not items or any(item is None for item in items):
            return None
        return Bundle(tuple(BundleItem(item) for item in items if item is not None))

    def bundle_slots(self, request: Request, text: str, on_screen: bool = False) -> dict[str, Any]:
        """A bundle request's need and items as the compose action serves them (`on_screen`:
        a bundle is shown, so "redo it" keeps its need: no need of this message's own)."""
        from assistant.compose.need_kinds import only_the_things
        from assistant.dialogue.bundle_wants import read_bundle_wants
        from assistant.understand.shopper_cues import asks_to_redo

        wants = read_bundle_wants(request, text, self.reader, self.composer)
        need = wants.need
        if need is None and not wants.anchors and not wants.taste and not (on_screen and asks_to_redo(text)):
            need = self.reader.text_items.need_in(text)  # the action's words-as-need fallback
        items = wants.item_mentions()
        if not items and need:
            # the things the bundle is planned to hold by name ("bowls and a toy" for a puppy)
            # a request that is only things ("mug teapot cake stand under 30") names the
            # products the bundle is built from; things listed for an occasion or a person
            # are kinds of it (LABELS.md: items are particular products named)
            plan = self.composer.kinds_for(text, need, request.party_size)
            things = list(plan.asked_for)
            if only_the_things(need, things):
                items, need = things, None
        return {"need": need, "items": items}

    def answered(self, request: Request, text: str, titles: Sequence[str]) -> dict[str, Any] | None:
        """What the cart and answer actions take from this message on the bundle `titles`:
        the one item a question or a cart request picks (`target`, its 1-based position; none
        for a cart question, or a cart request of the whole bundle), the two items a
        comparison sets side by side (`items`, their titles). None: not one of those intents,
        or a bundle not sold here."""
        from assistant.dialogue.cart_and_answers import CartAndAnswers
        from assistant.dialogue.session import ConversationState, bundle_to_state
        from assistant.understand.shopper_cues import asks_about_cart

        bundle = self.bundle(titles)
        if bundle is None or request.intent not in ("question", "add_to_cart", "compare"):
            return None
        answers = CartAndAnswers(self.reader)
        ids = [bi.item.item_id for bi in bundle.items]
        if request.intent == "compare":
            state = ConversationState("eval", bundle=bundle_to_state(bundle))
            result = answers.compare(request, state, text)
            pair = result.request.items if result is not None and result.request is not None else ()
            return {"items": [self.reader.catalog.get(i).title for i in pair]}
        if request.intent == "question":
            item = None if asks_about_cart(text) else answers.asked_item(request, bundle, text)
            picked = [item] if item is not None else []
        else:
            picked = self.reader.text_items.cart_picks(text, request, bundle)[0]
        one = picked[0].item_id if len(picked) == 1 else None
        return {"target": ids.index(one) + 1 if one in ids else None}


def served_reading(case: ParseCase, parsed: Request | None, sure_intent: str | None = None,
                   shop: ServingShop | None = None) -> dict[str, Any]:
    """The slots the assistant acts on for this message (see the module doc)."""
    from assistant.compose.targets import names_nothing_on_screen, title_said_in
    from assistant.dialogue.chain import guarded_reply, served_request
    from assistant.records import Bundle, BundleItem
    from assistant.safety.guard import check_input
    from assistant.understand.slots import (
        money_for_the_bundle_on_screen,
        spending_in,
        unsaid_position,
    )
    from retrieval.records import Item

    text = check_input(case.say)
    if guarded_reply(text) is not None:
        return {"intent": "off_topic"}
    # an unparsed turn is served from the words alone (the chain's fallback)
    request = served_request(parsed if parsed is not None else Request(intent="off_topic"), text, sure_intent,
                             bool(case.bundle))
    # the router's "money for the bundle on screen": an amount alone edits the bundle shown
    money_edit = money_for_the_bundle_on_screen(request, text, bool(case.bundle))
    request = dataclasses.replace(request, intent=money_edit) if money_edit else request
    spending = spending_in(request, text)
    out: dict[str, Any] = {"intent": request.intent, "budget": spending.budget, "budget_min": spending.budget_min,
                           "item_cap": spending.item_cap, "sort": "cheapest" if spending.cheapest else None,
                           "size": request.size, "party_size": request.party_size, "need": request.need,
                           "items": list(request.items), "exclude": list(request.exclude)}
    if shop is not None and request.intent == "bundle":
        out.update(shop.bundle_slots(request, text, on_screen=bool(case.bundle)))
    answered = shop.answered(request, text, case.bundle) if shop is not None and case.bundle else None
    if answered is not None:  # a question, a cart request or a comparison, as its action reads it
        out.update(answered)
        return {k: v for k, v in out.items() if v not in (None, [], "")}
    target = _served_target(request, text)
    # an edit with no target parsed reads the title words the message says ("the owl one")
    untargeted_edit = target is None and request.intent in ("swap", "remove", "lock", "more_like")
    if (target or untargeted_edit) and case.bundle:
        shop_bundle = shop.bundle(case.bundle) if shop is not None else None
        bundle = shop_bundle or Bundle(tuple(BundleItem(Item(f"case-item-{n}", title))
                                             for n, title in enumerate(case.bundle, 1)))
        said = title_said_in(bundle, text) if (target is None or unsaid_position(target, text)
                                               or names_nothing_on_screen(bundle, target)) else None
        target = str(said + 1) if said is not None else target  # as the edits and answers read it
        out["target"] = None if target is None else _position(bundle, target, shop if shop_bundle else None)
    else:
        out["target"] = target
    return {k: v for k, v in out.items() if v not in (None, [], "")}


def _position(bundle: Any, target: str, shop: ServingShop | None) -> int | str:
    """The 1-based position `target` names, found as the editor finds it (with the shop: title
    words, then the embedding; else title words only); the target as read when none."""
    from assistant.compose.errors import TargetNotFoundError
    from assistant.compose.targets import resolve_target

    try:
        if shop is not None:
            return int(shop.editor.position(bundle, target)) + 1
        return resolve_target(bundle, target, lambda _text, _positions: None) + 1
    except (TargetNotFoundError, RequestError):
        return target


def _served_target(request: Request, text: str) -> str | None:
    """The one item the action points at, read as the action reads it: an edit's target
    (`edit_target`); a cart request's position, else a mention of the parse the words hold
    (`TextItems.cart_picks`; none: the whole bundle); no target for the intents whose action
    takes none (a bundle, an add, a budget, a comparison's two items, chat)."""
    from assistant.understand.shopper_cues import (
        mentions_in_text,
        positions_in,
        whole_bundle_mention,
    )
    from assistant.understand.slots import edit_target

    if request.intent in ("swap", "remove", "lock", "more_like", "question"):
        return edit_target(request, text)
    if request.intent == "add_to_cart":
        positions = positions_in(text)
        if positions:
            return positions[0]
        named = [m for m in (request.target, *request.items)
                 if m and mentions_in_text(m, text) and not whole_bundle_mention(m, text)]
        return named[0] if named else None
    return None


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
