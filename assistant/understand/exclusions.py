"""What the shopper rules out: "no candles", "without glass", "nothing pink", "but not
mugs". Read from the text after a negation cue, as the shopper wrote it, and cut out of
the text where a need is wanted without it.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.records import MAX_MENTION_CHARS
from assistant.understand.amounts import without_item_cap
from assistant.understand.shopper_cues import positions_in
from assistant.understand.words import FILLER, ORDINALS, content_stems

# A negation cue, then the words it rules out. A bare "not" counts only where it starts a
# clause ("..., but not mugs", "not pink"): inside one it is about something else ("I'm not
# sure", "it's not for me").
_NEGATION = re.compile(
    r"(?P<lead>(?:[,;]\s*)?\b(?:but|and|or|just|please|actually|definitely|certainly)\s+)?"
    r"(?P<cue>\b(?:i'?d|i would|we'?d|we would)\s+rather\s+(?:not\s+have|not\s+get|not|avoid)\s+"
    r"|\bnot\s+(?:a\s+(?:big\s+|huge\s+|massive\s+)?fan\s+of|(?:too\s+|that\s+|very\s+)?keen\s+on|into)\s+"
    r"|\b(?:skip|ditch)\s+|\bno\s+need\s+for\s+"
    r"|\b(?:hates?|hated|detests?|can'?t stand|cannot stand|(?:is |am |are )?allergic to|anything but)\s+"
    r"|\bnot\s+|\b(?:no|nae|zero|without|nothing|avoid|excluding|except|minus)\s+"
    r"|\b(?:other than|apart from|none of|leave out|keep out)\s+"
    r"|\b(?:do not|don'?t|dont|doesn'?t|won'?t)\s+(?:want|need|like|include|add|give me|send)\s+)",
    re.I)
# Negation beyond the English cues of `_NEGATION` (the languages the guard's tests cover, and
# "never", "hate", "dislike"): a model's exclusion needs one of them in the message.
_OTHER_NEGATION = re.compile(
    r"\b(?:never|hates?|hated|dislikes?|detests?|can'?t stand|cannot stand|allergic|anything but|ohne|kein|keine|keinen|nicht|sans|pas|aucun|aucune|sin|ningún|ninguna|senza"
    r"|niente|zonder|geen|niet|bez|nie|sem|nada)\b", re.IGNORECASE)
_WORD_OR_MARK = re.compile(r"[\w'’-]+|[^\w\s]")
# Words a ruled-out phrase never starts with: "no problem", "no more than £20", "nothing else".
_NOT_THINGS = frozenset({
    "problem", "problems", "thanks", "thank", "idea", "worries", "worry", "rush", "hurry", "pressure",
    "less", "longer", "sure", "really", "too", "very", "so", "matter", "much", "many", "doubt",
    "way", "need", "budget", "limit", "limits", "preference", "preferences", "clue", "one", "else",
    "big", "fuss", "bother", "bothered", "expensive", "cheap", "pricey", "bad", "worse", "quite",
    "exactly", "just", "only", "yet", "either", "all", "everything", "nothing", "hassle", "later",
    "now", "reason", "point", "offence", "offense", "change", "changes", "difference", "wait",
    "questions", "question", "comment", "comments", "thing", "things", "other", "it",
    # idioms and prices: "not feeling it", "money no object", "not a penny more", "nothing that costs over £5"
    "feeling", "loving", "object", "cent", "penny", "pennies", "costs", "costing", "priced", "over", "above",
    "middle", "number", "mair",
})
_LEAD_SKIP = frozenset({"any", "the", "a", "an", "of", "with", "that", "those", "these", "such",
                        "anything", "something", "items", "products", "stuff", "made", "more"})
_PHRASE_STOP = frozenset({
    "please", "pls", "thanks", "thank", "thx", "ta", "cheers", "for", "in", "inside", "on", "at", "to",
    "from", "under", "over", "below", "above", "about", "around", "within", "than", "i", "we", "you",
    "me", "my", "it", "this", "that", "they", "them", "is", "are", "was", "be", "will", "would", "could",
    "should", "can", "make", "keep", "add", "swap", "remove", "give", "show", "get", "put", "find",
    "want", "need", "like", "then", "now", "too", "either", "time", "instead", "all", "again",
    "anymore", "bundle", "basket", "cart", "because", "but", "since", "though", "although", "while",
    "if", "unless", "as", "so", "just", "only", "really", "left", "whatsoever", "one", "ones", "else",
    "more", "less",
})
_MAX_PHRASE_WORDS = 5  # long enough for a title ("the Jumbo Bag Red Retrospot")
# Rule "a double negative wants it": "without" / "apart from" after a negation in the same
# clause keeps the thing ("can't have a picnic without a blanket", "no idea what she likes
# apart from cats"); "a picnic without plastic" and "anything apart from mugs" rule it out.
_NOT_RULED_OUT = re.compile(r"^(?:without|other than|apart from|except)\b", re.I)
_NEGATED_BEFORE = re.compile(r"\b(?:can'?t|cannot|couldn'?t|wouldn'?t|won'?t|isn'?t|never|no (?:clue|idea)|"
                             r"(?:do not|don'?t|dont) know|not sure)\b[^,.;!?]*$", re.I)
# Rule "a no after the thing": the negation follows what it rules out.
#   match: "hearts are a no" -> hearts, "glitter is a no-go" -> glitter, "pink's a no" -> pink,
#          "the ribbon's not needed" -> ribbon
#   no match: "is it a no?", "the answer is no", "there is no rush", "hearts are a nod to"
_NO_AFTER = re.compile(r"\b(?P<thing>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)(?:\s+(?:are|is)|'s)\s+(?:a\s+)?"
                       r"(?:(?:no[\s-]go|no[\s-]no|nope|no)\b(?![\s-]+(?!(?:for|from|with|please|pls|thanks?|x+)\b)\w)"
                       r"|not\s+(?:needed|wanted|necessary)\b)", re.I)

# Rule "already has plenty": what the recipient has more than enough of is ruled out.
#   match: "she's got a drawer full of candles already" -> candles, "he has more mugs than he
#          knows what to do with" -> mugs, "they've got loads of bunting" -> bunting,
#          "she already has about 100 mugs" -> mugs
#   no match: "she has a cat", "we've got loads of time", "he's got lots of friends coming",
#             "she has loads of energy", "she has 2 dogs", "we have 10 tables"
_PLENTY = re.compile(
    r"\b(?:she|he|they|we|i|you|mum|dad|nan|gran)(?:'s|'ve|\s+has|\s+have|\s+owns|\s+own)?\s+(?:already\s+)?"
    r"(?:got\s+|has\s+|have\s+|owns\s+)?(?:already\s+)?"
    r"(?:a\s+(?:drawer|cupboard|shelf|house|box|room|kitchen)\s+full\s+of|loads\s+of|plenty\s+of|lots\s+of|"
    r"tons\s+of|so\s+many|too\s+many|enough|more|(?P<count>(?:about\s+)?\d+)|hundreds\s+of|millions\s+of|a\s+million)\s+"
    r"(?P<thing>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)", re.I)
_PLENTY_NOT_THINGS = frozenset({
    "time", "energy", "space", "room", "money", "friends", "people", "guests", "kids", "family", "fun", "love",
    "work", "ideas", "stuff", "things", "bits", "experience", "patience", "years", "days", "weeks", "months",
    "than", "of", "to", "on", "going", "coming", "left", "spare", "already", "pounds", "quid",
})


def _plenty_spans(text: str) -> list[tuple[int, int, list[str]]]:
    out: list[tuple[int, int, list[str]]] = []
    for match in _PLENTY.finditer(text):
        if match.group("count") and "already" not in match.group(0).lower():
            continue  # "she has 2 dogs" is no dog to rule out; "she already has 100 mugs" is
        words = []
        for word in match.group("thing").lower().split():
            if word in _PHRASE_STOP | _LEAD_SKIP | _PLENTY_NOT_THINGS | {"already", "and", "or"}:
                break
            words.append(word)
        if words and words[0] not in _NOT_THINGS:
            out.append((match.start("thing"), match.start("thing") + len(" ".join(words)), [" ".join(words)]))
    return out


def _exclusion_spans(text: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, phrases) of each negation in the text: "no candles or balloons" ->
    ["candles", "balloons"]. A phrase ends at punctuation, a stop word or `_MAX_PHRASE_WORDS` words."""
    out: list[tuple[int, int, list[str]]] = []
    for cue in _NEGATION.finditer(text):
        if cue.group("cue").strip().lower() == "not" and not cue.group("lead") \
                and not re.search(r"(?:^|[,;:.!?])\s*$", text[:cue.start()]):
            continue
        if _NOT_RULED_OUT.search(cue.group("cue")) and _NEGATED_BEFORE.search(text[:cue.start()]):
            continue  # "can't have christmas without crackers", "no idea what he likes apart from bbqs"
        phrases: list[str] = []
        words: list[str] = []
        end = cue.end()
        for tok in _WORD_OR_MARK.finditer(text, cue.end()):
            word = tok.group().lower().replace("’", "'").strip("'")  # 'live laugh love' in quotes
            if not word or not (word[0].isalnum() or word[0] == "_"):
                if tok.group() in ("'", '"', "‘", "“", "”") and not words:
                    continue  # an opening quote: the quoted words are the phrase
                break  # punctuation ends the clause
            if word in ("and", "or", "nor"):
                if not words:
                    break
                phrases.append(" ".join(words))
                words = []
                continue
            if not words and word in _LEAD_SKIP:
                continue
            if not words and (word in _NOT_THINGS or word[0].isdigit() or word in ORDINALS):
                break
            if word in _PHRASE_STOP:
                break
            words.append(word)
            end = tok.end()
            if len(words) == _MAX_PHRASE_WORDS:
                break
        if words:
            phrases.append(" ".join(words))
            end += 1 if text[end:end + 1] in ("'", '"', "’", "”") else 0  # the closing quote goes with it
        if phrases:
            out.append((cue.start(), end, phrases))
    for after in _NO_AFTER.finditer(text):
        words = [w for w in after.group("thing").lower().split() if w not in _PHRASE_STOP | _LEAD_SKIP | {"so", "and"}]
        if words and words[0] not in _NOT_THINGS | {"answer", "reply", "there", "that", "this", "which", "what"}:
            out.append((after.start(), after.end(), [" ".join(words)]))
    out.extend(span for span in _plenty_spans(text) if not any(a <= span[0] < b for a, b, _ in out))
    return sorted(out)


