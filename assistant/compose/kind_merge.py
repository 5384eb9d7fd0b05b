"""The kinds a bundle is filled with, in order, from the needs a request matched: what the
bundle is for leads, who it is for follows, interests lead a present, cards and wrap the
shopper named lead, a kind two needs share comes once."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from assistant.compose.need_records import SETTING_GROUPS, holds_phrase, title_words
from assistant.compose.needs_match import Kind, Need, NeedMatch, telling_words
from assistant.understand.words import content_stems, stem_set

__all__ = ["interest_kind", "merge_kinds", "style_words_of"]

# What a bundle is for leads its kinds; who it is for comes last (see merge_kinds).
_LEAD = {"occasion": 0, "life_event": 0, "season": 0, "theme": 0, "interest": 1, "person": 2}
_LOOK_LAST = 3
_LIKED_GROUPS = frozenset({"interest", "theme"})
# An occasion matched this well was named ("a garden party, the kids love dinosaurs"): with
# no person named, it leads over the interests; matched more loosely, the interests lead.
NAMED_SETTING = 0.85


def merge_kinds(matches: Sequence[NeedMatch], interests: Iterable[str] = (), *,
                asked_for: str = "") -> list[Kind]:
    """The kinds to fill a bundle with, in the order to fill them.

    What the bundle is for leads, who it is for follows: an occasion, life event, season or
    theme comes first, then interests, then the person (but when a person is named, the
    bundle is their present and their interests lead: "my auntie who knits" is knitting
    things, whatever the birthday) ("a housewarming gift for my friend"
    is a housewarming bundle, not jewellery for a friend). Centrepieces come from the
    leading needs (the best match first), then a kind for each interest no matched need
    covers ("loves flamingos": flamingo things), then the needs' other kinds, lead by lead,
    taken in turns within a lead (each need's first kind, then each need's second...), so
    a short bundle still serves every need. A kind two needs share comes once: same name,
    or one's main synonym among the other's ("mug" and "coffee mug" are one mug). Filler
    kinds come last, and only those the shopper asked for (`asked_for`: the request's
    words) or those of a need that is all filler (gift wrapping).
    """
    chosen: list[Kind] = []

    def take(kind: Kind) -> None:
        if not any(_same_kind(kind, other) for other in chosen):
            chosen.append(kind)

    interests = list(interests)
    loved = set()
    setting = max((match.score for match in matches if match.need.group in SETTING_GROUPS), default=0.0)
    if any(match.need.group == "person" for match in matches) or (interests and setting < NAMED_SETTING):
        # a present for someone: what they love says more than the day; so it does for "she
        # bakes every weekend" (baking), which an occasion matched only loosely (a bake sale),
        # and for what the words name outright ("garden bits for mum's birthday": gardening)
        loved = {match.need.name for match in matches if match.need.group in _LIKED_GROUPS and (
            match.score >= setting or any(_interest_covered(interest, [match]) for interest in interests)
            or stem_set(match.part) & telling_words(match.need))}

    # a look beside something it can dress ("the red polka dot range, kitchen bits"): the
    # kitchen's kinds in polka dot, the look's own kinds (umbrellas, bags) last
    dressed = any(not match.need.look and match.need.group != "person" for match in matches)

    def lead(need: Need) -> int:
        if need.name in loved and not (need.look and dressed):
            return -1
        return _LOOK_LAST if need.look and dressed else _LEAD.get(need.group, 0)

    asked = stem_set(asked_for)
    for match in matches:  # cards or wrap the shopper named lead ("paper, tags, ribbon")
        if all(kind.filler for kind in match.need.kinds):
            for kind in match.need.kinds:
                if kind.fits_stems(asked):
                    take(kind.said_by(asked_for, only_said=False))
    needs = sorted((match.need for match in matches), key=lead)
    for need in needs:  # kinds the shopper named outright lead ("party bags for 10 kids")
        for kind in need.kinds:
            if not kind.filler and kind.fits_stems(asked):
                take(dataclasses.replace(kind.said_by(asked_for, only_said=False), asked=True,
                                         said_as=_synonym_said(kind, asked_for)))
    leading = [need for need in needs if lead(need) == lead(needs[0])] if needs else []
    for need in leading:
        for kind in need.kinds:
            if kind.centrepiece and not kind.filler:
                take(kind)
    for interest in interests:
        if not _interest_covered(interest, matches):
            take(interest_kind(interest))
    for rank in sorted({lead(need) for need in needs}):
        lists = [[kind for kind in need.kinds if not kind.filler]
                 for need in needs if lead(need) == rank]
        for position in range(max((len(kinds) for kinds in lists), default=0)):
            for kinds in lists:
                if position < len(kinds):
                    take(kinds[position])
    for need in needs:
        all_filler = all(kind.filler for kind in need.kinds)
        for kind in need.kinds:
            if kind.filler and (all_filler or kind.fits_stems(asked)):
                take(kind)
    return chosen


def style_words_of(matches: Sequence[NeedMatch]) -> tuple[str, ...]:
    """The matched needs' style words, best match first, each once."""
    return tuple(dict.fromkeys(word for match in matches for word in match.need.style_words))


def _same_kind(one: Kind, other: Kind) -> bool:
    if set(content_stems(one.name)) == set(content_stems(other.name)):
        return True
    one_synonyms = {stem_set(s) for s in one.synonyms}
    other_synonyms = {stem_set(s) for s in other.synonyms}
    return stem_set(one.synonyms[0]) in other_synonyms or stem_set(other.synonyms[0]) in one_synonyms


def _interest_covered(interest: str, matches: Sequence[NeedMatch]) -> bool:
    wanted = set(content_stems(interest))
    if not wanted:
        return True
    for match in matches:
        said = stem_set(" ".join((match.part, *match.need.phrases, *match.need.style_words)))
        if wanted <= said:
            return True
    return False


def interest_kind(interest: str) -> Kind:
    name = " ".join(interest.split())
    return Kind(name=name, synonyms=(name,), role=f"for their love of {name}", need=name)


def _synonym_said(kind: Kind, asked_for: str) -> str:
    """The longest of the kind's synonyms the shopper said, its words together and in order
    ("lunch bags": lunch bag; "lunch bags for school" says no school bag)."""
    said = title_words(asked_for)
    held = [synonym for synonym in kind.synonyms if (words := title_words(synonym)) and holds_phrase(said, words)]
    return max(held, key=lambda synonym: len(title_words(synonym)), default="")
