"""What a need says: its head noun, its separate wants, and its words without filler.

Code, not a language model: the composer matches a need's text against item texts, and
these helpers decide which words of "a few hanging wicker bits for me" or "something
gingham and something from your star range" carry the want.
"""

from __future__ import annotations

import re

from assistant.understand.words import PLEASANTRIES, stem, tokens

__all__ = [
    "GENERIC_HEADS",
    "MAX_NEED_PARTS",
    "NEED_FILLER",
    "NOT_A_THING_HEADS",
    "PREPOSITIONS",
    "TASTE_WORDS",
    "chosen_mention",
    "containers_named",
    "kind_mention",
    "need_core",
    "need_head",
    "need_parts",
    "spelt_out",
    "taste_only",
    "tidy_need",
    "wanted_things",
    "words_to_look_for",
]

# Words that split a need into its head phrase and the rest ("gift FOR a child").
PREPOSITIONS = frozenset({
    "for", "with", "to", "of", "from", "in", "on", "at", "by", "under", "below", "about",
    "like", "around", "within", "without", "than", "over"
})
NEED_FILLER = frozenset({
    "a", "an", "the", "some", "my", "our", "your", "his", "her", "their", "nice", "good",
    "cheap", "lovely", "pretty", "something", "anything", "stuff", "thing", "things", "bit",
    "bits", "few", "one", "two", "three", "four", "five", "i", "me", "we", "us", "it"
})
# Words of taste before a listed thing ("pretty cups", "nice glasses"): they name no thing.
TASTE_WORDS = frozenset({"nice", "lovely", "pretty", "cute", "fun", "posh", "fancy", "cheap", "good", "little",
                         "spooky", "sparkly", "quirky", "festive"})
GENERIC_HEADS = frozenset({
    "gift", "present", "idea", "treat", "surprise", "bundle"
})
# Last words (stems) that end a listed phrase without naming a thing to buy: the words
# before them describe the need, not a product ("cosy stuff", "a tea and cake person",
# "kit her out", "pins, the works", "a little celebration gift").
NOT_A_THING_HEADS = GENERIC_HEADS | frozenset({
    "stuff", "thing", "bit", "lot", "few", "set", "selection", "collection", "range", "person", "people",
    "type", "sort", "kind", "one", "out", "up", "work", "everything", "something", "anything",
    # a party said as "a do" or "a bash" ("garden do"), and "whatever else"
    "do", "bash", "else", "whatever",
})

# Rule "short forms": shopper shorthand spelt out before a request is matched by meaning
# (the sentence model places "off to university" near its need, "off to uni" nowhere).
#   match: "off to uni" -> "off to university", "xmas table" -> "christmas table",
#          "her bday" -> "her birthday", "pressies for the kids" -> "presents for the kids",
#          "xmas decs" -> "christmas decorations", "my bf" -> "my boyfriend",
#          "the wee ones" -> "the little ones"
#   no match: "unicorn", "union jack", "universal", "decsription", "bfg"
SHORT_FORMS = {
    "uni": "university", "xmas": "christmas", "bday": "birthday", "b'day": "birthday", "pressie": "present",
    "pressies": "presents", "hols": "holidays", "hubby": "husband", "bestie": "best friend",
    "bff": "best friend", "grandkids": "grandchildren", "prezzie": "present", "prezzies": "presents",
    "decs": "decorations", "deccies": "decorations", "bf": "boyfriend", "gf": "girlfriend", "wee": "little",
    "postie": "postman", "coworker": "colleague", "co-worker": "colleague", "workmate": "colleague",
    "cuppa": "cup of tea", "cuppas": "cups of tea",
}
_SHORT_FORM = re.compile(r"(?<![\w'])(" + "|".join(map(re.escape, SHORT_FORMS)) + r")(?![\w'])", re.IGNORECASE)


def spelt_out(text: str) -> str:
    """`text` with each shopper short form spelt out (rule "short forms")."""
    return _SHORT_FORM.sub(lambda m: SHORT_FORMS[m.group(1).lower()], text)


