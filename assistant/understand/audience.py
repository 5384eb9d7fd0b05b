"""Who a thing is made for, in English: a grown-up recipient, and a children's item.

A present for "my nan who loves gardening" should not hold "Childrens Garden Gloves": the
kind (gloves for a gardener) fits, the audience does not. Two named rules decide it, each
with examples in `assistant/understand/rules.py` (shopper side) and
`tests/test_audience.py` (title side):

* "a grown-up recipient": the bundle is for a relation who is an adult ("my nan", "a
  colleague", "my boss", "my dad"), and nothing in the words brings a child into it ("my
  kid's bake sale", "a 6 year old", "for the grandkids"). A relation that may be a child
  or an adult ("my sister", "my nephew", "my friend") says nothing either way.
* "a children's item": the title says it is for children ("Childrens Garden Gloves",
  "Kids Apron", "Children's Cutlery Set", "Baby Gift Set").
"""

from __future__ import annotations

import re

from assistant.understand.person_and_interests import recipient_in

# Relations that are grown-ups whatever the shopper's age: a parent, a grandparent, a partner,
# someone from work. Siblings, cousins, nieces, nephews and friends may be either.
ADULT_RELATIONS = frozenset({
    "mum", "mom", "mummy", "mommy", "mam", "mother", "mother-in-law", "mum-in-law", "step-mum",
    "dad", "daddy", "father", "father-in-law", "step-dad", "old man", "parents", "in-laws",
    "nan", "nana", "nanna", "nannie", "gran", "granny", "grandma", "grandmother", "grandad",
    "granddad", "grandpa", "grandfather", "grandparents", "great-grandma", "great-grandad",
    "sister-in-law", "brother-in-law", "son-in-law", "daughter-in-law", "aunt", "auntie", "aunty",
    "uncle", "godmother", "godfather", "wife", "husband", "partner", "boyfriend", "girlfriend",
    "fiance", "fiancee", "fiancé", "fiancée", "other half", "better half", "neighbour", "neighbours",
    "neighbor", "host", "hostess", "hosts", "colleague", "colleagues", "co-worker", "workmate", "boss",
    "manager", "line manager", "team", "teacher", "teachers", "teaching assistant", "head teacher",
    "nursery teacher", "nurse", "doctor", "carer", "childminder", "new mum", "new mom", "new mother",
    "new dad", "adult",
})

_CHILD_CUES = re.compile(
    r"\b(?:kids?|kid's|kiddies|kiddos?|child|children|childrens|children's|child's|baby|babies|toddlers?|"
    r"grandkids|grandchild(?:ren)?|grandsons?|granddaughters?|little ones?|"
    r"(?:[1-9]|1[0-2]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)[\s-]?(?:year|yr)s?[\s-]?olds?|"
    r"party bags?|school (?:kids|children|friends))\b")

# Title words that make an item a children's one; also the marks a grown-up's bundle avoids.
CHILDRENS_TITLE_WORDS = ("children", "childrens", "child's", "childs", "kids", "kid", "kiddies", "baby", "babies",
                         "toddler", "toddlers", "infant", "nursery")
_CHILDRENS_TITLE = re.compile(
    r"\b(?:child(?:ren)?'?s?|childs|kids?'?|kiddies|baby|babies|toddlers?|infants?|nursery)\b")


def _said(text: str) -> str:
    return " ".join((text or "").replace("’", "'").lower().split())


def for_a_grown_up(text: str) -> bool:
    """Rule "a grown-up recipient".
    "present for my nan who loves gardening" -> True; "a leaving gift for a colleague"
    -> True; "something for my sister" -> False (may be a child); "stuff for my nan to
    give the grandkids" -> False; "a tea party for six" -> False (no recipient)."""
    said = _said(text)
    person = recipient_in(said).person
    if person is None or person not in ADULT_RELATIONS:
        return False
    return _CHILD_CUES.search(said) is None


def is_childrens_item(title: str) -> bool:
    """Rule "a children's item": the title says it is made for children or babies.
    "Childrens Garden Gloves" -> True; "Kids Apron" -> True; "Baby Gift Set" -> True;
    "Garden Gloves" -> False; "Kidstone Mug" -> False."""
    return _CHILDRENS_TITLE.search(_said(title)) is not None


# Two people a present is for together ("a couple who love all things vintage", "the happy
# couple"); "a couple of mugs", "a couple more ideas" are counts, so a bare "a couple" is
# two people only when what follows says who they are.
_COUPLE = re.compile(
    r"\b(?:the|happy|lovely|young|new|married|engaged|retired|older|elderly|sweet)\s+couple\b(?!\s+of\b)"
    r"|\ba\s+couple\b(?=\s*(?:$|[,.!?;:]|'s\b|who\b|that\b|getting\b|celebrating\b|moving\b|just\b|"
    r"expecting\b|in\s+(?:their|love)\b|we\b))"
    r"|\bnewly\s?-?\s?weds?\b|\bbride\s+and\s+groom\b|\bmr\.?\s*(?:and|&)\s*mrs\b", re.IGNORECASE)


def for_a_couple(text: str) -> bool:
    """Is the present for a couple, two people together? Then no one person's kinds (a
    necklace for a "partner") belong in it."""
    return bool(_COUPLE.search(_said(text)))
