"""From what the shopper said to the kinds of things a bundle for it takes.

The needs book finds the occasions, persons, interests and themes a request is about
(`NeedsBook.match`, by embeddings); here the matches become the kinds to fill, with two
rules about what the shopper asked for:

  * a match that only echoes words a stronger match explains is dropped ("baby shower" is
    not also a "brother"; `distinct_matches`);
  * a product the need names outright is what the shopper asked for ("some lunch bags",
    "christmas decorations": composed the usual way, with a choice of designs) unless an
    occasion, person or theme is named too ("a picnic hamper for two", "candles for my
    mum"): then that product is a kind of its own, filled first; a word that is a matched
    need's look is that need, not a product ("a kitten": a cat lover's, though titles
    say "Kittens Design").
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from assistant.compose.kind_merge import interest_kind
from assistant.compose.kind_planner import ASKED_NEED, KindPlanner
from assistant.compose.listed_things import (
    CONTAINERS,
    GENERIC_WORDS,
    LONGEST_RUN,
    ends_in_a_kind,
    names_a_thing,
    reads_like_a_product,
    things_in_a_run,
    unsold,
)
from assistant.compose.matching import CatalogMatcher
from assistant.compose.need_records import SETTING_GROUPS
from assistant.compose.needs_book import NeedsBook
from assistant.compose.needs_match import Embed, Kind, Need, NeedMatch, distinct_matches, names_said
from assistant.understand.amounts import tables_in, without_money
from assistant.understand.audience import CHILDRENS_TITLE_WORDS, for_a_couple, for_a_grown_up
from assistant.understand.colours import colours_in
from assistant.understand.exclusions import strip_exclusions
from assistant.understand.need_text import (
    GENERIC_HEADS,
    TASTE_WORDS,
    containers_named,
    listed_wants,
    need_head,
    without_liking,
    words_to_look_for,
)
from assistant.understand.person_and_interests import recipient_in
from assistant.understand.words import content_stems, stem, stem_set


@dataclasses.dataclass(frozen=True)
class KindPlan:
    """The kinds to fill (in order), the needs' style words, the leading kinds this
    catalog has nothing for (said plainly to the shopper), title words of other needs, and
    the colours the shopper asked for."""

    kinds: tuple[Kind, ...] = ()
    style_words: tuple[str, ...] = ()
    lacking: tuple[str, ...] = ()
    foreign_marks: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    tables: int | None = None  # the tables the shopper counted ("10 tables"): per-table kinds dress them

    @property
    def asked_for(self) -> tuple[str, ...]:
        """The things the shopper listed that lead the plan, in their words ("bowls", "a toy")."""
        return tuple(dict.fromkeys(kind.said_as for kind in self.kinds if kind.said_as))


def kinds_for_request(book: NeedsBook, planner: KindPlanner, matcher: CatalogMatcher, embed: Embed,
                      text: str, need: str | None, size: int = 4, guests: int | None = None) -> KindPlan:
    """The kind plan for `text`; no kinds when the book knows nothing of the request.
    `guests`: the party size the shopper gave, if any."""
    matches = _no_one_persons_present(_named_first(book.match(text, embed), text, book), text, guests)
    if words_to_look_for(strip_exclusions(text)) and not names_said(matches, text, book.needs):
        return KindPlan()  # "something gingham and something star": words to find, no occasion
    said_by_needs = stem_set(" ".join(phrase for m in matches for phrase in m.need.phrases))
    # things listed in the words, less what was ruled out ("no candles") and less the need's
    # own name ("a garden party bundle"); "fresh salmon" is listed but no word of the shop's
    # (a redacted "[phone]" or "[email]" is no thing to buy)
    listed = [thing for want in listed_wants(without_money(strip_exclusions(text)), longest=LONGEST_RUN)
              if not re.search(r"[\d\[\]]", want) for thing in things_in_a_run(want, matcher)
              if not set(content_stems(thing)) <= said_by_needs | GENERIC_WORDS and names_a_thing(thing)]
    # what someone loves is an interest, served by its own kinds, not a thing asked for by name
    # ("she loves baking and her garden": no "garden" line filled by a garden-named ornament)
    loved = recipient_in(text).interests
    loved_stems = {frozenset(content_stems(interest)) for interest in loved}
    asked = [want for want in listed if reads_like_a_product(want, matcher)
             and ends_in_a_kind(want, matcher, book.thing_words) and frozenset(content_stems(want)) not in loved_stems]
    matches = _a_loved_motif_is_itself(_not_a_fan_of_a_list(matches, asked, loved), loved, planner)
    if (listed and not asked and all(unsold(want, matcher) for want in listed)
            and not _names_kinds(listed, matches) and not _named_outright(matches)
            and not any(stem_set(want) & said_by_needs for want in listed)):
        return KindPlan()  # the shopper listed things this shop does not sell: say so, no stand-ins
    if not matches and len(asked) < 2:
        return KindPlan()
    interests = list(loved)
    head = need_head(need) if need else None
    styled = stem_set(" ".join(word for m in matches for word in m.need.style_words))
    if (head and head not in GENERIC_HEADS | CONTAINERS and head not in said_by_needs and len(asked) < 2
            and stem(head) not in styled and reads_like_a_product(need or "", matcher)):
        matches = names_said(matches, text, book.needs) + _counted_for_guests(matches, need or "", guests, book)
        if not matches:
            return KindPlan()
        interests.insert(0, head)
    # what the shopper names outright, less what they rule out or say someone loves
    named = without_liking(strip_exclusions(text))
    wanted = _per_guest_as_elsewhere(_nearest_sold(_not_the_container(
        _asked_first(book.kinds_for(matches, interests, asked_for=named) if matches else [], asked), text),
        planner, book), book)
    kinds = _a_loved_motif_leads(planner.fillable(wanted), planner, matches)
    lacking = tuple(kind.name for kind in wanted[:size] if kind not in kinds and not kind.filler)
    marks = _marks_of_other_needs(book, matches, text)
    if for_a_grown_up(text):  # "my nan who loves gardening": gardening gloves, not children's ones
        marks = (*marks, *CHILDRENS_TITLE_WORDS)
    return KindPlan(tuple(kinds), book.style_words(matches), lacking, marks, colours_in(text), tables_in(text))


def only_the_things(need: str, things: Sequence[str]) -> bool:
    """Does the need say nothing beyond the things listed ("mug teapot cake stand")?"""
    said = set(content_stems(" ".join(things))) | GENERIC_WORDS
    return bool(things) and set(content_stems(need)) <= said


def _not_the_container(kinds: list[Kind], text: str) -> list[Kind]:
    """The kinds less what the wanted things go in (rule "containers": stocking fillers are
    no stocking, party bag fillers no party bag)."""
    held_in = [stem_set(container) for container in containers_named(text)]
    return [kind for kind in kinds if not any(kind.fits_stems(stems) for stems in held_in)] if held_in else kinds


def _marks_of_other_needs(book: NeedsBook, matches: list[NeedMatch], text: str) -> tuple[str, ...]:
    """The marks of needs this request is not about ("christmas" for a halloween party):
    not those of a matched need, nor a word the shopper used ("christmas crackers")."""
    own = stem_set(text) | stem_set(" ".join(mark for match in matches for mark in match.need.marks))
    return tuple(dict.fromkeys(mark for need in book.needs for mark in need.marks if not stem_set(mark) & own))


def _named_first(found: list[NeedMatch], text: str, book: NeedsBook) -> list[NeedMatch]:
    """The distinct matches, a need the words name outright first ("garden party for 12 ...
    want the table to look nice" is a garden party before it is celebration tables), and
    never dropped as an echo of a need that only scored higher on the same words."""
    matches = distinct_matches(found)
    named = names_said(found, text, book.needs)
    matches += [match for match in named if match not in matches]
    return sorted(matches, key=lambda match: match not in named)


def _no_one_persons_present(matches: list[NeedMatch], text: str, guests: int | None) -> list[NeedMatch]:
    """The matches less the persons when the bundle is no present for one person: the
    shopper is hosting (a head count and an occasion that is no present: "the tables for my
    sister's wedding reception, 10 tables" is tea lights for ten tables, not a necklace and
    ten wash bags; "my son's party for 8 kids" is the party's things), or the present is for
    a couple (not a partner's necklace beside the wedding present). Hosting also leaves out
    the needs that are a present (`Need.present`: "a birthday party for my daughter, 8 kids
    coming" takes no candle as the main present)."""
    hosting = bool(guests and guests >= 2 and any(
        m.need.group in SETTING_GROUPS and not m.need.present and not all(kind.filler for kind in m.need.kinds)
        for m in matches))
    if hosting:
        return [m for m in matches if m.need.group != "person" and not m.need.present]
    if for_a_couple(text):
        return [m for m in matches if m.need.group != "person"]
    return matches


def _not_a_fan_of_a_list(matches: list[NeedMatch], asked: list[str], interests: tuple[str, ...]) -> list[NeedMatch]:
    """An interest or theme read from one thing in a list ("crackers, napkins, candles" for a
    dinner is not a candle lover, nor a retro kitchen) is that thing, which leads anyway;
    a thing the person is said to love ("my sister who likes candles") stays their interest."""
    if len(asked) < 2:
        return matches
    things = {stem_set(want) for want in asked} - {stem_set(interest) for interest in interests}
    return [m for m in matches if not (m.need.group in {"interest", "theme"} and stem_set(m.part) in things)]


def _a_loved_motif_is_itself(matches: list[NeedMatch], interests: tuple[str, ...],
                             planner: KindPlanner) -> list[NeedMatch]:
    """Rule "a loved motif is itself": a thing the person loves that this shop sells by name
    ("obsessed with owls": Owl Doorstop, Jumbo Bag Owls) is no interest or theme the book
    reads near it but never says (a bird lover's feeders and bird houses; "loves
    strawberries" is no jam maker): the match goes and the motif is filled as its own kind.
    A need that says the motif or another word of the part stays: "into her garden" is a
    gardener's, "pretty things for the kitchen" a kitchen's."""
    motifs = [set(content_stems(i)) for i in interests
              if content_stems(i) and not set(content_stems(i)) & TASTE_WORDS and planner.fillable([interest_kind(i)])]
    kept = []
    for m in matches:
        part = set(content_stems(m.part))
        said = _said_by(m.need)
        read_from_a_motif = m.need.group in {"interest", "theme"} and any(
            motif <= part and not _says(said, motif) for motif in motifs)
        if not read_from_a_motif or _says_any(said, part - {s for motif in motifs for s in motif}):
            kept.append(m)
    return kept


def _said_by(need: Need) -> frozenset[str]:
    # not its style words: an owl is a bird lover's look, not what a bird lover is
    return frozenset(content_stems(" ".join((need.name, *need.phrases, *need.marks))))


def _says(said: frozenset[str], stems: set[str]) -> bool:
    """Does the need say every one of `stems` ("garden" in "gardening" too)?"""
    return all(any(word.startswith(stem_) for word in said) for stem_ in stems)


def _says_any(said: frozenset[str], stems: set[str]) -> bool:
    return any(_says(said, {stem_}) for stem_ in stems)


def _a_loved_motif_leads(kinds: list[Kind], planner: KindPlanner, matches: list[NeedMatch]) -> list[Kind]:
    """A present for someone who loves a motif the book has no need for leads with it, two
    things when the shop has them ("my sister loves strawberries": a strawberry bag and a
    strawberry mug, then her necklace), as a loved need leads a person's present."""
    if not any(m.need.group == "person" for m in matches):
        return kinds
    motifs = [k for k in kinds if k == interest_kind(k.name)]
    lead = [each for kind in motifs for each in planner.motif_kinds(kind)]
    return lead + [k for k in kinds if k not in motifs]


def _counted_for_guests(matches: list[NeedMatch], need: str, guests: int | None, book: NeedsBook) -> list[NeedMatch]:
    """With a head count, a product a need buys per guest keeps that need ("party bags for
    10 kids" is a children's party's bags, ten of them, and what goes in them) though the
    need's name is not said; without one it is a product search ("some party bags")."""
    if not guests or guests < 2:
        return []
    wanted = stem_set(need)
    named = names_said(matches, need, book.needs)
    return [m for m in matches if m not in named
            and any(kind.per_guest and kind.fits_stems(wanted) for kind in m.need.kinds)]


def _asked_first(kinds: list[Kind], asked: list[str]) -> list[Kind]:
    """The things the shopper listed ("bunting, lanterns and paper plates") lead, in the
    order said: a listed thing a need's kind covers takes that kind (its role, its
    quantity per guest); one no kind covers becomes a kind of its own."""
    lead: list[Kind] = []
    for want in asked:
        # "pretty cups" are cups: a word of taste names no other thing
        words = stem_set(want) - TASTE_WORDS
        kind = next((k for k in kinds if all(k.name != done.name for done in lead) and k.fits_stems(words)), None)
        if kind is not None:
            kind = dataclasses.replace(kind.said_by(want), asked=True, said_as=want)  # a dog bowl, not a collar
        else:
            # "a bowl" for a new kitten: the need's kind with a fuller phrase for it ("cat bowl")
            fuller = [(k, tuple(synonym for synonym in k.synonyms if words and words < stem_set(synonym)))
                      for k in kinds if all(k.name != done.name for done in lead)]
            fuller = [(k, held) for k, held in fuller if held]
            if fuller:
                kind = dataclasses.replace(fuller[0][0], synonyms=fuller[0][1], asked=True, said_as=want)
            else:
                kind = Kind(name=want, synonyms=(want,), role=f"the {want} you asked for", need=ASKED_NEED,
                            asked=True, said_as=want)
        if all(kind.name != k.name for k in lead):
            lead.append(kind)
    return lead + [k for k in kinds if all(k.name != done.name for done in lead)]


def _nearest_sold(kinds: list[Kind], planner: KindPlanner, book: NeedsBook) -> list[Kind]:
    """A listed thing the shop has in no title with all its words ("pastel napkins") is
    looked for by its last word ("napkins"), minus what the book says that word is not
    ("napkin ring"): the shopper gets the nearest thing there is, and the line says only
    what it is."""
    nearest = []
    for kind in kinds:
        words = kind.name.split()
        if kind.need == ASKED_NEED and len(words) > 1 and not planner.fillable([kind]):
            head = stem_set(words[-1])
            avoid = tuple(dict.fromkeys(phrase for need in book.needs for other in need.kinds
                                        if head in other.synonym_stems for phrase in other.avoid))
            kind = dataclasses.replace(kind, name=words[-1], synonyms=(words[-1],), avoid=avoid,
                                       role=f"the {words[-1]} you asked for")
        nearest.append(kind)
    return nearest


def _per_guest_as_elsewhere(kinds: list[Kind], book: NeedsBook) -> list[Kind]:
    """A thing the book buys per guest for several needs is bought per guest for every
    need: paper plates for a summer do as for a tea party and a picnic. What one need alone
    buys per guest stays that need's way: soft toys are a stocking filler each, but a baby
    shower's cuddly toy is one present. A thing the shopper listed with a head count is per
    guest when any need buys it so ("aprons ... for my 3 kids"; the listed words hold a
    per-guest synonym whole, or are its head word alone: "plates" for "paper plate")."""
    pairs = [(need.name, stems) for need in book.needs for kind in need.kinds if kind.per_guest
             for stems in kind.synonym_stems]
    whole, any_whole = _per_guest_in_several(pairs), {stems for _, stems in pairs}
    heads = {content_stems(synonym)[-1] for need in book.needs for kind in need.kinds if kind.per_guest
             for synonym in kind.synonyms if content_stems(synonym)}
    fixed = []
    for kind in kinds:
        if kind.per_guest or kind.per_table or _for_one_person(kind, book):
            fixed.append(kind)  # a present for one person is one of each, whatever the party
            continue
        listed = kind.need == ASKED_NEED
        head = _head(kind.name)
        counted = [synonym for synonym in kind.synonyms if (stems := stem_set(synonym)) and (
                   stems in whole or (listed and (
                       (len(stems) == 1 and head in heads) or frozenset({head}) in any_whole
                       or any(per_guest <= stems and len(per_guest) > 1 for per_guest in any_whole))))]
        if counted:
            # only what is per guest elsewhere: a tumbler each, but one jug
            only = () if len(counted) == len(kind.synonyms) else tuple(counted)
            kind = dataclasses.replace(kind, per_guest=1, per_guest_only=only)
        fixed.append(kind)
    return fixed


def _per_guest_in_several(pairs: Iterable[tuple[str, frozenset[str]]]) -> set[frozenset[str]]:
    """The synonyms (of (need name, synonym stems) pairs) more than one need buys per guest."""
    needs_of: dict[frozenset[str], set[str]] = {}
    for need, thing in pairs:
        needs_of.setdefault(thing, set()).add(need)
    return {thing for thing, needs in needs_of.items() if len(needs) > 1}


def _for_one_person(kind: Kind, book: NeedsBook) -> bool:
    try:
        return book.need(kind.need).group == "person"
    except KeyError:
        return False


def _head(phrase: str) -> str | None:
    words = content_stems(phrase)
    return words[-1] if words else None


def _names_kinds(listed: list[str], matches: list[NeedMatch]) -> bool:
    """Does some listed phrase name a kind of a matched need ("table linen" for a dinner)?"""
    return any(kind.fits_stems(stem_set(want)) for want in listed for m in matches for kind in m.need.kinds)


# A need matched this well was named outright ("a total candle fiend", "my daughter's
# teacher"): its kinds serve the request whatever else the shopper listed ("restock me").
# Groceries for a dinner ("fresh salmon and lemons for tonight's dinner") match 0.69.
_NAMED_OUTRIGHT = 0.85


def _named_outright(matches: list[NeedMatch]) -> bool:
    return any(match.score >= _NAMED_OUTRIGHT for match in matches)


def guests_first(kinds: Sequence[Kind], guests: int | None) -> tuple[Kind, ...]:
    """With a head count, what scales with it comes right after the kinds the shopper named
    and the centrepieces: "a garden party for 12" is plates and cups for twelve before a
    second kind of decoration (a short bundle would otherwise leave the guests out)."""
    if not guests or guests < 2:
        return tuple(kinds)
    first = [k for k in kinds if k.asked or k.centrepiece]
    per_guest = [k for k in kinds if k.per_guest and k not in first]
    return tuple(first + per_guest + [k for k in kinds if k not in first and k not in per_guest])
