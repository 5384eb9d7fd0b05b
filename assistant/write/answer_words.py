"""Whose words a reason line uses: a line tells its own item's role, not another's.

The writer model sometimes gives one item the role of another ("a feeder to bring the birds
in" on a watering can, "a little something for the baby" on a soap dish) or says nothing of
a role it was given ("a potting shed" on a planter, "a good fit" on a kneeling pad whose
role is for the borders). Numbers and claims (`answer_claims`) cannot see this: the words
can. Per item, `LineWords` holds the stems that are its own (its title and its fact, less
what every item's fact shares, such as the need's name) and the stems that name the other
items and not it. A reason may not use another item's words, and an item with a role from
the needs book must be told with at least one word of its own; nor may a line name someone
or somewhere no fact names ("in Rachel's garden") or stop mid-phrase ("a gift for the").
Words that name no thing (`assistant.understand.words.PLAIN_WORDS`: "little", "set",
"guests") are no one's.
The reason check (`answer_checks`) uses `words_violation`; `item_facts.words_of` builds
the sets.
"""

from __future__ import annotations

import dataclasses
import re

from assistant.understand.words import (
    DANGLING_WORDS,
    FILLER,
    PLAIN_WORDS,
    STRANDED_WORDS,
    stem,
    tokens,
)

_CAPITALISED = re.compile(r"(?<=[\w,;:])\s+([A-Z][a-z]+)")


@dataclasses.dataclass(frozen=True)
class LineWords:
    """own: stems only this item's title or fact has; foreign: stems of the other items'
    titles and facts that are not this item's, the shopper's or plain; role: the item has
    a role for the need, so its line must say something of its own."""

    own: frozenset[str]
    foreign: frozenset[str]
    role: bool = False
    # every stem of the bundle's titles and facts and of the need: a name the line gives
    # that none of them holds was made up ("in Rachel's garden")
    known: frozenset[str] = frozenset()
    # the last word of the item's fact: a line may end on "in" or "with" where its fact does
    fact_end: str = ""


def reason_stems(reason: str) -> frozenset[str]:
    """The stems of a reason's words that could name a thing (no digits, fillers or plain words)."""
    return frozenset(stem(tok) for tok in tokens(reason)
                     if not tok.isdigit() and tok not in FILLER) - PLAIN_WORDS


def words_violation(reason: str, words: LineWords) -> str | None:
    """"borrowed" when the reason uses another item's words, "unsaid" when an item with a
    role gets a line with none of its own words, "invented" when it names someone or
    somewhere no fact holds (a capitalised word inside the line), "unfinished" when it
    stops on a word that needs another ("a gift for the", or for a role "a morning brew
    fit for" where the role does not end on "for"); None when the line is its item's."""
    said = reason_stems(reason)
    if said & words.foreign:
        return "borrowed"
    if words.role and words.own and not said & words.own:
        return "unsaid"
    if words.known and any(stem(name.lower()) not in words.known for name in _CAPITALISED.findall(reason)):
        return "invented"
    last = tokens(reason)[-1:]
    if last and (last[0] in DANGLING_WORDS or (
            words.role and last[0] in STRANDED_WORDS and last[0] != words.fact_end)):
        return "unfinished"
    return None
