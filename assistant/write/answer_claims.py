"""What a reason may claim about its item, by the kind of evidence the item has.

A reason line that cites the right numbers can still say the wrong thing: "a best seller:
18 of 90 baskets" for an item that was bought with the shopper's pick in 18 of 90 baskets,
or "your pick" for an item the shopper never chose. Each claim below belongs to one kind of
evidence; a line may make a claim only when its own item has that kind. The reason check
(`answer_checks.check_reasons`) and the guided decoder (`answer_guide.SlotAnswerGuide`)
both use `claim_violation`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# claim class -> the wording that makes that claim (lower-cased line text)
CLAIMS: dict[str, re.Pattern[str]] = {
    "popular": re.compile(r"\b(?:best[\s-]?sell|bestsell|popular|top[\s-]?sell|most bought|best[\s-]?liked"
                          r"|most[\s-]?liked|favou?rite pick|crowd[\s-]?pleaser)"),
    "pairing": re.compile(r"\b(?:pair(?:s|ed|ing|ings)?\b|bought (?:with|alongside|together)|same basket"
                          r"|common match|alongside\b)"),
    "anchor": re.compile(r"\b(?:the one you (?:chose|picked)|your starting ?point|you chose|you picked)\b"
                         r"|^\W*your pick\b(?! in\b)"),
    "locked": re.compile(r"\b(?:kept|staying in|as (?:you )?asked)\b"),
    # "your pick" as the other end of a pairing: only when the shopper picked an item
    "pick": re.compile(r"\byour (?:pick|choice|item)\b"),
    # a role for the occasion ("the centrepiece", "for your guests"): only from the needs
    # book's role for this item, never invented for an item picked by co-purchase or style
    "role": re.compile(r"\b(?:centre ?piece|center ?piece|for (?:your|each|every|all the|the) guests?"
                       r"|per guest|one each)\b"),
}

# evidence kind -> the claim classes it supports
KIND_CLAIMS: dict[str, frozenset[str]] = {
    "association_rule": frozenset({"pairing"}),
    "co_purchase": frozenset({"pairing"}),
    "popular": frozenset({"popular"}),
    "anchor": frozenset({"anchor", "pick"}),
    "locked": frozenset({"locked"}),
    "role": frozenset({"role"}),
}


def allowed_claims(kinds: Iterable[str], *, picked: bool = False) -> frozenset[str]:
    """The claim classes an item with these evidence kinds (and roles) supports; picked:
    the bundle holds an item the shopper chose, so a reason may refer to "your pick"."""
    out: set[str] = {"pick"} if picked else set()
    for kind in kinds:
        out |= KIND_CLAIMS.get(kind, frozenset())
    return frozenset(out)


def claim_violation(reason: str, allowed: frozenset[str]) -> str | None:
    """The first claim class the reason makes without support, or None."""
    text = " ".join(re.sub(r"[-\u2010-\u2015]+", " ", reason.lower()).split())  # "best- seller"
    for name, pattern in CLAIMS.items():
        if name not in allowed and pattern.search(text):
            return name
    return None
