"""Rule "need clauses": which clauses of a shopper's message say what the bundle is for.

A chatty message mixes the need with money talk ("we're skint", "money no object"), dates
("next month", "on saturday"), head counts ("30ish people"), exclusions ("she's not a fan of
glitter") and chat ("um hi, so, i'm not very good at this"). The composer matches the need's
text against the needs book and the items by meaning, so every such clause pulls the match
away from the occasion. Each clause is kept when a word is left once the words of those kinds
are taken out.

    match (kept):    "pressie for my dad", "he potters in the greenhouse all day",
                     "my girlfriend's moving into her first place"
    no match (left): "not too expensive", "money no object", "rock bottom prices pls",
                     "we're skint", "next month", "30ish people", "um hi", "can u do something quick thx"
"""

from __future__ import annotations

import re

from assistant.understand.amounts import PARTY
from assistant.understand.exclusions import strip_exclusions
from assistant.understand.shopper_cues import asks_to_redo
from assistant.understand.words import FILLER, NUMBER_WORDS, PLEASANTRIES, one_slip_apart, tokens

__all__ = ["CLAUSE_BREAK", "NOT_NEED_WORDS", "clauses_of", "need_clauses", "need_words", "reasons_for_ruling_out",
           "says_a_need", "without_reasons"]

# Where a clause ends: a sentence's end, a comma, a dash between words, "but".
# "and" starts a clause when a new subject follows it ("... £10 and all i know is he drinks coffee").
CLAUSE_BREAK = re.compile(r"(?<=[.!?;:])\s+|\n+|\s+[-–—]+\s+|\s*[,(){}]\s*|\s+but\s+|\s*\.{2,}\s*"
                          r"|\s+and\s+(?=(?:i|i'm|i'd|i've|we|we're|she|she's|he|he's|they|they're|it|it's|all|"
                          r"my|our)\b)", re.IGNORECASE)

# Money talk without an amount: what the shopper can spend, never what the bundle is for.
MONEY_TALK = frozenset({
    "cheap", "cheaper", "cheapest", "cheaply", "expensive", "dear", "pricey", "price", "prices", "priced", "cost",
    "costs", "budget", "budgets", "skint", "broke", "afford", "money", "spend", "spending", "spent", "quid",
    "pound", "pounds", "tenner", "fiver", "score", "bucks", "dollars", "euros", "limit", "max", "maximum",
    "tops", "total", "totally", "object", "wallet", "purse", "rock", "bottom", "plenty", "ish", "pence",
    "costing", "bargain", "bargains", "value", "worth", "left", "got", "chipped", "fund", "pot",
    "gbp", "usd", "eur", "each", "apiece", "piece", "per", "under", "below", "over", "less", "more", "than", "most",
})
# When: a date or a deadline says nothing about what to buy.
TIME_TALK = frozenset({
    "today", "tonight", "tomorrow", "morra", "weekend", "week", "weeks", "month", "months", "year", "years",
    "day", "days", "hour", "hours", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon", "tue", "tues", "wed", "weds", "thu", "thur", "thurs", "fri", "sat", "sun", "next", "last", "soon",
    "asap", "quick", "quickly", "urgent", "urgently", "time", "now", "later", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "morning", "evening", "afternoon",
    "on", "by", "until", "till", "before", "after", "coming", "arriving", "this", "the",
})
# Chat around a request: greetings, feelings about asking, the ask itself.
CHAT_TALK = PLEASANTRIES | frozenset({
    "um", "umm", "erm", "er", "uh", "so", "help", "oof", "lol", "haha", "tbh", "omg", "ooh", "ah", "honestly",
    "literally", "really", "very", "not", "good", "at", "this", "i", "i'm", "im", "i've", "ive", "i'd", "id",
    "you", "u", "can", "could", "would", "will", "do", "does", "did", "something", "anything", "stuff", "any",
    "ideas", "idea", "suggestions", "suggest", "find", "show", "give", "get", "me", "us", "we", "we're",
    "please", "pls", "plz", "thx", "ta", "quick", "bundle", "sort", "out", "put", "together", "redo", "it",
    "that", "is", "are", "was", "be", "been", "have", "has", "had", "just", "want", "wanted", "need",
    "needed", "like", "great", "appreciate", "appreciated", "thanks", "thank", "lot", "much",
    "excited", "sooo", "soooo", "sooooo", "there", "here", "what", "whatever", "else", "if", "possible",
    "pretty", "keep", "hoping", "hope", "to", "as", "x", "xx", "xxx", "ok", "okay", "too",
    "mad", "stupidly", "totally", "forgot", "forgto", "either", "way", "anyway", "though", "she", "she's", "he",
    "he's", "they", "they're", "it's", "there's", "theres", "her", "him", "them", "know", "all", "maybe",
    "she'll", "he'll", "they'll", "we'll", "i'll", "we've", "you've", "finally", "ideally", "etc",
    # pointing at a named item: "love the ..., want to build round it, something to match"
    "love", "obsessed", "build", "round", "around", "match", "matching", "go", "goes", "going", "sit", "sits", "nicely", "fill", "plus", "with", "wot", "ace", "alongside", "thinking", "also", "well",
    "which", "how", "many", "bit", "quite", "rather", "fairly", "question", "silly", "daft", "sorry", "thankyou",
    "soo", "loads", "hiya", "helo", "himself", "herself", "themselves",
    # hedges and reassurance: "no rush at all", "not sure what she likes honestly", "no worries"
    "rush", "hurry", "pressure", "worries", "worry", "problem", "sure", "unsure", "clue", "likes", "knows",
    "collected", "collecting", "raised", "whip", "whipround",
})
# Head counts: "30ish people", "about ten people", "two families".
PARTY_TALK = frozenset({"people", "ppl", "persons", "guests", "families", "family", "of", "us", "them", "about",
                        "around", "roughly", "approx", "approximately", "ish", "pair", "both", "lot"})
