"""A request read in parts for matching needs: its gist without money talk and gift
scaffolding, the pieces around "for" and commas, the person and each interest.

"my sister who loves candles and gardening, under £30" is matched whole ("sister who loves
candles and gardening"), as the person "sister" (people only) and as the interests
"candles" and "gardening" (interests and themes only, so "likes tea" is no tea party).
"""

from __future__ import annotations

import dataclasses
import re

from assistant.understand.exclusions import strip_exclusions
from assistant.understand.need_clauses import TIME_TALK
from assistant.understand.need_text import spelt_out
from assistant.understand.person_and_interests import recipient_in, without_interests
from assistant.understand.words import content_stems

__all__ = ["NOT_PEOPLE", "RequestPart", "gist", "request_parts"]

@dataclasses.dataclass(frozen=True)
class RequestPart:
    """A piece of the request and the groups of needs it may match (None: any group)."""

    text: str
    groups: frozenset[str] | None = None


_MONEY = re.compile(
    r"(?:\b(?:a\s+)?(?:budget|under|below|max(?:imum)?|around|about|up to|less than|no more than)"
    r"(?:\s+(?:of|is))?\s*)?(?:£\s?\d[\d,]*(?:\.\d\d)?|\b\d[\d,]*(?:\.\d\d)?\s*(?:pounds?|quid|gbp)\b)"
    r"|\b(?:on a|my|our|the)?\s*budget\b",
    re.IGNORECASE)
# Words every gift request has; left in, they make any two requests look alike ("a present
# for my boss" came out 0.62 to "a present for a dog owner").
_SCAFFOLD = re.compile(
    r"\b(?:(?:i'?m|i am|we'?re|we are)\s+)?(?:looking|searching|shopping)\s+for\b"
    r"|\b(?:i|we)\s+(?:need|want|would like|'d like)\b|\bi'd like\b|\bplease\b"
    r"|\b(?:can|could) you\s+(?:find|suggest|recommend|put together|make)(?:\s+me)?\b|\bput together\b"
    r"|\b(?:a\s+)?bundles?(?:\s+of)?\b|\b(?:a\s+)?(?:little\s+)?(?:something|anything)(?:\s+(?:nice|lovely))?\b"
    r"|\b(?:gift|present|pressie)(?:\s+ideas?)?s?\b|\bideas?\b"
    r"|\b(?:some\s+)?(?:bits(?:\s+and\s+bobs)?|stuff|things)\b",
    re.IGNORECASE)
_LOOSE_EDGE = re.compile(r"^(?:(?:a|an|the|some|for|to|with|of|and|or)\b[\s,]*)+|(?:[\s,]*\b(?:a|an|the|for|to|"
                         r"with|of|and|or))+$", re.IGNORECASE)


def _without_money(text: str) -> str:
    return " ".join(_MONEY.sub(" ", text.replace("’", "'")).split()).strip(" ,.;:!?-")


_BARE_ORDINAL = re.compile(r"\b(\d{1,3}(?:st|nd|rd|th))\b(?!\s+(?:birthday|bday|anniversary|wedding))",
                           re.IGNORECASE)


def _core(text: str) -> str:
    """The text without money talk, gift scaffolding and what it rules out ("no candles" is
    no candle lover), a bare age spelt out as the birthday it is ("her 40th" -> "her 40th
    birthday"); "" when nothing else is left."""
    said = _BARE_ORDINAL.sub(r"\1 birthday", _without_money(spelt_out(strip_exclusions(text))))
    core = " ".join(_SCAFFOLD.sub(" ", said).split()).strip(" ,.;:!?-")
    core = _LOOSE_EDGE.sub("", core).strip(" ,.;:!?-")
    return core if re.search(r"[^\W\d_]{2,}", core) else ""


def gist(text: str) -> str:
    """A request or phrasing without money talk and gift scaffolding, which every request
    shares ("a little something for a new mum, budget £20" -> "new mum"); the text without
    money talk when nothing else is left ("a gift")."""
    return _core(text) or _without_money(text)


