"""What the writer model is told about each bundle item, and what its line may say.

Each item gets one fact (its main evidence, shortened; or "(your pick)", "(you kept
this)"); from the fact and the evidence record come the numbers a reason for the item may
cite (`item_numbers`) and the claims it may make (`item_claims`). `write_prompt` renders
the numbered slots into the "write" prompt. The model writer, the template writer, the
token guide's inputs and the fine-tuning targets all read these.
"""

from __future__ import annotations

import math
import re

from assistant.records import Bundle, BundleItem
from assistant.understand.words import stem_set, tokens
from assistant.write.answer_checks import SLOT_LINE, fact_numbers
from assistant.write.answer_claims import allowed_claims
from assistant.write.answer_words import LineWords, reason_stems
from prompts import render
from retrieval.records import Evidence

_SOFT_CLAUSES = (
    re.compile(r"\s*\((?:confidence|similarity)[^)]*\)"),
    re.compile(r",\s*similarity [\d.]+"),
    re.compile(r"\s+that had it\b"),
)


def evidence_fact(evidence: Evidence) -> str:
    """The evidence text, shortened to the facts a shopper cares about (counts, who with)."""
    text = evidence.text
    for pattern in _SOFT_CLAUSES:
        text = pattern.sub("", text)
    return text.strip()


def main_evidence(bi: BundleItem) -> Evidence | None:
    for ev in bi.reasons:
        if ev.kind not in ("anchor", "locked"):
            return ev
    return None


# Evidence that names other items as its reason (a look-alike, shoppers of X, bought after
# X): the item named may not be in the bundle, and a title's own digits ("Bag for 4") would
# read as a count. The answer states the kind of reason instead.
NAMING_FACTS = {
    "similar_text": "a close match in style",
    "taste_profile": "matches your taste",
    "next_item": "often bought next",
}


def taste_fact(evidence: Evidence) -> str:
    """A taste reason says whose taste it is: "matches your taste" only with the shopper's
    own history or profile behind it; CF from other shoppers' baskets says so."""
    text = evidence.text
    if text.startswith(("you often buy", "in your usual price")):
        return evidence_fact(evidence)
    if text.startswith("matches your taste"):
        return NAMING_FACTS["taste_profile"]
    if text.startswith("matches the taste of shoppers"):
        return "liked by shoppers who buy the same things"
    return "suits what is in your basket"


def item_fact(bi: BundleItem) -> str:
    """What the model is told about one item: "(your pick)", "(you kept this)" or a fact."""
    if bi.role == "anchor":
        return "(your pick)"
    ev = main_evidence(bi)
    if ev is None:
        return "(you kept this)" if bi.locked else "(a good fit)"
    if ev.kind == "taste_profile":
        return taste_fact(ev)
    if ev.kind in NAMING_FACTS:
        return NAMING_FACTS[ev.kind]
    return evidence_fact(ev)


def facts_of(bundle: Bundle) -> list[str]:
    return [item_fact(bi) for bi in bundle.items]


def item_numbers(bi: BundleItem) -> frozenset[str]:
    """The numbers a reason for this item may cite: those of its fact that are also whole
    numbers of its evidence record, so digits inside a title the fact names ("Set of 3
    Cake Tins") never count as a fact about the item."""
    shown = fact_numbers(item_fact(bi))
    ev = main_evidence(bi)
    if ev is None or not ev.numbers or bi.role == "anchor":
        return shown
    recorded = {str(int(v)) for v in ev.numbers.values()
                if isinstance(v, int | float) and math.isfinite(v) and float(v).is_integer()}
    return frozenset(shown & recorded) if shown & recorded else shown


def numbers_of(bundle: Bundle) -> list[frozenset[str]]:
    return [item_numbers(bi) for bi in bundle.items]


