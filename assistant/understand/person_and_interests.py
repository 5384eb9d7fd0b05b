"""Who a bundle is for, and what they are into, from the shopper's English.

Code, not a language model: "a present for my nan's 80th" is for a nan; "my sister who
loves candles and gardening" is for a sister with two interests. The person is always who
the bundle is for, never the thing searched for: "a teapot for my nan" is for a nan, and
the words of a product title ("Mum's Kitchen Clock", "Baby Gift Set") name no one.

Each rule below is a small function named for what it reads, with examples. People come
from a closed list of relations (so an item can never be taken for a person); interests
are the shopper's own words, lightly tidied ("loves to bake" -> "baking").
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

__all__ = ["Recipient", "interest_spans", "names_only_a_person", "recipient_in", "without_interests"]

_MAX_INTERESTS = 6


@dataclasses.dataclass(frozen=True)
class Recipient:
    """Who the bundle is for (a relation as said: "nan", "boss", "new mum") and their
    interests ("coffee", "gardening"); None and () when the words say neither."""

    person: str | None = None
    interests: tuple[str, ...] = ()


def _said(text: str) -> str:
    """Lower-case text with straight apostrophes and single spaces (offsets refer to it)."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    return " ".join(text.lower().split())


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]?")
                    for w in sorted(words, key=len, reverse=True))


# Plural guests ("friends", "family", "guests") are a party's size, not a recipient.
_RELATIONS = [
    "mum", "mom", "mummy", "mommy", "mam", "mother", "mother-in-law", "mum-in-law", "step-mum",
    "dad", "daddy", "father", "father-in-law", "step-dad", "old man", "parents", "in-laws",
    "nan", "nana", "nanna", "nannie", "gran", "granny", "grandma", "grandmother", "grandad",
    "granddad", "grandpa", "grandfather", "grandparents", "great-grandma", "great-grandad",
    "sister", "sis", "sister-in-law", "brother", "bro", "brother-in-law", "son", "daughter",
    "son-in-law", "daughter-in-law", "kids", "children", "child", "grandson", "granddaughter",
    "grandkids", "grandchildren", "grandchild", "niece", "nephew", "cousin", "aunt", "auntie",
    "aunty", "uncle", "godson", "goddaughter", "godchild", "godmother", "godfather", "wife",
    "husband", "partner", "boyfriend", "girlfriend", "fiance", "fiancee", "fiancé", "fiancée",
    "other half", "better half", "friend", "best friend", "bestie", "best mate", "mate", "pal",
    "bff", "neighbour", "neighbours", "neighbor", "host", "hostess", "hosts", "colleague",
    "colleagues", "co-worker", "workmate", "boss", "manager", "line manager", "team",
    "teacher", "teachers", "teaching assistant", "head teacher", "nursery teacher", "nurse",
    "doctor", "carer", "childminder", "new mum", "new mom", "new mother", "new dad",
    "new parents", "mum-to-be", "mom-to-be", "mother-to-be", "bride", "groom", "bride-to-be",
    "couple", "happy couple", "newlyweds", "baby", "newborn", "toddler", "little one",
    "little ones", "teenager", "teen", "student", "girl", "boy", "little girl", "little boy",
    "lady", "man", "gent", "gentleman", "woman", "hubby", "wifey", "bf", "gf", "postie", "postman",
]
_RELATION = rf"(?:{_alternation(_RELATIONS)})"
_DETERMINER = r"(?:my|ma|our|a|an|the|his|her|their|your)"
# Words that may stand between a determiner and the relation ("my lovely old nan").
_QUALIFIER = (r"(?:new|little|big|older|younger|elder|eldest|oldest|youngest|baby|lovely|dear|old|"
              r"favourite|favorite|wonderful|amazing|special|elderly|darling|teenage|grown[\s-]up|"
              r"\d{1,3}[\s-]?(?:year|yr)s?[\s-]?old)")
# A relation followed by one of these is part of a product's name ("baby gift set").
_PRODUCT_AFTER = (r"(?!'?s?\s+(?:gift\s+set|gift\s+box|bibs?|bunting|mugs?|cups?|cards?|wrap|bags?|"
                  r"box(?:es)?|bottles?|dolls?|sets?|clocks?|signs?|candles?|t-lights?|aprons?|"
                  r"lunch|kitchen|cutlery|egg)\b)")