def need_head(need: str) -> str | None:
    """The head noun of a need: the last meaningful word before a preposition
    ("wedding dress" -> dress, "gift for a child" -> gift, "something for the garden" -> garden)."""
    chunks: list[list[str]] = [[]]
    for word in tokens(need):
        if word in PREPOSITIONS:
            chunks.append([])
        elif word not in NEED_FILLER and not re.fullmatch(r"[\d.,£$€]+", word):
            chunks[-1].append(word)
    for chunk in chunks:
        if chunk:
            return stem(chunk[-1])
    return None


_PART_SPLIT = re.compile(r"\s*(?:[,;&+/]|\band\b|\bor\b|\bplus\b"
                         r"|\b(?:who|that|which)\s+(?:likes?|loves?|enjoys?|adores?|is into|are into)\b)\s*",
                         re.IGNORECASE)  # "a girl who likes unicorns": the person, then the want
_RANGE_OF = re.compile(r"\b(?:from|in) (?:your|the) (.+?) (?:range|section|collection|department)\b", re.IGNORECASE)
MAX_NEED_PARTS = 4


_FILLER_WORD = re.compile(r"\b(?:" + "|".join(sorted(NEED_FILLER, key=len, reverse=True)) + r")\b",
                          re.IGNORECASE)


def need_core(need: str) -> str:
    """The need without its filler words ("a few hanging wicker bits for me" -> "hanging
    wicker"): "bits", "things", "a few" only dilute the text embedding. The need itself
    when nothing else is left."""
    words = _FILLER_WORD.sub(" ", need).split()
    while words and words[-1].lower().strip(",.!?-") in PREPOSITIONS:
        words.pop()
    while words and words[0].lower().strip(",.!?-") in PREPOSITIONS:
        words.pop(0)
    core = " ".join(words).strip(" ,.!?-")
    return core if re.search(r"[^\W\d_]{2,}", core) else need


def need_parts(need: str) -> list[str]:
    """The separate wants in one need ("gingham and star" -> ["gingham", "star"]; "from your
    cushion cover range" -> "cushion cover"), at most MAX_NEED_PARTS, each with a word."""
    text = _RANGE_OF.sub(lambda m: m.group(1), need)
    parts = [p.strip(" .!?-") for p in _PART_SPLIT.split(text)]
    parts = [p for p in dict.fromkeys(parts) if re.search(r"[^\W\d_]{3,}", p)]
    return parts[:MAX_NEED_PARTS]


def kind_mention(mention: str, text: str) -> bool:
    """Does the shopper's text use this item mention as a kind of thing rather than one
    item? "something lace", "some stool", "anything gingham", "from your cushion cover
    range", or a mention that is itself a list ("gingham and", "bowl & jar"). A small parser
    puts such words in `items`; resolved to one catalog item they would become an anchor the
    shopper never chose."""
    words = mention.strip().lower()
    if not words:
        return False
    if re.search(r"(?:\band\b|&|,|\bor\b)", words):
        return True
    said = " ".join(text.lower().split())
    quoted = re.escape(" ".join(words.split()))
    return bool(re.search(rf"\b(?:something|some|anything|more)\s+(?:from\s+(?:your|the)\s+)?{quoted}\b", said)
                or re.search(rf"\b(?:your|the)\s+{quoted}\s+(?:range|section|collection|department)\b", said))


def chosen_mention(mention: str, text: str) -> bool:
    """Rule "the one named is chosen": an item mention the shopper says with "the", "that",
    "this" or "your" points at one product to build around, even beside a list of kinds.
        chosen:     "love the dairy maid teapot!! something to match, maybe cups & a cosy",
                    "my gran has the strawberry teapot and wants more strawberry stuff",
                    "obsessed with that union jack doorstop"
        not chosen: "a teapot, pretty cups and a cake stand for an afternoon tea",
                    "we're putting the tree up on sunday - baubles, something for the top",
                    "got any hot water bottles? one with a dog on", "teapots for the table"
    """
    words = " ".join(mention.lower().split())
    words = re.sub(r"^(?:the|that|this|your|a|an|some)\s+", "", words)
    if len(words.split()) < 2:
        return False  # "the tree", "the mug": a kind the sentence is about, no product chosen
    said = " ".join(text.lower().replace("’", "'").split())
    return bool(re.search(rf"\b(?:the|that|this|your)\s+{re.escape(words)}\b", said))


