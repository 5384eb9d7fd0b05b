"""The needs book's records: a `Need` (an occasion, a person, an interest, ...) and the
`Kind`s of things that serve it, with the rules for when a product title or a shopper's
words name a kind. Matching a request to needs is `needs_match`'s job."""

from __future__ import annotations

import dataclasses
import functools

from assistant.understand.words import stem, stem_set, tokens

__all__ = ["SETTING_GROUPS", "Kind", "Need", "title_words"]

# What a bundle can be for, as a place and a time rather than a person or a taste.
SETTING_GROUPS = frozenset({"occasion", "life_event", "season"})


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of thing that serves a need: what to look for, and why it is there.

    `synonyms` are the words a product title uses for it; a title fits a synonym when it
    has all of the synonym's words (plural or singular, any order: "Lunch Bag Black Skull"
    is a skull bag), but not as all the product comes "with" ("Jigsaw Tree with Watering
    Can" is no watering can), nor as "B of A" for "A B" ("Cup of Tea" is no tea cup), nor
    as what a container holds ("Napkin Box" is no napkins), and not when it has all the
    words of one of `avoid` (a "saucer" t-light holder is no saucer). A shopper's words
    fit by all of a synonym's words (`fits_stems`). `role` is shown to the shopper as the
    reason for the item. `per_guest`: how many pieces each guest needs (None: one for the
    bundle); `per_table`: how many pieces each table needs (a t-light holder on every
    table: the tables the shopper counted, else one table for every few guests); `pieces`:
    how many the bundle takes when no party size says otherwise (a pair of glasses for a
    couple). A filler kind (cards, wrap, small sundries) only goes in when
    the request asks for it or its need is all about such things.
    """

    name: str
    synonyms: tuple[str, ...]
    role: str
    need: str
    per_guest: int | None = None
    centrepiece: bool = False
    filler: bool = False
    avoid: tuple[str, ...] = ()
    asked: bool = False  # the shopper named it ("party bags for 10 kids"): not from the file
    said_as: str = ""  # the shopper's words for it when they listed it ("bowls" for a pet bowl)
    # the synonyms `per_guest` holds for when only some do (a glass each, one jug): () = all
    per_guest_only: tuple[str, ...] = ()
    # pieces the bundle takes whatever the party (a pair of glasses for a couple): None = one
    pieces: int | None = None
    # pieces for each table (a t-light holder on every table), not for each guest
    per_table: int | None = None

    def per_guest_for(self, title: str) -> int | None:
        """Pieces per guest of this product: `per_guest`, unless the kind is per guest only
        for some of its synonyms and the title fits none of them (one jug, a glass each)."""
        if not self.per_guest or not self.per_guest_only:
            return self.per_guest
        stems = stem_set(title)
        return self.per_guest if any(stem_set(s) <= stems for s in self.per_guest_only) else None

    def fits_title(self, title: str) -> bool:
        """Is a product with this title one of this kind? ("Pink Regency Teacup and
        Saucer" fits "cups and saucers"; "T-Light Holder Silver Saucer" does not.)"""
        return self.fits_title_words(title_words(title), stem_set(title))

    def fits_title_words(self, words: tuple[str, ...], stems: frozenset[str]) -> bool:
        """`fits_title` for a title's `title_words` and `words.stem_set`, computed once per
        catalog item."""
        if any(phrase <= stems for phrase in self._avoid_stems):
            return False
        return any(_names_it(words, stems, phrase) for phrase in self._synonym_words)

    def fits_stems(self, said: frozenset[str]) -> bool:
        """Do a shopper's words (`words.stem_set`) name this kind: all of a synonym's words,
        in any order, and none of an avoided phrase's?"""
        if any(phrase <= said for phrase in self._avoid_stems):
            return False
        return any(phrase <= said for phrase in self._synonym_stems)

    def said_by(self, text: str, *, only_said: bool = True) -> Kind:
        """This kind narrowed to the synonyms the words say (together, in order), the most
        specific of them: "a dog bowl" is the kind's dog bowls, not its collars; "thank-you
        cards" its thank you cards, not every card; "gin bits and a nice glass" no gin
        glass. Unchanged when the words say none. With `only_said` False, narrowed only
        when a said synonym is a more specific one of another ("thank you card", "card"):
        "cups, plates and napkins" keep the paper plates beside the napkins."""
        said = title_words(text)
        held = [synonym for synonym in self.synonyms
                if (words := title_words(synonym)) and holds_phrase(said, words)]
        specific = [synonym for synonym in held if not any(stem_set(synonym) < stem_set(other) for other in held)]
        if not held or (not only_said and len(specific) == len(held)):
            return self
        return dataclasses.replace(self, synonyms=tuple(specific))

    @functools.cached_property
    def _synonym_words(self) -> tuple[tuple[str, ...], ...]:
        return tuple(words for phrase in self.synonyms if (words := title_words(phrase)))

    @property
    def synonym_stems(self) -> tuple[frozenset[str], ...]:
        """Each synonym's stems (what a title must hold to fit it)."""
        return self._synonym_stems

    @functools.cached_property
    def _synonym_stems(self) -> tuple[frozenset[str], ...]:
        return tuple(stems for phrase in self.synonyms if (stems := stem_set(phrase)))

    @functools.cached_property
    def _avoid_stems(self) -> tuple[frozenset[str], ...]:
        return tuple(stems for phrase in self.avoid if (stems := stem_set(phrase)))


@dataclasses.dataclass(frozen=True)
class Need:
    """An occasion, life event, season, person, interest or theme, and what serves it.

    `examples` are short phrasings a shopper might use; with the name they are what the
    request is matched against. `style_words` are title words that give an item the need's
    look (a cat lover's mug has a cat on it); the composer may prefer items with them.
    `marks` are title words that tie an item to this need alone ("christmas"): a bundle
    for another need avoids items that carry them. A `look` (a theme that is a pattern or a
    style: polka dot, vintage) dresses what another need takes: matched beside an occasion,
    a place or an interest, its style words pick the items and its own kinds come last.
    A `present` (an occasion or life event that is a gift for one person or one couple: a
    birthday present, a wedding present) is left out when the shopper hosts a head count
    ("a birthday party for my daughter, 8 kids coming" is the party's things, not a candle
    as the main present).
    """

    name: str
    group: str
    examples: tuple[str, ...]
    kinds: tuple[Kind, ...]
    style_words: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()
    look: bool = False
    present: bool = False

    @property
    def phrases(self) -> tuple[str, ...]:
        return (self.name, *self.examples)


def title_words(text: str) -> tuple[str, ...]:
    """A title's word stems in order, hyphenated words in their parts ("T-Light" -> t, light)."""
    return tuple(stem(part) for token in tokens(text) for part in token.split("-") if part)


def _names_it(words: tuple[str, ...], stems: frozenset[str], phrase: tuple[str, ...]) -> bool:
    """Does a title (its `title_words` and stems) name the thing `phrase` says? All the
    phrase's words, not as all that the product comes "with", a pair not as "B of A"
    ("Cup of Tea" on a kneeling pad is no tea cup), and not as what a container holds
    ("Napkin Box")."""
    if not set(phrase) <= stems:
        return False
    if "with" in words and set(words[len(words) - words[::-1].index("with"):]) == set(phrase):
        return False
    reversed_pair = len(phrase) == 2 and holds_phrase(words, (phrase[1], "of", phrase[0]))
    if reversed_pair and not holds_phrase(words, phrase):
        return False
    return not _holds_it(words, phrase)


# What holds or trims a thing rather than being it: "Love Heart Napkin Box" is a box, not
# napkins; "Napkin Charms" dress napkins, "Bag Charm" hangs on a bag.
_CONTAINER_WORDS = frozenset({"box", "holder", "stand", "rack", "ring", "case", "tin", "jar", "tray", "dispenser",
                              "hanger", "hook", "charm"})


def _holds_it(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Is every mention of the phrase's last word followed by a container word the phrase
    lacks ("Napkin Box", "Umbrella Stand", "Jam Jar" for "napkin", "umbrella", "jam")?"""
    last = phrase[-1]
    places = [i for i, word in enumerate(words) if word == last]
    return bool(places) and all(i + 1 < len(words) and words[i + 1] in _CONTAINER_WORDS
                                and words[i + 1] not in phrase for i in places)


def holds_phrase(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Are `phrase`'s words together and in order in `words`?"""
    size = len(phrase)
    return any(words[start:start + size] == phrase for start in range(len(words) - size + 1))