_PERSON = (rf"(?:{_DETERMINER}\s+)?(?:{_QUALIFIER}\s+)*?(?P<rel>{_RELATION})\b{_PRODUCT_AFTER}"
           rf"(?:\s*(?:and|&)\s+(?:{_DETERMINER}\s+)?(?P<rel2>{_RELATION})\b{_PRODUCT_AFTER})?")
# "my son's teacher", "my kids' teacher", and typed without the apostrophe "my kids teacher"
_CHAIN = re.compile(rf"(?:'s?)?\s+(?:{_QUALIFIER}\s+)*(?P<rel>{_RELATION})\b{_PRODUCT_AFTER}")


_ONLY_A_PERSON = re.compile(rf"(?:(?:{_DETERMINER}|ma|me|wor)\s+)?(?:{_QUALIFIER}\s+)*{_RELATION}(?:'s?)?")


def names_only_a_person(mention: str) -> bool:
    """Rule "a person is no item": "ma auntie", "my kids", "the little ones" name who the
    bundle is for, never a product; "baby bibs", "mum's kitchen clock" name products."""
    return bool(_ONLY_A_PERSON.fullmatch(_said(mention).strip(" .,!?")))


def _person_from(match: re.Match[str], said: str) -> str:
    """The relation a person match names, following a possessive chain to its end
    ("my son's teacher" -> teacher) and joining a pair ("mum and dad")."""
    person = match.group("rel")
    end = match.end("rel")
    while (chained := _CHAIN.match(said, end)) is not None:
        person, end = chained.group("rel"), chained.end("rel")
    if match.group("rel2") and end == match.end("rel"):
        person = f"{person} and {match.group('rel2')}"
    return " ".join(person.split())


_FOR_SOMEONE = re.compile(rf"\b(?:for|to)\s+{_PERSON}")


def _for_someone(said: str) -> str | None:
    """Rule "for someone": the relation after "for" or "to" is who the bundle is for.
    "a teapot for my nan" -> nan; "do for my nan's 80th" -> nan; "a gift to my boss" ->
    boss; "for my son's teacher" -> teacher; "for my mum and dad" -> mum and dad;
    "for a new mum" -> new mum. Not "for six friends" (guests) nor "for the Baby Gift Set"."""
    match = _FOR_SOMEONE.search(said)
    return _person_from(match, said) if match else None


_POSSESSED = re.compile(rf"\b(?:my|our)\s+(?:{_QUALIFIER}\s+)*?(?P<rel>{_RELATION})\b{_PRODUCT_AFTER}"
                        rf"(?:\s*(?:and|&)\s+(?:my\s+|our\s+)?(?P<rel2>{_RELATION})\b{_PRODUCT_AFTER})?")


def _my_someone(said: str) -> str | None:
    """Rule "my someone": with no "for", the first relation after "my"/"our".
    "my sister who loves candles" -> sister; "my boss is leaving" -> boss;
    "my little brother's birthday" -> brother; "our neighbours" -> neighbours."""
    match = _POSSESSED.search(said)
    return _person_from(match, said) if match else None


_OCCASION_OF = re.compile(
    rf"\b(?P<rel>{_RELATION})'s?\s+(?:\w+\s+)?(?:birthday|bday|retirement|wedding|anniversary|"
    r"christening|leaving|graduation|engagement|baby shower|hen|stag|party|\d{1,3}(?:st|nd|rd|th))\b")


def _someones_occasion(said: str) -> str | None:
    """Rule "someone's occasion": a relation owning an occasion, no "my" needed.
    "mum's birthday" -> mum; "grandad's 90th" -> grandad; "teacher's leaving do" ->
    teacher; not "Mum's Kitchen Clock" (a clock is no occasion)."""
    match = _OCCASION_OF.search(said)
    return match.group("rel") if match else None


_GIFT_FOR_KIND = re.compile(rf"\b(?P<rel>{_RELATION})'?\s+(?:gifts?|presents?|pressies?|thank[\s-]?yous?)\b"
                            r"(?!\s+(?:set|box|bag|wrap|tag|card)s?\b)")


def _someone_gift(said: str) -> str | None:
    """Rule "someone gift": a relation naming the kind of present.
    "teacher gift ideas" -> teacher; "a new mum present" -> new mum; "grandad
    pressies" -> grandad; not "the Baby Gift Set" (a product)."""
    match = _GIFT_FOR_KIND.search(said)
    return match.group("rel") if match else None