# every group of needs but a person (needs_match.GROUPS; a test keeps the two in step)
NOT_PEOPLE = frozenset({"occasion", "life_event", "season", "interest", "theme"})
_LIKED = frozenset({"interest", "theme"})
_PIECE_SPLIT = re.compile(r"\s*(?:[,;]|\bfor\b)\s*", re.IGNORECASE)
# A piece made only of these says nothing on its own ("decorations" for the tree came out
# 0.76 to "autumn decorations"; "ten" guests 0.54 to "ten years together").
_VAGUE = frozenset(content_stems(
    "decoration decor someone somebody everyone anyone people guest kid child children friend family "
    "party do day night time home house one two three four five six seven eight nine ten eleven "
    "twelve twenty thirty forty fifty hundred us them her him they hosting having making getting "
    "kitchen garden room bedroom bathroom lounge hall office"))


_NOT_A_DATE = frozenset({"the", "this", "on", "by", "before", "after", "until", "till", "coming", "arriving", "now",
                         "time", "quick", "quickly", "urgent", "urgently", "asap", "soon", "later"})
# When, said inside a piece: "in september", "next month", "on saturday" (the date words of
# `need_clauses.TIME_TALK`, one lexicon).
_WHEN = re.compile(r"\b(?:in|on|this|next|by|last)\s+(?:"
                   + "|".join(sorted(TIME_TALK - _NOT_A_DATE, key=len, reverse=True))
                   + r")\b", re.IGNORECASE)
_SHORT_SIDE = 4  # words: "off to uni" is said on its own; longer sides stay in their sentence


def _pieces(text: str, person: str | None) -> list[str]:
    """The pieces around "for" and commas; beside each, what it says about the person once
    its date and the person as its subject are taken out, up to an "and" that starts
    something else ("my daughter is off to uni in september and wants her room to feel
    homely" -> "off to uni"): a long sentence's cosine is the average of all it says, and
    its telling words drown."""
    out: list[str] = []
    for piece in _PIECE_SPLIT.split(text):
        out.append(piece)
        if not person:
            continue
        subject = re.match(rf"\s*(?:my|our|his|her|their)\s+(?:\w+\s+)?{re.escape(person)}(?:'s|\s+is|\s+are|\s+has)\s+",
                           piece, flags=re.IGNORECASE)
        if subject is None:  # only a sentence about the person says what they are doing
            continue
        bare = _WHEN.sub(" ", piece[subject.end():])
        said = " ".join(re.split(r"\s+and\s+", bare, maxsplit=1, flags=re.IGNORECASE)[0].split())
        if 1 <= len(said.split()) <= _SHORT_SIDE:
            out.append(said)
    return out


def _telling(piece: str, person: str | None) -> bool:
    """Does a piece of the request say something of its own (not just the person again)?"""
    stems = set(content_stems(piece))
    if person:
        stems -= set(content_stems(person))
    return any(s not in _VAGUE and not s.isdigit() for s in stems)


def request_parts(text: str) -> list[RequestPart]:
    """What a request is matched by: its gist (any need); the pieces around "for" and
    commas (any need but a person: "six friends" are guests); the person the English rules
    find (people only); each interest (interests and themes only, so "likes tea" is no tea
    party)."""
    whole = gist(text)
    if not re.search(r"[^\W\d_]{2,}", whole):
        return []
    parts = [RequestPart(whole)]
    recipient = recipient_in(text)
    for piece in _pieces(without_interests(text), recipient.person):
        piece = _core(piece)
        if piece and piece != whole and _telling(piece, recipient.person):
            parts.append(RequestPart(piece, NOT_PEOPLE))
    if recipient.person:
        parts.append(RequestPart(spelt_out(recipient.person), frozenset({"person"})))
    parts.extend(RequestPart(interest, _LIKED) for interest in recipient.interests)
    return list(dict.fromkeys(parts))
