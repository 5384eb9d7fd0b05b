"""Rule "a reason against it": a removal or swap that says why that kind of thing is wrong
for the person rules the kind out of what comes next, not just the one item.

  "lose the vase, she's got loads already"        -> vase
  "swap #3, we've got serviettes already"          -> serviettes (the reason names the thing)
  "ditch the apron, he never cooks"                -> apron
  "take the marbles out, the baby would choke"     -> marbles
  "the mug can go" / "swap number 2, too plain"    -> nothing (no reason, or a judgement of one item)
  "swap #2, she has one already"                   -> nothing (a position, and the reason names nothing)

The reasons are those of LABELS.md's exclusion rules 2, 4 and 5: a dislike stated about the
person, already having it or never using it, and safety, health or practical grounds. A
judgement of one item ("too plain", "a bit dear") or a preference ("I'd rather have a teapot")
is no reason against the kind.
"""

from __future__ import annotations

import dataclasses
import re

from assistant.records import Request
from assistant.understand.exclusions import ITEM_LOOKS, exclusions_in, merge_exclusions
from assistant.understand.shopper_cues import positions_in
from assistant.understand.words import NUMBER_WORDS, content_stems, stem_set

# A clause ends at punctuation or a joining word; a reason is read one clause at a time.
_CLAUSES = re.compile(r"\s*(?:[,.;:!?()]+|->|—|–|\s-\s|\b(?:so|but|because|cause|cos|coz|as|since|and)\b)\s*", re.I)

# Already has it (one, plenty, or makes their own).
#   match: "she's got loads already", "they already have one", "he has a million", "we've all got
#          flasks", "the shed is already full of tools", "I'll bake my own", "she makes her own"
#   no match: "she's got a garden", "we've got people coming", "he has a birthday friday"
_HAS_IT = re.compile(
    r"\balready\s+(?:has|have|had|got|owns?)\b(?:\s+(?P<after>[\w-]+(?:\s+[a-z][\w-]*){0,2}))?"
    r"|\b(?:has|have|had|got|owns?)\s+(?P<before>[\w'-]+(?:\s+[\w'-]+){0,2}?)\s+already\b"
    r"|\b(?:has|have|got)\s+(?:got\s+)?(?:a\s+million|millions|hundreds|loads|plenty|tons|heaps|enough|too\s+many|so\s+many)\b"
    r"|\b(?:all|both|each)\s+(?:got|have|own)\s+(?P<owned>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)"
    r"|\b(?:full\s+of|packed\s+with|stuffed\s+with|overflowing\s+with)\s+(?P<full>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)"
    r"|\bgot\s+(?P<ears>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s+coming\s+out\s+(?:of\s+)?\w+\s+ears\b"
    r"|\b(?:make|makes|making|write|writes|bake|bakes|bring|brings|knit|knits|do|does)\s+(?:my|her|his|their|our)\s+own\b",
    re.I)
# Never uses it.
#   match: "he never cooks", "she doesn't drink coffee", "nobody here uses straws", "no one in
#          the house reads"
#   no match: "she never got one" (no use named), "he doesn't mind"
_WONT_USE = re.compile(
    r"\b(?:never|rarely|hardly\s+ever|doesn'?t|don'?t|won'?t|wouldn'?t|does\s+not|do\s+not|will\s+not)\s+"
    r"(?:really\s+|even\s+|ever\s+|actually\s+)?"
    r"(?P<verb>use|uses|write|writes|read|reads|wear|wears|drink|drinks|eat|eats|bake|bakes|cook|cooks|garden|gardens"
    r"|play|plays|light|lights|sew|sews|knit|knits|need|needs)\b(?:\s+(?:anything|any|them|those|it)\b)?"
    r"(?:\s+(?P<used>[a-z][\w-]*(?:\s+[a-z][\w-]*)?))?"
    r"|\b(?:nobody|no\s*one|none\s+of\s+(?:us|them))\b(?:\s+[\w'-]+){0,3}?\s+"
    r"(?:uses?|wants?|needs?|drinks?|eats?|reads?|wears?|likes?)\s+(?P<nobody>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)",
    re.I)