_AGED = re.compile(r"\b(?:for\s+)?(?:a|an|my|our|the)\s+(?P<age>\d{1,3}|one|two|three|four|five|six|seven|"
                   r"eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)"
                   r"[\s-]?(?:year|yr)s?[\s-]?old\b(?!\s+(?:" + _RELATION + r")\b)")
_AGE_WORDS = {word: age for age, word in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
     "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"])}


def _someone_of_age(said: str) -> str | None:
    """Rule "someone of an age": an age alone says child or teenager.
    "for a 6 year old" -> child; "my 15-year-old" -> teenager; "an eight year old" ->
    child; "a 40 year old" -> adult. An age before a relation is left to the other
    rules ("a 6 year old girl" -> girl)."""
    match = _AGED.search(said)
    if not match:
        return None
    age_text = match.group("age")
    age = int(age_text) if age_text.isdigit() else _AGE_WORDS[age_text]
    return "child" if age <= 12 else "teenager" if age <= 19 else "adult"


_SELF = re.compile(r"\b(?:(?:treat|spoil|pamper)(?:ing)?\s+myself|for\s+myself|"
                   r"(?:something|gift|present|treat|bundle)\s+(?:just\s+)?for\s+me)\b"
                   # bits, stuff or things say no one unless nothing says what they are
                   r"|(?:^|[,;:.!?]\s*|\b(?:some|any|nice|little|lovely|cute|pretty|fun|few|fab|cool)\s+)"
                   r"(?:bits|stuff|things?)\s+(?:just\s+)?for\s+me\b")


def _myself(said: str) -> str | None:
    """Rule "myself": the shopper buying for themself.
    "a treat for myself" -> myself; "something just for me" -> myself; "treat myself"
    -> myself; "some nice bits for me" -> myself; not "find me a teapot", "choose for me"
    nor "some hanging wicker bits for me" (wicker things, whoever they are for)."""
    return "myself" if _SELF.search(said) else None


_LIKER = re.compile(rf"\b(?:the|my|our)\s+(?:{_QUALIFIER}\s+)*?(?P<rel>{_RELATION})\s+(?:who\s+)?(?:really\s+|also\s+)?"
                    r"(?:loves?|likes?|adores?|enjoys?|collects?|(?:is|are|'re|'s)\s+(?:really\s+)?into)\b")


def _someone_who_likes(said: str) -> str | None:
    """Rule "someone who likes": the relation a liking verb is said of.
    "the kids love dinosaurs" -> kids; "the teacher likes gin" -> teacher;
    "the twins are into space" is not a relation (twins) and says no one."""
    match = _LIKER.search(said)
    return match.group("rel") if match else None


# A clause's subject: the message's start, or after a sentence's end, a comma or an emoji.
_CLAUSE_START = r"(?:^|[.!?;:,]\s*|[\u2600-\u27bf\U0001f300-\U0001faff]\s*|\b(?:and|but|so)\s+)"
_SUBJECT = re.compile(
    rf"{_CLAUSE_START}(?:(?:the|a|an|our|his|her|their)\s+)?(?:{_QUALIFIER}\s+)*?(?P<rel>{_RELATION})\b{_PRODUCT_AFTER}"
    r"(?=\s+(?:is|are|was|were|has|have|had|will|just|always|never|recently|turns|turned|moved|moving|reads|"
    r"knits|bakes|cooks|loves|likes|collects|starts|started|retires|retiring|leaves|leaving|goes|going|"
    r"gets|getting|deserves)\b|'s\s+(?:been|got|just|turning|going|leaving|moving|retiring|starting)\b|'re\s)")


def _someone_as_subject(said: str) -> str | None:
    """Rule "someone as the subject": a relation a clause is about, with no "for" or "my".
    "grandad is 90 on saturday" -> grandad; "the nursery teacher is leaving" -> nursery
    teacher; "a colleague is going on maternity leave" -> colleague; "new neighbours moved
    in" -> neighbours; "bf reads loads" -> bf. Not "the kids cutlery is lovely" (a product)
    nor "is the mum bag in stock" (no clause starts at the relation)."""
    match = _SUBJECT.search(said)
    return match.group("rel") if match else None


_PERSON_RULES = (_for_someone, _someones_occasion, _someone_gift, _someone_of_age, _my_someone,
                 _someone_who_likes, _someone_as_subject, _myself)