def item_claims(bi: BundleItem, picked: bool = True) -> frozenset[str]:
    """The claim classes a reason for this item may make (`answer_claims`): "your pick" for
    the shopper's own item, "bought together" for a pairing, "best seller" for popularity;
    picked: the bundle holds an item the shopper chose (else no line may say "your pick")."""
    if bi.role == "anchor":
        return allowed_claims(["anchor"])
    kinds = ["locked"] if bi.locked else []
    ev = main_evidence(bi)
    if ev is not None:
        kinds.append(ev.kind)
    return allowed_claims(kinds, picked=picked)


def has_pick(bundle: Bundle) -> bool:
    return any(bi.role == "anchor" for bi in bundle.items)


def claims_of(bundle: Bundle) -> list[frozenset[str]]:
    picked = has_pick(bundle)
    return [item_claims(bi, picked) for bi in bundle.items]


def _item_stems(bi: BundleItem) -> frozenset[str]:
    return reason_stems(f"{bi.item.title} {item_fact(bi)}")


def _need_named(bi: BundleItem) -> str:
    """The need a role line names before its colon ("gardening: a planter for the patio")."""
    ev = main_evidence(bi)
    return ev.text.split(":", 1)[0] if ev is not None and ev.kind == "role" and ":" in ev.text else ""


_LEADING_LABEL = re.compile(r"^[^:.!?]{1,40}:\s")


def name_the_needs(raw: str, bundle: Bundle) -> str:
    """The model's "[n] reason" lines, each saying which need its item serves when its role
    names one and the reason does not ("[2] a banner to announce the birthday" ->
    "[2] children's birthday party: a banner to announce the birthday"), as the template's
    lines do (`kind_planner.role_for_need`): a bundle may serve two needs at once. Applied
    to the shopper's text after the checks, which read the model's own words."""
    out = []
    for line in raw.splitlines():
        slot = SLOT_LINE.match(line)
        n = int(slot.group(1)) if slot else 0
        if slot and 1 <= n <= len(bundle.items):
            label, reason = _need_named(bundle.items[n - 1]).strip(), slot.group(2).strip()
            # a reason that already leads with a label of its own ("a good fit: to keep dry") keeps it
            if label and reason and not stem_set(label) & stem_set(reason) and not _LEADING_LABEL.match(reason):
                line = f"[{n}] {label}: {reason}"
        out.append(line)
    return "\n".join(out)


def words_of(bundle: Bundle, need: str | None = None) -> list[LineWords]:
    """Per item, the words its line may and must use (`answer_words`): its own are its
    title's and fact's less those every item shares (the need's name in each role); the
    foreign ones name another item and not it, and are neither the shopper's (`need`,
    the bundle's need), nor a need a role names, nor plain words."""
    stems = [_item_stems(bi) for bi in bundle.items]
    shared = frozenset.intersection(*stems) if len(stems) > 1 else frozenset()
    said = stem_set(" ".join([need or "", bundle.need or "", *(_need_named(bi) for bi in bundle.items)]))
    out = []
    for i, bi in enumerate(bundle.items):
        others = frozenset().union(*(s for j, s in enumerate(stems) if j != i))
        ev = main_evidence(bi)
        role = bi.role != "anchor" and ev is not None and ev.kind == "role"
        out.append(LineWords(own=stems[i] - shared, foreign=others - stems[i] - said, role=role,
                             known=frozenset().union(*stems) | said | stem_set(" ".join(map(item_fact, bundle.items))),
                             fact_end=(tokens(item_fact(bi)) or [""])[-1]))
    return out


def item_lines(bundle: Bundle) -> str:
    lines = []
    for n, bi in enumerate(bundle.items, 1):
        fact = item_fact(bi)
        sep = " " if fact.startswith("(") else " — "
        lines.append(f"[{n}] {bi.item.title}{sep}{fact}")
    return "\n".join(lines)


def _need_text(bundle: Bundle, need: str | None) -> str:
    if need:
        return need
    anchors = [bi.item.title for bi in bundle.items if bi.role == "anchor"]
    if anchors:
        return "items that go with " + " and ".join(a.lower() for a in anchors)
    return bundle.need or "a few things that go well together"


def write_prompt(bundle: Bundle, need: str | None) -> str:
    return render("write", need=_need_text(bundle, need), items=item_lines(bundle))
