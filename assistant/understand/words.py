"""Words as code reads them: tokens, a light plural stemmer, filler words and ordinals.

Shared by the composer (matching a need to titles), the edits (which item "the red one" is)
and the English rules of `assistant.understand` (slots, items the words name).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")
FILLER = frozenset({
    "a", "an", "the", "that", "this", "these", "those", "my", "our", "your", "his", "her",
    "their", "its", "some", "any", "one", "ones", "item", "items", "thing", "things", "please",
    "it", "them", "me", "us", "i", "and", "or", "with", "of", "for", "in", "on", "to", "from",
    "by", "at"
})
# What a shopper says around a request, not in it ("thanks! i also need...", "hiya, ...,
# cheers"): never a thing they want.
PLEASANTRIES = frozenset({
    "thanks", "thank you", "thankyou", "thank u", "thanks a lot", "many thanks", "thx", "ta", "cheers",
    "please", "pls", "plz", "hi", "hiya", "hello", "hey", "hey there", "hi there", "hello there", "morning",
    "good morning", "afternoon", "evening", "ok", "okay", "ok thanks", "great", "lovely", "perfect", "brilliant",
    "awesome", "cool", "nice", "nice one", "super", "fab", "fantastic", "wonderful", "amazing", "sorry",
    "oh", "right", "yes", "yeah", "yep", "no", "nope", "sure", "well", "hmm", "also",
})
# Words that name no thing: a reason line may use them whichever item it is about
# ("a little treat", "one for each guest", "rounds the set off"), see
# `assistant.write.answer_words`. Stems, as `stem` gives them.
PLAIN_WORDS = frozenset({
    "set", "pack", "small", "large", "big", "mini", "little", "tiny", "lovely", "pretty", "perfect", "nice",
    "great", "good", "treat", "gift", "present", "touch", "finish", "look", "style", "fit", "match", "together",
    "each", "every", "all", "everyone", "guest", "extra", "bit", "piece", "day", "make", "add", "keep", "bring",
    "use", "go", "just", "new", "design", "assorted", "so", "too", "very", "off", "round", "up", "out", "as",
    "is", "are", "be", "will", "you", "they", "who", "what", "when", "where", "there", "here", "not",
    "no", "more", "most", "best", "favourite", "choice", "pick", "idea", "way",
    # how evidence is told, whichever item it is about (claims are checked apart, `answer_claims`)
    "often", "same", "basket", "bought", "buy", "shopper", "popular", "seller", "pair", "pairing", "common",
    "alongside", "close", "similar", "taste", "kept", "asked", "next", "time", "had", "took", "like", "liked",
})
# Words a finished phrase does not end on ("a gift for the", "tea and"): a line that stops
# on one was cut off. No prepositions: a phrase may end on one ("bring the birds in",
# "something soft to play with"). See `assistant.write.answer_words`.
DANGLING_WORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "your", "their", "his", "her", "my", "our", "its", "these",
    "those", "than", "very",
})
# Words a phrase may end on only as its source does ("something soft to play with" is a
# role; "a morning brew fit for" is cut off).
STRANDED_WORDS = frozenset({"for", "with", "of", "in", "on", "to", "from", "by", "at", "into", "about"})
# The number words every rule reads (amounts, counts, party sizes, positions): one lexicon,
# not one per rule. Longer phrases first where one contains another ("half a dozen").
UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
         "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
        "ninety": 90, "hundred": 100, "a hundred": 100}
# Rough counts people say for a number of things or people.
COUNT_PHRASES = {"half a dozen": 6, "a dozen": 12, "a couple of": 2, "a couple": 2, "a few": 3}
NUMBER_WORDS = {**COUNT_PHRASES, **UNITS, **TEENS, **TENS}


def number_words_pattern(values: range) -> str:
    """An alternation of the lexicon's number words for the values in `values`, longest first."""
    words = sorted((w for w, n in NUMBER_WORDS.items() if n in values), key=len, reverse=True)
    return "|".join(re.escape(w) for w in words)
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
            "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "last": -1}


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; hyphenated and apostrophe words stay whole ("t-light")."""
    text = unicodedata.normalize("NFKC", text or "").lower().replace("’", "'")
    return _TOKEN.findall(text)


def stem(word: str) -> str:
    """A light English plural stemmer: candles -> candle, boxes -> box, cookies -> cooky."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def stem_set(text: str) -> frozenset[str]:
    """Stems of every token, plus the stemmed parts of hyphenated tokens."""
    out: set[str] = set()
    for tok in tokens(text):
        out.add(stem(tok))
        if "-" in tok:
            out.update(stem(part) for part in tok.split("-") if part)
    return frozenset(out)


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning (articles, pronouns, "item" dropped)."""
    return list(dict.fromkeys(stem(t) for t in tokens(text) if t not in FILLER))


def one_slip_apart(word: str, known: str) -> bool:
    """One typing slip apart, or the same: a letter missed, added or changed, or two
    neighbours swapped ("candels" / "candles", "thnaks" / "thanks")."""
    if abs(len(word) - len(known)) > 1 or word == known:
        return word == known
    if len(word) == len(known):
        diff = [i for i, (a, b) in enumerate(zip(word, known, strict=True)) if a != b]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and word[diff[0]] == known[diff[1]] and word[diff[1]] == known[diff[0]])
    short, long_ = sorted((word, known), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def mentions_all(stems: frozenset[str], phrase_stems: Sequence[str]) -> bool:
    return bool(phrase_stems) and all(s in stems for s in phrase_stems)
