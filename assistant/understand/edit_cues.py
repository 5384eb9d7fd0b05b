"""What a message says about the bundle on screen, read from the words when a small parser
misses it: keep this one, this one out, this instead of that, the price stings, and "do you
sell X?" (which asks to see X, on screen or not).

Each reader is a named rule in `rules.py` with examples both ways. `edit_on_screen` applies
them to a parse; the chain runs it on every turn (`chain.served_request`), so the eval,
which reads turns through the same function, scores what the shopper is served.
"""

from __future__ import annotations

import dataclasses
import re

from assistant.records import Request
from assistant.understand.amounts import budget_in, item_cap_in
from assistant.understand.person_and_interests import names_only_a_person
from assistant.understand.shopper_cues import (
    asks_to_redo,
    asks_to_swap,
    shopping_cue,
    wants_products,
)

__all__ = ["asks_for_another", "asks_if_sold", "asks_the_price", "edit_on_screen", "keeps", "more_like_this", "one_for_them_too", "only_thanks", "price_stings", "rather_have", "wants_out", "without_need_of_an_item_edit"]

_POINTING = r"(?:the|that|those|this|these|my|number|no\.?)"

# Rule "rather have this than that": a swap of what is on screen for the thing named.
#   "I'd rather have a teapot than that mug to be honest" -> (teapot, mug)
#   "rather have those skull doilies than the napkins tbh" -> (skull doilies, napkins)
# "I'd rather not have candles" rules candles out; "I'd rather spend less than £20" is money.
_RATHER_HAVE = re.compile(
    r"\brather\s+(?:have|get|go\s+for|see|take|put\s+in)\s+(?:a|an|some|the|those|these|that|this)?\s*"
    rf"(?P<wanted>[^,.;!?]+?)\s+than\s+{_POINTING}\s+(?P<going>[^,.;!?]+?)"
    r"\s*(?:[,.;!?]|\b(?:please|pls|tbh|to\s+be\s+honest|if|in\s+there|one)\b|$)", re.IGNORECASE)


def rather_have(text: str) -> tuple[str, str] | None:
    """(what goes in, what goes out) for "rather have X than the Y", else None."""
    found = _RATHER_HAVE.search(text)
    if found is None:
        return None
    return found.group("wanted").strip().lower(), found.group("going").strip().lower()


# Rule "keep it": the shopper wants an item to stay whatever else changes.
#   "number two is spot on, leave it where it is pls"; "bucket is a must. everything else
#   can change"; "dont u dare touch that teapot"; "the candle stays"; "hands off the mug"
# "keep it under £20" is money; "leave the candles out" takes them out.
_KEEPS = re.compile(
    rf"\b(?:leave|keep)\s+(?:it|that|this|them|those|{_POINTING}\s+[\w-]+)\s+"
    r"(?:where\s+(?:it|they)(?:'s|'re|\s+is|\s+are)|as\s+(?:it|they)(?:'s|'re|\s+is|\s+are)|alone|be"
    r"|in(?=\s*(?:$|[,.;!?]|there\b|the\s+bundle\b|please\b|pls\b)))"
    r"|\bis\s+(?:a\s+)?(?:must(?:-have)?|keeper|definite\s+yes|non-negotiable)\b"
    r"|\b(?:stays(?:\s+put)?|(?:has|have|needs?)\s+to\s+stay|must\s+stay|is\s+staying|can\s+stay|should\s+stay)\b"
    r"|\b(?:don'?t|do\s+not)\s+(?:you\s+|u\s+|ya\s+)?(?:dare\s+)?(?:touch|change|swap|move|lose|ditch|replace)\s+"
    rf"(?:it\b|{_POINTING}\s)"
    r"|\bhands\s+off\b", re.IGNORECASE)
# "everything else can change", "the rest can go": what the shopper frees, to its clause's end
_EVERYTHING_ELSE = re.compile(r"\b(?:(?:everything|anything|all)\s+else|the\s+(?:rest|others))\b[^,.;!?]*",
                              re.IGNORECASE)


def keeps(text: str) -> bool:
    """Does the message ask for an item to stay (rule "keep it")?"""
    return bool(_KEEPS.search(text))