_LOOSE_ENDS = re.compile(r"^(?:\s*(?:and|or|&|,|\+)\s+)+|(?:\s+(?:and|or|&|,|\+))+\s*$|^[\s,&+]+|[\s,&+]+$",
                         re.IGNORECASE)


def tidy_need(need: str) -> str:
    """A need without a dangling conjunction ("gingham and" -> "gingham")."""
    tidy = _LOOSE_ENDS.sub("", need.strip()).strip()
    return "" if re.fullmatch(r"(?:and|or|&|,|\+|\s)*", tidy, re.IGNORECASE) else tidy


_WANT = re.compile(
    r"\b(?:something|anything)\s+(?:(?:from|in)\s+(?:your|the)\s+(?P<range>.+?)\s+"
    r"(?:range|section|collection|department)\b|(?P<kind>.+?)"
    r"(?=\s+(?:and|or|&|plus)\s+(?:something|anything)\b|\s*[?.!,;]|$))", re.IGNORECASE)
_NOT_A_WANT = re.compile(
    r"^(?:to|that|which|who|else|similar|cheaper|different|like|more|less|other|for\s+(?:it|this|that|them))\b",
    re.IGNORECASE)
_RANGE_WORDS = re.compile(r"\s+(?:range|section|collection|department)$", re.IGNORECASE)


def wanted_things(text: str) -> list[str]:
    """The kinds of things the shopper spells out with "something X" ("i also need something
    gingham and something from your cushion cover range" -> ["gingham", "cushion cover"]);
    [] when the text has none, or only "something to go with it", "something else",
    "something cheaper" (those are about the bundle, not a want). Pass the text without its
    exclusions (`exclusions.strip_exclusions`): "but no lace" is no want."""
    said = " ".join(text.split())
    wants = []
    for match in _WANT.finditer(said):
        want = _RANGE_WORDS.sub("", (match.group("range") or match.group("kind") or "").strip(" -"))
        if not want or _NOT_A_WANT.match(want) or not re.search(r"[^\W\d_]{3,}", want):
            continue
        wants.append(want)
    return list(dict.fromkeys(wants))[:MAX_NEED_PARTS]


# Rule "listed wants": things named one after another are each wanted.
#   "bunting, lanterns and paper plates" -> bunting | lanterns | paper plates
#   "need crackers, napkins, candles" -> crackers | napkins | candles
# A longer piece lists what comes before its purpose or recipient:
#   "party invites for my daughter's 7th and some fun wrap for the presents" -> party invites | fun wrap
#   "paper chains to hang in the hall" -> paper chains
# "Something X" and "something from your X range" list X; what is said around a request
# lists nothing:
#   "thanks! i also need something bicycle and something sewing" -> bicycle | sewing
#   "cheers, i'd also like something from your gift wrap range" -> gift wrap
# Chat joins things with "+", "/" and "n" too, and trails off with "that sort of thing":
#   "bunting + lanterns" -> bunting | lanterns;  "apron + tins + whatever else" -> apron | tins
#   "plates/cups" -> plates | cups;  "the doorstop n the big owl bag" -> doorstop | big owl bag
#   "paper plates napkins that sort of thing" -> paper plates napkins (the shop splits the run)
_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bplus\b|\bn\b|&|\+|(?<=[^\W\d_])/(?=[^\W\d_])|\s[–—-]\s|[.!?:()])\s*",
                         re.IGNORECASE)
_LIST_LEAD = re.compile(r"^(?:(?:next|now|then|ok|okay|so|right|and)\s+|"
                        r"(?:(?:i|we)(?:'m|'re|'d|\s+am|\s+are|\s+would)?(?:\s+(?:also|really|still|just|now|then))?\s+)?"
                        r"(?:need|want|like|after|looking\s+for)\s+|"
                        r"(?:something|anything)\s+(?:(?:from|in)\s+(?:your|the)\s+)?|some\s+|a\s+|an\s+|the\s+|"
                        r"nice\s+|little\s+|maybe\s+|please\s+|also\s+)+", re.IGNORECASE)
