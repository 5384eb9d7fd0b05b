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
    r"(?P<lead>(?:[,;]\s*)?\b(?:but|and|or|just|please|actually|definitely|certainly"
    r"|(?:make|keep)\s+(?:it|them|sure\s+(?:it'?s|they'?re|it\s+is|they\s+are)))\s+)?"
    r"(?P<cue>\b(?:i'?d|i would|we'?d|we would)\s+rather\s+(?:not\s+have|not\s+get|not|avoid)\s+"
    r"|\b(?:isn'?t|aren'?t|wasn'?t|(?:is|are|was)\s+not|not)\s+(?:really\s+)?"
    r"(?:a\s+(?:big\s+|huge\s+|massive\s+)?fan\s+of|(?:too\s+|that\s+|very\s+)?keen\s+on|into)\s+"
    r"|\b(?:skip|ditch)\s+|\bno\s+need\s+for\s+"
    r"|\b(?:sick|tired)\s+of\s+(?:getting\s+|receiving\s+|being\s+given\s+)?|\bfed\s+up\s+(?:of|with)\s+"
    r"|\b(?:gone\s+off|had\s+enough\s+of)\s+"
    r"|\bnot\s+(?:really\s+|much\s+of\s+)?(?:an?|the)\s+(?!(?:morning|night|people|party|early|outdoors?|details?)\b)"
    r"(?=[\w-]+(?:\s+[\w-]+)?\s+(?:person|type)\b)"
    r"|\b(?:doesn'?t|don'?t|won'?t|does\s+not|do\s+not|will\s+not)\s+(?:allow|permit)\s+"
    r"|\b(?:not|n't)\s+allowed\s+(?:to\s+(?:have|bring|use)\s+)?(?:any\s+)?"
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
    "middle", "number", "mair", "go",
})
# An item's own looks or price: disliking them judges that item, not a kind of thing.
ITEM_LOOKS = frozenset({"colour", "color", "colours", "colors", "look", "looks", "design", "shape", "size", "price",
                        "style", "pattern", "print", "smell", "feel", "finish"})
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
    "more", "less", "person", "type",
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
                       r"|not\s+(?:needed|wanted|necessary|allowed)\b|banned\b)"
                       r"|\b(?P<thing2>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s+(?:aren'?t|isn'?t)\s+(?:needed|wanted|allowed)\b", re.I)

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


# Rule "a style ruled out": "nothing too fancy", "not overly girly", "but not too rude" rule
# out the style; a degree before a price, a feeling or a size rules nothing out ("not too
# expensive", "not too sure", "nothing too big a deal").
_DEGREE = frozenset({"too", "overly", "very", "super"})
_NOT_A_STYLE = frozenset({
    "sure", "bad", "worried", "fussed", "bothered", "long", "late", "early", "far", "much", "many", "dear",
    "costly", "spendy", "pricy", "pricey", "expensive", "cheap", "big", "keen", "happy", "busy", "hard",
    "difficult", "complicated", "tight", "soon", "old", "young", "fast", "slow", "mad", "crazy", "good", "great",
})
# What introduces examples of a ruled-out style: "nothing messy like glitter or paint".
_EXAMPLES = re.compile(r"\s*(?:,\s*)?(?:like|such\s+as|e\.?g\.?|eg|say)\s+", re.I)
_CLOSES_PHRASE = re.compile(r"(?:\s+(?:person|type|fan))?(?:\s+(?:at\s+all|whatsoever))?\b", re.I)
_BACK_REFERENCES = frozenset({"that", "it", "them", "those", "this", "these"})
_LEADS_BACK = frozenset({"with", "of", "in", "on", "like", "from"})
_NOT_EXAMPLES = frozenset({"last", "before", "usual", "normal", "always", "every", "what", "how", "her", "his",
                           "their", "our", "your", "mine", "hers", "theirs", "she", "he", "they", "we"})


def _phrases_after(text: str, start: int, examples: bool = False) -> tuple[list[str], int, int | None]:
    """The phrases a negation cue (or, with `examples`, a "like" after one) rules out, from
    `start`: (phrases, where they end, where a "like ..." of examples starts or None). A phrase
    ends at punctuation, a stop word or `_MAX_PHRASE_WORDS` words."""
    if examples:
        lead = _EXAMPLES.match(text, start)
        if lead is None:
            return [], start, None
        start = lead.end()
    phrases: list[str] = []
    words: list[str] = []
    end, degree, examples_at = start, False, None
    for tok in _WORD_OR_MARK.finditer(text, start):
        word = tok.group().lower().replace("’", "'").strip("'")  # 'live laugh love' in quotes
        if not word or not (word[0].isalnum() or word[0] == "_"):
            if tok.group() in ("'", '"', "‘", "“", "”") and not words:
                continue  # an opening quote: the quoted words are the phrase
            if tok.group() == "," and words and not examples and _EXAMPLES.match(text, tok.start()):
                examples_at = tok.start()  # "nothing loud, like drums"
            break  # punctuation ends the clause
        if word in ("and", "or", "nor"):
            if not words:
                break
            phrases.append(" ".join(words))
            words = []
            continue
        if not words and not phrases and word in _DEGREE and not degree and not examples:
            degree = True  # "nothing too fancy": the style after the degree
            continue
        if not words and degree and word in _NOT_A_STYLE:
            break
        if not words and word in _LEAD_SKIP:
            continue
        if not words and (word in _NOT_THINGS or word[0].isdigit() or word in ORDINALS
                          or (examples and word in _NOT_EXAMPLES)):
            break
        if word in ("like", "such", "eg") and words and not examples:
            examples_at = tok.start()
            break
        if word in _PHRASE_STOP:
            if word in _BACK_REFERENCES and words and words[-1] in _LEADS_BACK:
                words = []  # "nothing scented with that": what "that" stands for was said before
            break
        words.append(word)
        end = tok.end()
        if len(words) == _MAX_PHRASE_WORDS:
            break
    if words:
        phrases.append(" ".join(words))
        end += 1 if text[end:end + 1] in ("'", '"', "’", "”") else 0  # the closing quote goes with it
    return phrases, end, examples_at


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
        phrases, end, stop = _phrases_after(text, cue.end())
        phrases = [p for p in phrases if p not in ITEM_LOOKS]  # "doesn't like the colour": that item's
        if stop is not None and phrases:  # rule "examples of what is ruled out": "nothing messy like glitter"
            examples, examples_end, _ = _phrases_after(text, stop, examples=True)
            phrases, end = (phrases + examples, examples_end) if examples else (phrases, end)
        if phrases:
            # "not a candle person at all": the span takes the words that close the phrase
            closing = _CLOSES_PHRASE.match(text, end)
            out.append((cue.start(), closing.end() if closing else end, phrases))
    for after in _NO_AFTER.finditer(text):
        thing = after.group("thing") or after.group("thing2")
        words = [w for w in thing.lower().split() if w not in _PHRASE_STOP | _LEAD_SKIP | {"so", "and"}]
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


_ANY_OF = re.compile(r"^(?:(?:anything|something|everything|any|stuff|not|no|nothing|too|overly|that'?s|that\s+is)\s+)+"
                     r"(?=\w)", re.IGNORECASE)


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