# Rule "out it goes": an item the shopper does not want in the bundle.
#   "don't want number 2 in there at all, rest is fine"; "get rid of the candle"; "ditch the mug"
# "I don't want to spend more than £20" is money; "don't want anything else" ends the edit.
_OUT_VERBS = r"get\s+rid\s+of|ditch|bin|lose|drop"
_OUT = re.compile(
    rf"\b(?:don'?t|do\s+not)\s+(?:really\s+)?(?:want|need|like)\s+{_POINTING}\b|\bno\s+need\s+for\s+{_POINTING}\b"
    rf"|\bget\s+rid\s+of\b|\b(?:{_OUT_VERBS})\s+{_POINTING}\b|\btake\s+(?:it|that|this|{_POINTING}\s+[\w-]+)\s+out\b",
    re.IGNORECASE)
# "take it out", "get rid of that": a pronoun that points at the bundle on screen
_OUT_OF_SCREEN = re.compile(rf"\btake\s+(?:it|that|this|them)\s+out\b|\b(?:{_OUT_VERBS})\s+(?:it|that|this|them)\b",
                            re.IGNORECASE)


def wants_out(text: str) -> bool:
    """Does the message ask for an item to go (rule "out it goes")?"""
    return bool(_OUT.search(text))


# Rule "the price stings": the bundle costs more than the shopper wants to spend, with no
# amount said (an amount sets the budget instead).
#   "yikes, that total made my eyes water"; "oof. my wallet's crying, go cheeper??";
#   "can the whole thing come down a bit"; "bit too dear for me that"
# "too much pink in there" and "yikes, that's a lot of pink" are about looks.
_STINGS = re.compile(
    r"\btoo\s+(?:dear|pricey|pricy|expensive|steep|rich\s+for)\b"
    r"|\btoo\s+much(?=\s*(?:$|[,.!?]|for\s+(?:me|us|my|our)\b|money\b))"
    r"|\b(?:bring|get)\s+(?:it|that|the\s+(?:total|price|cost|bill))\s+down\b"
    r"|\b(?:total|price|prices|cost|bill|whole\s+thing|it)\s+(?:\w+\s+){0,2}(?:come|comes|coming|go|goes)\s+down\b"
    r"|\b(?:total|price|cost|bill)\b[^.?!]{0,30}\b(?:eyes?\s+water|ouch|steep|a\s+bit\s+much|wince)\b"
    r"|\bwallet(?:'s|\s+is)?\s+(?:crying|weeping|hurting|screaming|can'?t)\b"
    r"|\b(?:go|make\s+it|something|bit|any(?:thing)?)\s+(?:a\s+(?:bit|lot)\s+)?ch(?:ea|ee|e)pe?r\b", re.IGNORECASE)


def price_stings(text: str) -> bool:
    """Does the message say the bundle costs too much, with no amount (rule "the price stings")?"""
    return bool(_STINGS.search(text)) and budget_in(text) is None and item_cap_in(text) is None


# Rule "do you sell it": asking whether the shop has a thing asks to see it.
#   "do you sell bunting?" -> bunting; "do u do cake stands at all?" -> cake stands;
#   "have you got any lanterns?" -> lanterns
# Services and the items on screen are questions: "do you do next day delivery?",
# "do you have the mug in blue?".
_SOLD = re.compile(
    r"\b(?:do|d'?you)\s+(?:you|u|ya)?\s*(?:sell|stock|do|carry|have)\s+(?:any\s+)?"
    r"|\b(?:have|got)\s+(?:you|u|ya)\s+(?:got\s+)?(?:any\s+)?", re.IGNORECASE)
_SOLD_THING = re.compile(r"(?P<thing>[a-z][\w' -]{1,40}?)\s*(?:\bat\s+all\b|\bhere\b|\bin\s+stock\b|\bthen\b)?"
                         r"\s*(?:[?,.!]|$)", re.IGNORECASE)
_NOT_A_PRODUCT = re.compile(
    rf"^(?:{_POINTING}|it|them|one|a\s+(?:minute|moment|sec)|any\s+idea)\b"
    r"|\b(?:deliver\w*|delivery|shipping|post(?:age)?|refunds?|returns?|exchanges?|discounts?|vouchers?|codes?"
    r"|collect(?:ion)?|wrapping|gift\s+wrap(?:ping)?\s+service|sizes?|colours?|stock\s+levels?|time|idea|clue)\b",
    re.IGNORECASE)


def asks_if_sold(text: str) -> str | None:
    """The thing a "do you sell X?" question names (rule "do you sell it"), else None."""
    for lead in _SOLD.finditer(text):
        found = _SOLD_THING.match(text, lead.end())
        if found and not _NOT_A_PRODUCT.search(found.group("thing")):
            return found.group("thing").strip().lower()
    return None