# A dislike stated about the person.
#   match: "she isn't into the floral ones", "he hates anything cutesy", "not her thing", "she can't
#          stand glitter", "they don't like scented stuff"
#   no match (as a reason against the kind): "she's not into that colour" (one item's looks),
#             "I'm not keen on the vase" (the shopper's own judgement), "I'm not sure"
_DISLIKES = re.compile(
    r"\b(?:isn'?t|aren'?t|wasn'?t|is\s+not|are\s+not|not)\s+(?:really\s+|very\s+|that\s+|too\s+|much\s+)?"
    r"(?:into|keen\s+on|a\s+(?:big\s+|huge\s+)?fan\s+of)\s+(?P<disliked>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)?"
    r"|\b(?:hates?|detests?|can'?t\s+stand|cannot\s+stand|(?:doesn'?t|don'?t|does\s+not|do\s+not)\s+(?:really\s+)?like)"
    r"\s+(?P<hated>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)?"
    r"|\bnot\s+(?:really\s+)?(?:her|his|their|my|our)\s+(?:thing|style|taste|cup\s+of\s+tea)\b",
    re.I)
# Safety, health or practical grounds.
#   match: "she's allergic", "choking hazard", "the baby would choke", "they'll lose the pieces",
#          "it'd get smashed in the post", "too fragile", "not safe for a toddler"
#   no match: "safe travels", "a break from work"
_UNSAFE = re.compile(
    r"\b(?:allergic|allergy|allergies|intolerant|chok(?:e|es|ed|ing)|unsafe|not\s+safe|dangerous|hazard"
    r"|fragile|breakable|smash(?:ed|es)?|get\s+broken|break\s+(?:it|them|easily)|lose\s+(?:the\s+)?(?:pieces|bits)"
    r"|lost\s+(?:the\s+)?(?:pieces|bits)|risk|(?:fire|safety|health)\s+(?:regs|regulations|rules)"
    r"|not\s+allowed(?:\s+(?:to\s+(?:have|use|bring)\s+)?(?:any\s+)?(?P<banned>[a-z][\w-]*(?:\s+[a-z][\w-]*)?))?"
    r"|doesn'?t\s+allow|don'?t\s+allow|banned)\b",
    re.I)

# Words a named thing never is: what follows "already", "own", "the" and friends.
_NOT_A_THING = frozenset({
    "one", "ones", "it", "them", "those", "these", "that", "this", "some", "any", "anything", "something",
    "everything", "all", "a", "an", "the", "already", "loads", "plenty", "lots", "tons", "heaps", "enough",
    "really", "very", "too", "so", "much", "many", "of", "down", "at", "in", "on", "with", "to", "for",
    "lol", "haha", "tbh", "though", "anymore", "now", "either", "her", "his", "their", "my", "our",
    "kids", "people", "friends", "guests", "time", "money", "space", "room", "stuff", "things", "bits", "sure",
    "she", "he", "they", "we", "i", "you", "me", "us", "is", "are", "was", "be", "there", "here", "please", "pls",
    "out", "off", "away", "back", "from", "can", "could", "should", "about", "around", "like", "maybe",
})


def _thing(phrase: str | None) -> str | None:
    """The noun phrase a reason names, without its lead and trailing filler; None for none."""
    if not phrase:
        return None
    words = phrase.lower().split()
    while words and (words[0] in _NOT_A_THING or words[0] in NUMBER_WORDS or words[0].isdigit()):
        words = words[1:]
    kept: list[str] = []
    for word in words:
        if word in _NOT_A_THING:
            break
        kept.append(word)
    return " ".join(kept) or None


# What a dislike of one item names: its looks or price, or the item itself ("that one").
_ONE_ITEMS_SIDE = ITEM_LOOKS | {"it", "that", "this"}


def _judges_one_item(phrase: str) -> bool:
    words = [w for w in phrase.lower().split() if w not in ("the", "a", "its", "one")]
    return not words or words[0] in _ONE_ITEMS_SIDE


_SHOPPER = frozenset({"i", "i'm", "im", "i've", "ive", "we", "we're", "were", "am", "are", "i'd", "we'd", "id"})


def _about_someone(before: str) -> bool:
    """A dislike is about the person when someone other than the shopper is its subject
    ("she isn't into florals", "my brother hates sport"), not the shopper's own judgement
    ("not keen on the vase", "I'm not into that one")."""
    words = re.findall(r"[\w']+", before.lower())[-3:]
    return bool(words) and not _SHOPPER & set(words)


def _reason_in(clause: str) -> tuple[bool, str | None]:
    """(whether the clause is a reason against a thing, the thing it names if any)."""
    for pattern, groups in ((_HAS_IT, ("after", "before", "owned", "full", "ears")), (_WONT_USE, ("used", "nobody")),
                            (_DISLIKES, ("disliked", "hated")), (_UNSAFE, ("banned",))):
        match = pattern.search(clause)
        if match:
            said = [match.group(g) for g in groups if match.group(g)]
            if pattern is _DISLIKES and (not _about_someone(clause[:match.start()])
                                         or (said and _judges_one_item(said[0]))):
                return False, None  # "not keen on the vase", "she doesn't like the colour": this item
            named = next((t for g in said if (t := _thing(g))), None)
            return True, named
    return False, None