# --- interests ---------------------------------------------------------------------------
_NEGATED = r"(?<!n't )(?<!not )(?<!never )(?<!no longer )"
_LIKING = re.compile(
    _NEGATED + r"\b(?:(?:loves|likes|enjoys|adores|collects|fancies)"
    r"|(?P<subject>who|they|both|all|kids|children|girls|boys|twins|and)\s+"
    r"(?P<base>(?:really\s+|also\s+)?(?:love|like|enjoy|adore|collect))"
    r"|(?:is|'s|are|'re|really|very|big|massively|totally|also)\s+into"
    r"|(?:is|'s|are|'re)\s+(?:mad|crazy|nuts|obsessed|potty)\s+(?:about|with|on)"
    r"|(?:is|'s|are|'re)\s+(?:passionate|keen|fond|a\s+fan|a\s+(?:big|huge|massive)\s+fan)\s+(?:about|on|of)"
    r"|(?:a\s+)?(?:(?:big|huge|massive|great)\s+)?fan\s+of|can't\s+get\s+enough\s+of)\s+",
    re.IGNORECASE)
# Where a list of liked things ends: a new clause, a budget, a question.
_LIST_END = re.compile(
    r"\s*(?:[.;:!?()]|\s-\s|,\s*(?:but|so|and\s+(?:she|he|they|we|i|it|is|has)|budget|under|around|max|"
    r"please|can|could|what|any|something|nothing|i|we|she|he|they)\b|\b(?:but|so|because|since|"
    r"for|who|which|that|when|if|please|budget|under|over|around|max|within|and\s+(?:she|he|they|"
    r"we|i|it|you|is|has|was|needs?|wants?|would)\b|'s\s+(?:birthday|retiring|leaving)|"
    r"(?:she|he|they)\s+(?:is|are|has|have|'s)\b))", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"\s*(?:,|&|\+|/|\band\b|\bor\b|\bplus\b|\bas well as\b)\s*")
_ITEM_LEAD = re.compile(r"^(?:(?:her|his|their|the|a|an|some|any|all|my|our|your|own|doing|"
                        r"going|making|all things|anything(?: to do)?(?: with)?|everything(?: to do with)?|"
                        r"any kind of|all kinds of|kinds of|sorts of)\s+)+")
_ITEM_TAIL = re.compile(r"(?:\s+(?:on it|on them|too|as well|also|a lot|so much|very much|loads|"
                        r"lots|really|things|stuff|related|themed))+$")
_TO_VERB = re.compile(r"^to\s+(?P<verb>[a-z]+)(?P<rest>.*)$")
_NOT_VERBS = frozenset({"the", "a", "an", "my", "her", "his", "their", "our", "go", "be", "have"})
_GERUNDS = {"bake": "baking", "cook": "cooking", "knit": "knitting", "sew": "sewing",
            "read": "reading", "travel": "travelling", "garden": "gardening", "paint": "painting",
            "draw": "drawing", "write": "writing", "sing": "singing", "dance": "dancing",
            "swim": "swimming", "run": "running", "walk": "walking", "craft": "crafting",
            "stitch": "stitching", "crochet": "crochet", "camp": "camping", "cycle": "cycling",
            "entertain": "entertaining", "host": "hosting", "decorate": "decorating"}


def _tidy_interest(item: str) -> str | None:
    """One liked thing as a short interest ("to bake" -> baking; "anything with cats on
    it" -> cats; "her garden" -> garden); None when nothing is left."""
    item = item.strip(" ,.'\"")
    to_verb = _TO_VERB.match(item)
    if to_verb and to_verb.group("verb") not in _NOT_VERBS:
        verb = to_verb.group("verb")
        gerund = _GERUNDS.get(verb, verb[:-1] + "ing" if verb.endswith("e") else verb + "ing")
        item = gerund + to_verb.group("rest")
    item = _ITEM_TAIL.sub("", _ITEM_LEAD.sub("", item)).strip()
    words = item.split()
    if not words or len(words) > 4 or not re.search(r"[a-z]{2,}", item):
        return None
    if re.search(r"£|\d", item) or words[0] in {"it", "them", "that", "this", "me", "you", "us"}:
        return None
    return item