# Rule "one for them too": something more for someone else, beside the bundle on screen.
#   "can there be sumthing for the big sister too so she doesnt feel left out" -> the big sister
#   "kids are coming along too so can u put in a thing or two to keep them busy" -> kids
#   "the cat'll sulk if she's left out, summat for her as well?" -> the cat
# Someone is a person or a pet: "a candle for the table too" adds a candle, for no one.
_SOMETHING = r"(?:something|summat|sumthing|somethin|anything|a\s+thing\s+or\s+two|a\s+little\s+something|a\s+treat|bits?)"
_FOR_THEM_TOO = re.compile(
    rf"\b{_SOMETHING}\s+(?:\w+\s+){{0,2}}?for\s+(?P<who>(?:the|my|our|her|his|their|them|him)\b(?:\s+[\w-]+){{0,2}}?)"
    r"\s+(?:too|as\s+well|aswell|also)\b", re.IGNORECASE)
_COMING_TOO = re.compile(r"\b(?P<who>(?:the\s+|my\s+|our\s+)?[\w-]+)\s+(?:are|is|'re|'s|will\s+be)\s+"
                         r"(?:coming|joining|there|staying)\b(?:\s+along)?\s+(?:too|as\s+well)\b", re.IGNORECASE)
_SUBJECT = re.compile(r"\b(?P<who>(?:the|my|our)\s+[\w-]+?)(?:'ll|'s|'d|\s)", re.IGNORECASE)
_PRONOUNS = frozenset({"her", "him", "them"})
_PET = re.compile(r"\b(?:cat|dog|puppy|pup|kitten|rabbit|bunny|hamster|guinea\s+pig|budgie|parrot|pony|horse|tortoise)s?$",
                  re.IGNORECASE)


def one_for_them_too(text: str) -> str | None:
    """Who a "something for them too" message wants one more thing for (rule "one for them
    too"), else None; "her" or "them" is the message's subject ("the cat'll sulk...")."""
    found = _FOR_THEM_TOO.search(text) or _COMING_TOO.search(text)
    if found is None:
        return None
    who = found.group("who").strip().lower()
    if who in _PRONOUNS:
        subject = _SUBJECT.search(text, 0, found.start())  # who the message is about
        if subject is None:
            return None
        who = subject.group("who").lower()
    return who if names_only_a_person(who) or _PET.search(who) else None


# Rule "more like this": more things like one on screen.
#   "show me more like the playing cards?"; "more stuff like the backpack pls";
#   "anything similar to the owl one"
# "more like £20" is money; "I'd like more candles" adds candles.
_MORE_LIKE = re.compile(
    r"\b(?:more|others?|similar|anything|something|things?|stuff)\s+(?:\w+\s+)?(?:like|similar\s+to|in\s+the\s+same\s+"
    rf"(?:style|vein)\s+as)\s+{_POINTING}\s", re.IGNORECASE)


def more_like_this(text: str) -> bool:
    """Does the message ask for more like an item on screen (rule "more like this")?"""
    return bool(_MORE_LIKE.search(text + " "))


# Rule "thanks is chat": thanks or a greeting with nothing asked is chat, never refused.
#   "thank u sm for the help earlier!!"; "cheers for that"; "hiya!"
# "thanks, now what's the weather in leeds" asks something; "thanks, need a gift too" shops.
_THANKS = re.compile(r"(?:^|[,.!;:]\s*)\W*(?:thanks|thanx|thnaks|thank\s+(?:you|u)|thankyou|thx|ty|cheers|ta|hiya|hello|helo"
                     r"|hi|hey)\b", re.IGNORECASE)


_ASKS = re.compile(r"\?|\b(?:what|how|why|when|where|who|which|tell\s+me|write|can\s+you|could\s+you)\b", re.IGNORECASE)


# Rule "have you another": a different one in place of an item on screen.
#   "a black tree is a bit goth for my mum, have you another?"; "got any others?"
_ANOTHER = re.compile(r"\b(?:have|got)\s+(?:you\s+|u\s+)?(?:got\s+)?(?:another|any\s+others?|a\s+different\s+one)\b"
                      r"|\banother\s+one\s*\?", re.IGNORECASE)

# Rule "what does it cost": a price question about an item on screen.
#   "wreath, wot does that one cost"; "how much is the teapot"
_PRICE_QUESTION = re.compile(r"\b(?:what|wot|wat|wht)\s+(?:does|do|did|would)\s+(?:that|it|this|the\s+[\w-]+|those|these)"
                             r"(?:\s+one)?\s+(?:cost|come\s+to|set\s+me\s+back)\b|\bhow\s+much\s+(?:is|are|does|do|for)\b",
                             re.IGNORECASE)