def has_negation(text: str) -> bool:
    """The message rules something out in some language ("no", "without", "ohne", "sans")."""
    return bool(_NEGATION.search(text) or _OTHER_NEGATION.search(text))


def has_negation_beyond_the_english_cues(text: str) -> bool:
    """The message negates in words `exclusions_in` does not read phrases after ("ohne
    Kerzen", "never candles", "she dislikes pink"): a model's exclusion may stand on them."""
    return bool(_OTHER_NEGATION.search(text))


def exclusions_in(text: str) -> tuple[str, ...]:
    """What the shopper rules out, as they wrote it: "no candles", "without glass",
    "nothing pink", "but not mugs" -> ("candles", "glass", "pink", "mugs"); a price limit
    ("no single item over £10") rules nothing out."""
    found = [p for _, _, phrases in _exclusion_spans(without_item_cap(text)) for p in phrases]
    return merge_exclusions((), found)


_ANY_OF = re.compile(r"^(?:anything|something|everything|any|stuff)\s+(?:too\s+|that'?s\s+|that\s+is\s+)?(?=\w)",
                     re.IGNORECASE)


def merge_exclusions(have: tuple[str, ...], new: Any) -> tuple[str, ...]:
    """`have` plus the phrases of `new` that rule out something `have` does not already."""
    out: list[str] = []
    for phrase in (*have, *new):
        # "anything cutesy" rules out what "cutesy" does: one phrase, the bare one
        phrase = _ANY_OF.sub("", phrase.strip())[:MAX_MENTION_CHARS]
        stems = content_stems(phrase)
        if stems and not any(excluded_by(phrase, p) for p in out) and len(out) < 8:
            out.append(phrase)
    return tuple(out)