_PURPOSE_ONLY = re.compile(r"(?:for|to|from|with|at|on|in|into)\b", re.IGNORECASE)
_LIST_RANGE = re.compile(r"\s+(?:range|section|collection|department)$", re.IGNORECASE)
_LIST_TAIL = re.compile(r"\s+(?:please|pls|too|as well|etc|and so on|or (?:that|stuff|whatever|something)"
                        r"|(?:that|this) (?:sort|kind|type) of (?:thing|stuff)|(?:or )?whatever else)$", re.IGNORECASE)
# only a purpose ("for the presents", "to hang"): "easter lunch for 6" and "a night in for
# me and my other half" name an occasion and who it is for, no thing
_LIST_PURPOSE = re.compile(r"\s+(?:for\s+the|to\s+(?!(?:the|a|an|my|our|your|his|her|their|me|us|them)\b)[a-z]{3,})\b.*$",
                           re.IGNORECASE)


# Colours, materials and looks say how a thing should look, not what it is ("white and
# natural wood": no white and no wood are wanted as things).
_LOOK_WORDS = frozenset({
    "white", "red", "pink", "blue", "green", "black", "yellow", "purple", "gold", "silver", "cream",
    "natural", "wood", "wooden", "vintage", "retro", "pretty", "cute", "nice", "little", "big", "small",
    "large", "fun", "pastel", "sparkly", "posh", "cosy", "rustic", "modern", "simple", "bright",
    "romantic", "spooky", "festive", "quirky",
})


_JOINERS = {",": "\x00c", "&": "\x00a", " and ": "\x00n"}


def _whole(name: str) -> str:
    for joiner, mark in _JOINERS.items():
        name = name.replace(joiner, mark)
    return name


def _unwhole(piece: str) -> str:
    for joiner, mark in _JOINERS.items():
        piece = piece.replace(mark, joiner)
    return piece


_INTENSIFIERS = frozenset({"so", "very", "much", "a", "lot", "loads", "you", "u", "again", "all", "x", "xx", "guys"})


def _pleasantry(piece: str) -> bool:
    """"thanks", "thankyou sooo much", "hi there": said around a request, no thing wanted."""
    words = piece.lower().split()
    for lead in (2, 1):
        if len(words) >= lead and " ".join(words[:lead]) in PLEASANTRIES:
            return all(word in _INTENSIFIERS or re.fullmatch(r"s+o+", word) for word in words[lead:])
    return False


# Rule "liking is no thing": a verb of liking names no thing to buy, the noun does.
#   "my wife loves all things french" -> "my wife  all things french" (no love hearts asked)
#   "she'd love a cuppa" -> "she'd  a cuppa";  "love hearts for the table" stays
_LIKING = re.compile(r"\b(?:loves|loved|loving|adores?|likes)\b|\blove(?=\s+(?:a|an|all|the|her|his|their|my|our|"
                     r"anything|everything|it|them|to|this|that|these|those|you|u|me|us)\b)", re.IGNORECASE)


def without_liking(text: str) -> str:
    """The text without its verbs of liking (rule "liking is no thing")."""
    return _LIKING.sub(" ", text)


def says_liking(text: str) -> bool:
    """Does the text say someone likes something, with a verb (rule "liking is no thing")?"""
    return bool(_LIKING.search(text))


def listed_wants(text: str, limit: int = 6, longest: int = 3) -> list[str]:
    """Short phrases (one to `longest` words) the text lists, in the order said, that name a
    thing rather than only a look; whether each is sold, or is a run of things said without
    commas ("mug teapot cake stand"), is for the caller to decide."""
    out: list[str] = []
    # a range's name is one thing however it is punctuated ("from your bag & handbag range")
    text = _RANGE_OF.sub(lambda m: m.group(0).replace(m.group(1), _whole(m.group(1))), text.replace("’", "'"))
    for piece in _LIST_SPLIT.split(text):
        piece = _LIST_TAIL.sub("", _LIST_LEAD.sub("", _unwhole(piece).strip(" -–—"))).strip(" -–—")
        piece = _LIST_RANGE.sub("", piece)
        if _pleasantry(piece) or _PURPOSE_ONLY.match(piece):
            continue  # "thanks!"; "something for the table" says what for, not what
        if len(piece.split()) > 3:
            piece = _LIST_PURPOSE.sub("", piece)
        words = piece.split()
        if words and all(word.lower() in _LOOK_WORDS for word in words):
            continue
        if 1 <= len(words) <= longest and re.search(r"[^\W\d_]{3,}", piece):
            out.append(piece.lower())
    return list(dict.fromkeys(out))[:limit]