def only_thanks(text: str) -> bool:
    """Rule "thanks is chat": thanks or a greeting, with nothing asked or shopped for."""
    return bool(_THANKS.search(text)) and not shopping_cue(text) and not _ASKS.search(text)


def asks_for_another(text: str) -> bool:
    """Rule "have you another"."""
    return bool(_ANOTHER.search(text))


def asks_the_price(text: str) -> bool:
    """Rule "what does it cost"."""
    return bool(_PRICE_QUESTION.search(text))


def edit_on_screen(request: Request, text: str, on_screen: bool) -> Request:
    """The parse with the rules above applied. On screen or not: "thanks is chat" where the
    parser read off-topic words, "do you sell X?" asks for X (a choice of them). With a bundle
    on screen: "rather have X than the Y" a swap of Y for X, "keep it" a lock, "out it goes"
    where the parser read a lock, "a version with zero pink" a new bundle, "what does it
    cost" a question, "have you another" a swap, "no need for the card" or "take it out" a
    removal, "more like this", "one for them too" an add for them, "the price stings" a
    cheaper bundle."""
    intent = request.intent
    if intent == "off_topic" and only_thanks(text):
        return Request(intent="smalltalk")
    sold = asks_if_sold(text) if intent in ("question", "smalltalk", "off_topic") else None
    if sold is not None and not (on_screen and request.target):
        # the thing is the need: its choice of designs, not one of them and things around it
        return Request(intent="bundle", need=sold, budget=request.budget)
    if not on_screen:
        return request
    swapped = rather_have(text)
    if swapped is not None and intent in ("compare", "add", "remove", "swap", "lock", "more_like", "question"):
        wanted, going = swapped
        return dataclasses.replace(request, intent="swap", items=(wanted,), target=going, exclude=(), need=None)
    if keeps(text) and intent in ("swap", "remove", "more_like", "question", "add", "bundle", "cheaper"):
        # "the candle stays but swap the mug" is the swap; "everything else can change" keeps it
        rest = _KEEPS.sub(" ", text)
        if not asks_to_swap(_EVERYTHING_ELSE.sub(" ", rest)) and not wants_out(rest):
            return dataclasses.replace(request, intent="lock", items=() if request.target else request.items,
                                       need=None)
    if intent == "lock" and wants_out(text) and not keeps(text):
        return dataclasses.replace(request, intent="remove")
    if intent in ("bundle", "add", "off_topic", "smalltalk") and asks_the_price(text):
        return Request(intent="question", target=request.target or (request.items[0] if request.items else None))
    if intent == "swap" and not (request.target or request.items) and asks_to_redo(text):
        # "could we have a version with zero pink in it": the whole bundle again, not one item
        return dataclasses.replace(request, intent="bundle")
    if intent == "bundle" and asks_for_another(text) and not request.items:
        return Request(intent="swap", target=request.target)
    if intent == "bundle" and wants_out(text) and not keeps(text) and not wants_products(text):
        # "no need for the card, I'll write my own"; what the words rule out stays ruled out
        return Request(intent="remove", target=request.target, exclude=request.exclude)
    if _OUT_OF_SCREEN.search(text) and intent in ("bundle", "question", "off_topic", "smalltalk") and not keeps(text):
        # "the owl thing's cute but 8 quid for a doorstop?? take it out": its price is no budget
        return Request(intent="remove", target=request.target, exclude=request.exclude)
    if more_like_this(text) and intent in ("off_topic", "smalltalk", "question", "bundle", "add"):
        return Request(intent="more_like", target=request.target)
    for_them = one_for_them_too(text) if intent in ("add", "off_topic", "smalltalk", "question", "bundle") else None
    if for_them is not None and not request.items:
        return Request(intent="add", need=for_them, budget=request.budget)
    stung_as_need = intent == "bundle" and price_stings(request.need or "")
    if price_stings(text) and (intent in ("off_topic", "smalltalk", "question") or stung_as_need):
        return Request(intent="cheaper")
    return request


ONE_ITEM_EDITS = ("swap", "remove", "lock", "more_like")


def without_need_of_an_item_edit(request: Request) -> Request:
    """Rule "an item edit has no need": a swap, a removal, a lock or "more like this" acts on
    one item of the bundle on screen, which keeps its own need; the words around it say why
    ("swap the balloons, they're a choking risk", "first one's a bit boring for a present")
    and never start a new occasion (the edit actions read no need)."""
    if request.intent in ONE_ITEM_EDITS and request.need is not None:
        return dataclasses.replace(request, need=None)
    return request