def excluded_by(mention: str, term: str) -> bool:
    """`term` rules the mention out, as the composer reads exclusions against titles: every
    word of the term is in it ("red candles" and "candle" by "candles")."""
    ruled = content_stems(term)
    return bool(ruled) and set(ruled) <= set(content_stems(mention))


def strip_exclusions(text: str) -> str:
    """The text without its negation phrases ("garden party, no candles" -> "garden party")."""
    spans = _exclusion_spans(text)
    for start, end, _ in reversed(spans):
        text = text[:start] + " " + text[end:]
    return re.sub(r"\s+", " ", text).strip(" ,.;")


_CHATTER = FILLER | frozenset({
    "actually", "please", "ok", "okay", "oh", "hmm", "well", "then", "also", "just", "but", "so", "thanks",
    "thank", "you", "sorry", "want", "do", "need", "can", "could", "would", "in", "there", "any", "more",
    "instead", "now", "wait", "hey", "yes", "yeah", "no", "take", "out", "get", "rid", "leave", "drop",
    "bundle", "include", "have", "should", "be", "is", "are", "let's", "lets", "i'd", "i'm", "im", "id",
    "really", "after", "all", "on", "second", "thought", "thoughts", "hm", "erm", "um", "make", "sure",
    "there's", "theres", "ones", "anything", "things", "stuff", "swap", "replace", "change", "something",
    "else", "different", "another", "for", "with", "it", "them",
})


def exclusion_only(text: str) -> bool:
    """The message only rules things out ("actually, no candles please"): an edit of the
    bundle the shopper has, not a new request."""
    if not _exclusion_spans(text):
        return False
    rest = strip_exclusions(text)
    if positions_in(rest):  # "no candles, and swap the second one" is more than an exclusion
        return False
    return all(word in _CHATTER for word in re.findall(r"[a-z0-9']+", rest.lower().replace("’", "'")))