# The thing an edit's command names: "swap the balloons", "take the candles out", "get rid of
# the doormat", "the clock can go".
_REMOVED = re.compile(
    r"\b(?:swap|remove|take|get\s+rid\s+of|ditch|bin|lose|drop|scrap|change|replace|cut)\s+(?:out\s+|off\s+)?"
    r"(?:the|that|those|these)\s+(?P<thing>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)"
    r"|^\s*(?:the\s+)?(?P<subject>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s+(?:can|could|should|has\s+to|must)\s+go\b", re.I)


def _target_words(target: str | None, command: str) -> str | None:
    """The removed thing in the shopper's words: the thing the command's verb names ("swap
    the balloons, his sister's under 3 and they're a choking risk"); else the target mention
    when the command (the message less its reasons) says it and it is no position."""
    named = _REMOVED.search(command)
    thing = _thing(named.group("thing") or named.group("subject")) if named else None
    if thing and not positions_in(thing) and content_stems(thing):
        return thing
    if target and not positions_in(target) and not re.fullmatch(r"[#\s\w.]*\d+\w*", target.strip()):
        thing = _thing(target)
        if thing and content_stems(thing) and set(content_stems(thing)) <= stem_set(command):
            return thing
    return None


_Reasons = list[tuple[str, bool, "str | None"]]


def _reasons(text: str) -> _Reasons:
    """Each clause with whether it is a reason against a thing and the thing it names."""
    return [(clause, *_reason_in(clause)) for clause in _CLAUSES.split(text) if clause]


def reason_against(text: str) -> bool:
    """The message gives a reason against a kind of thing (see the module doc)."""
    return any(is_reason for _, is_reason, _ in _reasons(text))


def excluded_by_reason(text: str, target: str | None, clauses: _Reasons | None = None) -> tuple[str, ...]:
    """What a removal or swap's reason rules out: the thing the reason names, else the removed
    item's own words (`target`, when it is not a position); () without a reason. `clauses`:
    the text's `_reasons`, when already read."""
    clauses = _reasons(text) if clauses is None else clauses
    command = " , ".join(clause for clause, is_reason, _ in clauses if not is_reason)
    # a reason that names its thing says what the others are about ("we're not allowed real
    # candles (fire regs)": candles, not the tealights' own words)
    any_named = any(named for _, _, named in clauses)
    out: list[str] = []
    for _clause, is_reason, named in clauses:
        thing = (named or (None if any_named else _target_words(target, command))) if is_reason else None
        if thing and thing not in out:
            out.append(thing)
    return tuple(out)


def _said_as_needless(phrase: str, text: str) -> bool:
    """The phrase is ruled out only as this item's going ("no need for the card", "the
    stickers aren't needed", "don't want the mug"): the edit says so already."""
    said = re.escape(phrase.strip())
    return bool(re.search(
        rf"\bno\s+need\s+for\s+(?:the\s+|that\s+|those\s+|a\s+)?{said}\b"
        rf"|\b{said}(?:'s|\s+is|\s+are)?\s+not\s+(?:needed|necessary)\b|\b{said}\s+(?:isn'?t|aren'?t)\s+(?:needed|necessary)\b"
        rf"|\b(?:don'?t|do\s+not|dont)\s+(?:want|need)\s+(?:the\s+|that\s+|those\s+)?{said}\b", text, re.I))


def with_reason_against(request: Request, text: str) -> Request:
    """A removal or swap with its reason's exclusions added (see the module doc). Without a
    reason, a word ruled out only as the item's going is no exclusion: "the bunting's not
    needed, I'd prefer a cake stand" swaps the bunting and rules out no bunting later."""
    if request.intent not in ("remove", "swap"):
        return request
    clauses = _reasons(text)
    if request.exclude and not any(is_reason for _, is_reason, _ in clauses):
        kept = tuple(e for e in request.exclude if not _said_as_needless(e, text))
        request = dataclasses.replace(request, exclude=kept) if kept != request.exclude else request
    target = request.target
    if not target:  # "no need for the card, I'll write my own": the words name what goes
        said = exclusions_in(text)
        target = said[0] if len(said) == 1 else None
    ruled_out = merge_exclusions(request.exclude, excluded_by_reason(text, target, clauses))
    return dataclasses.replace(request, exclude=ruled_out) if ruled_out != request.exclude else request