NOT_NEED_WORDS = FILLER | MONEY_TALK | TIME_TALK | CHAT_TALK | PARTY_TALK
_NUMBERISH = re.compile(r"\d|^(?:(?:" + "|".join(w for w in NUMBER_WORDS if " " not in w)
                        + r"|dozen|couple|few)(?:-|$))+")


_COURTESIES = tuple(w for w in PLEASANTRIES if " " not in w and len(w) >= 4)


def _chat(word: str) -> bool:
    """A word of chat, or a courtesy with one slip ("thnaks", "plese", "helo")."""
    return word in NOT_NEED_WORDS or (len(word) >= 4 and any(one_slip_apart(word, c) for c in _COURTESIES))


def need_words(clause: str) -> list[str]:
    """The words of this clause that are not money talk, a date, a head count or chat."""
    bare = strip_exclusions(PARTY.sub(" ", clause))
    return [word for word in tokens(bare) if not _chat(word) and not _NUMBERISH.search(word) and len(word) > 1]


def says_a_need(clause: str) -> bool:
    """Does this clause hold a word that is not money talk, a date, a head count or chat?"""
    return bool(need_words(clause))


def need_clauses(text: str) -> list[str]:
    """The clauses of `text` that say what the bundle is for, in order."""
    clauses = (_LEADING_JOIN.sub("", c) for c in clauses_of(text))
    return [c for c in clauses if c and says_a_need(c)]


def clauses_of(text: str) -> list[str]:
    """Every clause of `text` (`CLAUSE_BREAK`), without its end marks."""
    return [c.strip(" .!?;:") for c in CLAUSE_BREAK.split(text) if c and c.strip(" .!?;:")]


_LEADING_JOIN = re.compile(r"^(?:(?:but|and|so|or|plus)\s+)+", re.IGNORECASE)


# Rule "a reason for ruling out is no need": someone's circumstances said just before "so"
# and a ruled-out thing say why the thing is out, not what the bundle is for:
#   reason: "she doesn't drink so no wine stuff", "there's a toddler in the house so nothing made of glass"
#   kept:   "it's my sister's hen do so nothing rude" (no she/he/they/there: the occasion itself)
_REASON_FOR_RULING_OUT = re.compile(
    r"\b(?:she|he|they|there)\b[^,.;:!?]*?\s+so(?=\s+(?:no|nothing|not|nae|none|never|don'?t|avoid|skip|without)\b)",
    re.IGNORECASE)


def reasons_for_ruling_out(text: str) -> list[str]:
    """The reasons `text` gives for ruling things out, when something else in it says what
    the bundle is for or it redoes the bundle on screen (else a reason may be all there is
    to go on: "he's 3 so nothing small" still says who it is for)."""
    found = [m.group(0) for m in _REASON_FOR_RULING_OUT.finditer(text)]
    if not found or asks_to_redo(text) or need_clauses(_REASON_FOR_RULING_OUT.sub(" ", text)):
        return found
    return []


def without_reasons(text: str, reasons: list[str]) -> str:
    """`text` without `reasons` (`reasons_for_ruling_out`), in any case."""
    for reason in reasons:
        text = re.sub(re.escape(reason), " ", text, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", re.sub(r"\s+(?=[,.;:!?])", "", text)).strip(" ,.;:")
