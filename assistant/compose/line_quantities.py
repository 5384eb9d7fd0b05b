"""How many of an item a bundle line buys, and the role its reason states.

A per-guest kind is bought by the set ("Set/6 Paper Cups": two sets for twelve guests), a
per-table kind once for each table (those the shopper counted, else one table for every
six guests), a kind with `pieces` that many whatever the party (a pair of glasses); the
line's first reason is the kind's role for its need, with the quantity's reason.
"""

from __future__ import annotations

import math
import re

from assistant.compose.needs_match import Kind
from assistant.understand.words import NUMBER_WORDS, number_words_pattern, stem_set
from retrieval.records import Evidence

# "Set of 6", "Set/4", "S/12", "Set 20 Napkins", "pack of 12", "Pack of Six", "box of 24", "6 piece",
# "12 pc", "12 Coloured Party Balloons": how many pieces one unit of a title holds (a
# per-guest kind is bought by the set, not piece by piece; a number word only after "of":
# "Sleeping Bag Three Season" is one bag). A leading number that is a size or a part
# ("3 Tier Cake Stand", "5 Hook Hanger") is no count.
_COUNT_WORDS = number_words_pattern(range(2, 101))
_PACK = re.compile(r"\b(?:set|pack|box|bag|tub|tube|tin|s(?=\s*/))\s*(?:of\s*)?/?\s*(\d{1,3})\b(?!'s)"
                   rf"|\b(?:set|pack|box|bag|tub|tube|tin)\s+of\s+({_COUNT_WORDS})\b"
                   r"|\b(\d{1,3})\s*(?:pc|pcs|piece|pieces)\b"
                   r"|^(\d{1,3})\s+(?!tier|hook|drawer|strand|wick|layer|shelf|door|cm\b|inch)[a-z]",
                   re.IGNORECASE)
ROLE_EVIDENCE_KIND = "role"
ASKED_NEED = "asked"  # `Kind.need` of a thing the shopper listed that no need's kind covers


def pieces_per_unit(title: str) -> int:
    """Pieces in one unit of this product, from its title (1 when it says none)."""
    match = _PACK.search(title.strip())
    if not match:
        return 1
    count = next(group for group in match.groups() if group)
    return max(1, int(count) if count.isdigit() else NUMBER_WORDS[count.casefold()])


# A table seats about this many: with a head count and no tables counted, a per-table
# kind is bought for one table in every GUESTS_PER_TABLE guests (12 of us: two tables).
GUESTS_PER_TABLE = 6


def tables_for(guests: int | None, tables: int | None) -> int | None:
    """Tables to dress: those the shopper counted, else one for every few guests."""
    if tables:
        return tables
    return max(1, math.ceil(guests / GUESTS_PER_TABLE)) if guests else None


def quantity_for(kind: Kind, guests: int | None, title: str, tables: int | None = None) -> int:
    """Units to buy of an item of `kind` for `guests`: enough sets for a piece or more each
    when the kind is per guest, enough for every table when it is per table (`tables`
    counted by the shopper, else from the guests), else enough for the kind's `pieces` (a
    pair of glasses in a wedding present), else 1."""
    per_guest = kind.per_guest_for(title)
    if per_guest and guests:
        return max(1, math.ceil(guests * per_guest / pieces_per_unit(title)))
    if kind.per_table and (dressed := tables_for(guests, tables)):
        return max(1, math.ceil(dressed * kind.per_table / pieces_per_unit(title)))
    if kind.pieces:
        return max(1, math.ceil(kind.pieces / pieces_per_unit(title)))
    return 1


def role_for_need(kind: Kind) -> str:
    """The kind's role, saying which need it serves when the role's words do not ("tea
    party: a teapot to pour for everyone"; "the centrepiece for the tea party" stays as it
    is). A bundle may serve two needs at once (a sister's wedding tables, a gardener's
    retirement): each line says which one it is for."""
    need = kind.need.split(" or ")[0].strip()  # "nan or grandma": the first name the book gives
    if kind.need == ASKED_NEED or not need or stem_set(need) & stem_set(kind.role):
        return kind.role
    return f"{need}: {kind.role}"


def role_evidence(kind: Kind, quantity: int, guests: int | None, title: str,
                  tables: int | None = None) -> Evidence:
    """The item's role for the need, as the shopper reads it, with the quantity's reason."""
    role = role_for_need(kind)
    if kind.per_table and not kind.per_guest_for(title) and (dressed := tables_for(guests, tables)):
        where = "1 table" if dressed == 1 else f"{dressed} tables"
        text = f"{role} ({quantity} for {where})" if quantity > 1 else f"{role} (for {where})"
        return Evidence(ROLE_EVIDENCE_KIND, text, {"quantity": float(quantity), "tables": float(dressed)})
    if not kind.per_guest_for(title) or not guests:  # also the jug of "a jug and a glass each"
        return Evidence(ROLE_EVIDENCE_KIND, role, {})
    if quantity > 1:
        text = f"{role} ({quantity} for {guests} guests)"
        return Evidence(ROLE_EVIDENCE_KIND, text, {"quantity": float(quantity), "guests": float(guests)})
    return Evidence(ROLE_EVIDENCE_KIND, f"{role} (one set for {guests} guests)", {"guests": float(guests)})