def _liked_lists(said: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, interests) of each "loves X, Y and Z" clause."""
    found = []
    for verb in _LIKING.finditer(said):
        rest = said[verb.end():]
        end = _LIST_END.search(rest)
        span = rest[:end.start()] if end else rest
        items = [_tidy_interest(part) for part in _LIST_SPLIT.split(span)]
        kept = [item for item in items if item]
        if kept:
            # "the kids love X": the subject stays; only "who"/"and" are the clause's glue
            subject = verb.group("subject")
            start = verb.start("base") if subject not in (None, "who", "and") else verb.start()
            glue = re.search(r"(?:,?\s*\b(?:who|that|and)\b)?(?:\s*(?:'s|\bis|\bare|'re|\balso|\breally)\b)*\s*$",
                             said[:start])
            found.append((glue.start() if glue else start, verb.end() + len(span), kept))
    return found


def _likes_things(said: str) -> list[str]:
    """Rule "likes things": the list after a liking verb, about someone else.
    "loves coffee" -> coffee; "into gardening and birds" -> gardening, birds; "likes
    knitting and tea" -> knitting, tea; "who likes candles" -> candles; "a big fan of
    cats" -> cats; "loves to bake" -> baking; "is obsessed with anything with owls on it"
    -> owls. Not "I'd like a teapot" or "I love this" (the shopper's own wish) and not
    "doesn't like candles"."""
    return [item for _, _, items in _liked_lists(said) for item in items]


_INTENSE = r"(?:big|biggest|huge|massive|real|total|proper|mad|crazy|avid|keen|die[\s-]?hard|great)"
# "fan" is also a product ("a silk fan"), so a fan needs an intensifier: "a huge football fan".
_LOVER = re.compile(r"\b(?:(?:a|an|the)\s+)?(?:" + _INTENSE + r"\s+)?"
                    r"(?P<thing>[a-z][a-z'-]+(?:\s+[a-z][a-z'-]+)?)\s+"
                    r"(?P<suffix>lovers?|enthusiasts?|addicts?|fanatics?|nut|buff|junkie|fiend|obsessive|lady)\b"
                    r"|\b" + _INTENSE + r"\s+(?P<fanned>[a-z][a-z'-]+(?:\s+[a-z][a-z'-]+)?)\s+fans?\b")
_NOT_A_THING = frozenset({"a", "an", "the", "my", "her", "his", "their", "our", "old", "young", "nice",
                          "lovely", "little", "best", "is", "was", "she", "he", "they", "also", "such"})


def _thing_lover(said: str) -> list[str]:
    """Rule "thing lover": a noun before lover, fan, addict, enthusiast, buff.
    "a cat lover" -> cat; "a coffee addict" -> coffee; "a crazy cat lady" -> cat;
    "a massive football fan" -> football; "music buff" -> music. Not "a tea lady",
    "a big fan" on its own, nor "a silk fan" (a product)."""
    found = []
    for match in _LOVER.finditer(said):
        thing = match.group("thing") or match.group("fanned")
        words = [w for w in thing.split() if w not in _NOT_A_THING and not re.fullmatch(_INTENSE, w)]
        if words and (match.group("suffix") != "lady" or words[-1] in {"cat", "dog"}):
            found.append(" ".join(words))
    return found


_HOBBYISTS = {"gardener": "gardening", "baker": "baking", "knitter": "knitting", "reader": "reading",
              "bookworm": "reading", "cook": "cooking", "chef": "cooking", "foodie": "food",
              "traveller": "travel", "traveler": "travel", "globetrotter": "travel",
              "walker": "walking", "hiker": "walking", "cyclist": "cycling",
              "golfer": "golf", "photographer": "photography", "artist": "art", "crafter": "crafts",
              "painter": "painting", "musician": "music", "birdwatcher": "birds", "birder": "birds",
              "angler": "fishing", "fisherman": "fishing", "camper": "camping",
              "stitcher": "sewing", "quilter": "quilting", "chocoholic": "chocolate",
              "tea drinker": "tea", "coffee drinker": "coffee", "wine drinker": "wine",
              "gin drinker": "gin", "letter writer": "writing", "writer": "writing"}
_HOBBYIST = re.compile(r"\b(?:a|an|keen|avid|great|good|real|proper|passionate|big|budding|"
                       r"amateur|enthusiastic|dedicated|total)\s+(?P<who>"
                       + _alternation(list(_HOBBYISTS)) + r")s?\b")
_TRAIT = {r"green[\s-]?fingered": "gardening", r"bookish": "reading", r"arty|artsy": "art",
          r"crafty": "crafts", r"sporty": "sport", r"outdoorsy": "outdoors",
          r"(?:a\s+)?sweet\s+tooth": "sweets", r"tech[\s-]?savvy": "gadgets"}
_TRAITS = [(re.compile(rf"\b(?:{pattern})\b"), interest) for pattern, interest in _TRAIT.items()]


def _hobbyist(said: str) -> list[str]:
    """Rule "hobbyist": someone named by what they do, or a trait.
    "a keen gardener" -> gardening; "an avid reader" -> reading; "a bookworm" ->
    reading; "she's green-fingered" -> gardening; "has a sweet tooth" -> sweets.
    Not "I cook" (no article or adjective before the word)."""
    found = [_HOBBYISTS[" ".join(m.group("who").replace("-", " ").split())] for m in _HOBBYIST.finditer(said)]
    found += [interest for pattern, interest in _TRAITS if pattern.search(said)]
    if re.search(r"\bbookworm\b", said):
        found.append("reading")
    return found


_PLAYS = re.compile(r"\b(?:plays|(?:who|they)\s+play)\s+(?:the\s+)?(?P<game>[a-z]+)\b")
_NOT_PLAYED = frozenset({"with", "in", "on", "at", "outside", "out", "up", "a", "games", "around", "about"})


def _plays(said: str) -> list[str]:
    """Rule "plays": a game, sport or instrument played.
    "plays golf" -> golf; "who plays the guitar" -> guitar; not "plays with dolls"
    (that is for "likes"), nor "playing cards" (a product)."""
    return [m.group("game") for m in _PLAYS.finditer(said) if m.group("game") not in _NOT_PLAYED]


def _third_person(verb: str) -> str:
    return verb + "es" if verb.endswith(("ch", "sh", "s", "x")) else verb + "s"


# verbs that name a pastime whatever follows them ("runs", "walks", "hosts" often do not)
_PASTIMES = ("bake", "cook", "knit", "sew", "garden", "paint", "craft", "stitch", "crochet", "camp", "cycle",
             "read", "swim", "sing", "dance")
_DOES = re.compile(rf"\b(?:she|he|they|who|{_RELATION})\s+(?:also\s+|still\s+|really\s+|just\s+)?(?P<verb>"
                   + _alternation([_third_person(verb) for verb in _PASTIMES] + list(_PASTIMES)) + r")\b"
                   r"(?!\s+(?:to|for|me|us|you|with\s+me|in\s+it|out|up|over|back|home|on\s+time)\b)")
_ALWAYS = re.compile(r"\b(?:always|forever|constantly|non-?stop)\s+(?P<doing>"
                     + _alternation(list(_GERUNDS.values())) + r")\b")


def _does(said: str) -> list[str]:
    """Rule "does a hobby": what someone else does, said as a verb.
    "she bakes every single weekend" -> baking; "my friend, who reads three books a week" ->
    reading; "he's always gardening" -> gardening. Not "I bake" (the shopper), nor "they
    cook for us", nor "she runs a cafe" or "he walks to work" (only verbs that name a
    pastime whatever follows: `_PASTIMES`)."""
    found = []
    for match in _DOES.finditer(said):
        verb = match.group("verb")
        base = next(base for base in _PASTIMES if verb in (base, _third_person(base)))
        found.append(_GERUNDS[base])
    found += [m.group("doing") for m in _ALWAYS.finditer(said)]
    return found


_INTEREST_RULES = (_likes_things, _thing_lover, _hobbyist, _plays, _does)


def recipient_in(text: str) -> Recipient:
    """Who the bundle is for and what they like, from the shopper's words."""
    said = _said(text)
    person = next((p for rule in _PERSON_RULES if (p := rule(said))), None)
    interests: list[str] = []
    for rule in _INTEREST_RULES:
        for interest in rule(said):
            if interest not in interests and interest != person:
                interests.append(interest)
    return Recipient(person=person, interests=tuple(interests[:_MAX_INTERESTS]))


def interest_spans(text: str) -> list[tuple[int, int]]:
    """Where the "who loves X and Y" clauses are in the tidied text (`without_interests`
    cuts them out)."""
    return [(start, end) for start, end, _ in _liked_lists(_said(text))]


def without_interests(text: str) -> str:
    """The tidied, lower-case text without its liking clauses ("my sister who loves candles,
    budget £20" -> "my sister, budget £20"), so the rest can be read on its own."""
    said = _said(text)
    for start, end in reversed(interest_spans(text)):
        said = said[:start] + said[end:]
    return " ".join(said.split()).strip(" ,")