# Rule "containers": the thing the wanted things go in is not itself wanted ("stocking
# fillers" are toys and sweets, not a stocking; "bits to put in their party bags").
_CONTAINER = re.compile(
    r"\b((?:[a-z]+ )?[a-z]+?)[ -]fillers?\b"
    r"|\b(?:fillers?|bits|things|treats|goodies|stuff) (?:to (?:put|tuck|pop|go) in(?:to)?|for) "
    r"(?:the |their |my |our |his |her |a |each )?(?:kids' |children's |kid's |child's )?((?:[a-z]+ )?[a-z]+)\b"
    r"|\bto fill (?:the |their |my |our |his |her |a |each )?((?:[a-z]+ )?[a-z]+)\b",
    re.IGNORECASE)
_HOLDERS = frozenset({"stocking", "sack", "bag", "hamper", "box", "basket", "calendar", "jar", "tin", "cracker"})


def containers_named(text: str) -> tuple[str, ...]:
    """What the shopper's wanted things go in ("stocking fillers": "stocking"; "bits to put
    in their party bags": "party bag"), as the words said it, singular; only things that hold
    others (a stocking, sack, bag, hamper, box, basket, calendar, jar, tin, cracker)."""
    out: list[str] = []
    for match in _CONTAINER.finditer(text.replace("’", "'")):
        phrase = next(group for group in match.groups() if group).lower().split()
        while phrase and stem(phrase[-1]) not in _HOLDERS and len(phrase) > 1:
            phrase = phrase[1:]
        if phrase and stem(phrase[-1]) in _HOLDERS:
            out.append(" ".join([*phrase[:-1], stem(phrase[-1])]))
    return tuple(dict.fromkeys(out))


_NOT_PLAIN = re.compile(r"\b(?:for|to|who|that|which|with|my|her|his|their|our|your)\b", re.IGNORECASE)
_MORE_TASTE = frozenset({"special", "different", "unusual", "useful", "practical", "personal", "else", "extra"})


def words_to_look_for(text: str) -> bool:
    """Rule "spelt wants": does the shopper spell out "something X" with plain words to find
    ("something gingham and something star", "something from your gift wrap range")? Those
    are matched by their words, not as an occasion they only resemble ("something tea" is no
    tea party). "something nice for mum", "something with unicorns" and "something pretty"
    (a look, not a thing) say more than a word to find. Pass the text without exclusions."""
    for want in wanted_things(text):
        words = [word for word in tokens(want) if word not in NEED_FILLER]
        if words and not _NOT_PLAIN.search(want) and not all(
                word in TASTE_WORDS or word in _LOOK_WORDS or word in _MORE_TASTE for word in words):
            return True
    return False


# Rule "taste only": a need that names nothing but the shopper's own liking is their taste,
# served from what they bought and picked ("surprise me with a bundle of things I'd like",
# "something I'd love", "my usual stuff"); "things I'd like for the garden" or "surprise me
# with candles" names a thing.
_TASTE_ONLY = re.compile(
    r"\b(?:(?:(?:a\s+)?(?:bundle|selection)\s+of\s+)?(?:things?|stuff|something|anything|bits)\s+"
    r"(?:(?:i'?d|i\s+would|i'll|i\s+will|i\s+might|you\s+think\s+i'?d|you\s+reckon\s+i'?d)\s+)"
    r"(?:really\s+|probably\s+)?(?:like|love|enjoy|fancy)"
    r"|surprise\s+me(?!\s+with\s+(?!(?:a\s+(?:bundle|selection)\s+of\s+)?(?:things|stuff|something|bits)\b))"
    r"|my\s+usual(?:\s+(?:stuff|things|bits))?"
    r"|(?:things|stuff)\s+based\s+on\s+what\s+i\s+(?:usually\s+)?(?:buy|bought|like))"
    r"(?!\s+(?:for|with|in|from|to|and)\b)", re.IGNORECASE)


def taste_only(need: str) -> bool:
    """Does the need name only the shopper's liking, no thing ("a bundle of things I'd like")?"""
    return bool(_TASTE_ONLY.search(need.replace("’", "'")))
