"""What code recognises in a message whatever intent the model chose: bundle positions
("the second one", "#2", "last"), the whole bundle ("all of them"), cart questions ("what's
in my basket?") and cart requests ("add it to my cart"), comparisons ("which is cheaper, X
or Y"), asking for more things, and whether a mention's words are the shopper's own.
"""

from __future__ import annotations

import re

from assistant.records import MAX_BUNDLE_SIZE
from assistant.understand.words import ORDINALS, UNITS, content_stems, stem_set

_ORDINAL_WORDS = "|".join([*ORDINALS, "middle"])
_POSITION_NUMBERS = {word: n for word, n in UNITS.items() if n <= MAX_BUNDLE_SIZE}
_NOT_A_POSITION_AFTER = r"(?!\s*(?:items?|things?|pieces?|products?|gifts?|of\b|x\b|%|pounds?|quid|gbp|£|people|" \
                        r"persons?|guests?|kids|children|years?|yrs?|months?|weeks?|days?|hours?|minutes?|p\b))"
_POSITIONS = re.compile(
    rf"\b(?P<ord>{_ORDINAL_WORDS}|\d{{1,2}}(?:st|nd|rd|th))\b"
    r"(?=\s*(?:$|[,.;:!?)]|one\b|ones\b|item\b|thing\b|product\b|and\b|or\b|to\b|in\b|into\b|on\b"
    r"|from\b|please\b|too\b|as well\b|also\b|of (?:them|those|these|the bundle)\b))"
    r"|(?:\b(?:number|item|no\.?|nr\.?|num)\s*|#\s*)(?P<num>\d{1,2}\b|(?:" + "|".join(_POSITION_NUMBERS) + r")\b"
    r"(?!\s*(?:items?|things?|people|guests?|of\b)))"
    rf"|(?<![£$€\d.,])(?<!under )(?<!below )(?<!over )(?<!for )(?<!about )(?<!around )(?<!max )(?<!than )(?<!all )"
    rf"\b(?P<bare>\d{{1,2}})\b(?![.,]\d){_NOT_A_POSITION_AFTER}"
    r"(?=\s*(?:$|[,.;:!?)]|to\b|in\b|into\b|and\b|or\b|please\b|on\b|too\b))",
    re.I)


# Rule "top and bottom": a bundle is a list on screen.
#   match: "the one at the bottom" -> last, "the bottom one" -> last, "the top one" -> 1, "the one at the end" -> last
#   no match: "bottom of the garden", "top quality", "at the end of the day"
_ENDS = re.compile(r"\b(?:(?:one|item|thing)\s+at\s+the\s+(?P<end>bottom|top|end)\b(?!\s+of\b)"
                   r"|the\s+(?P<end2>bottom|top)\s+(?:one|item|thing)\b)", re.I)


def positions_in(text: str) -> tuple[str, ...]:
    """Bundle positions the shopper names, as `resolve_target` reads them: "the second one"
    -> "2", "#3" / "number 3" / "number three" / "item 3" / "3rd" -> "3", "the last one" ->
    "last", "the middle one" -> "middle"."""
    out: list[str] = []
    for match in _ENDS.finditer(text):
        out.append("1" if (match.group("end") or match.group("end2")).lower() == "top" else "last")
    for match in _POSITIONS.finditer(text):
        word = (match.group("ord") or match.group("num") or match.group("bare")).lower()
        if word == "middle":
            value = "middle"
        elif word in _POSITION_NUMBERS:
            value = str(_POSITION_NUMBERS[word])
        elif word in ORDINALS:
            value = "last" if ORDINALS[word] == -1 else str(ORDINALS[word])
        else:
            value = str(int(re.sub(r"\D", "", word)))
        if value not in out and (value in ("last", "middle") or 1 <= int(value) <= MAX_BUNDLE_SIZE):
            out.append(value)
    return tuple(out)


_WHOLE_BUNDLE = re.compile(r"\b(?:all|everything|every(?:thing| item| one)|whole|entire|bundle|lot|them|these|"
                           r"those|both)\b", re.I)


_CART_OR_ALL = re.compile(r"(?:(?:my|the|our|me|this|that|your)\s+)?(?:shopping\s+)?"
                          r"(?:cart|basket|trolley|checkout|lot|bundle|everything|all|whole thing)", re.I)


def whole_bundle_mention(mention: str, text: str) -> bool:
    """Rule "the lot is no item": a cart request's mention that names the cart or the whole
    bundle, not one item: "the lot", "me trolley", "set" in "put this whole set through"."""
    said = mention.strip(" .,!?").lower()
    return bool(_CART_OR_ALL.fullmatch(said)) or bool(
        re.search(rf"\b(?:whole|entire|all (?:of )?the|the full)\s+{re.escape(said)}\b", text, re.I)) or bool(
        # "i'll order all 3 now", "the three of them": a count of the bundle's items, no position
        re.fullmatch(r"\d{1,2}|" + "|".join(_POSITION_NUMBERS), said)
        and re.search(rf"\b(?:all|the)\s+{re.escape(said)}\b(?!\s*(?:st|nd|rd|th)\b)(?:\s+of\s+(?:them|those|these))?", text, re.I)
        and not re.search(rf"\b(?:the|number|no\.?|item|#)\s*{re.escape(said)}\s*(?:one|item|thing)\b", text, re.I))


def names_whole_bundle(text: str) -> bool:
    """"Add it all / everything / the whole bundle / them"."""
    return bool(_WHOLE_BUNDLE.search(text))


_CART_NOUN = r"(?:my|the|our)\s+(?:shopping\s+)?(?:cart|basket|trolley|bag)\b(?![-\w])"
_CART_QUESTION = re.compile(
    rf"\bwhat(?:'s|’s| is| do i have| have i got| have i put| did i put| did i add)?\s+(?:in|on)\s+{_CART_NOUN}"
    rf"|\b(?:show|view|see|list|check|open|display|review)\s+(?:me\s+)?(?:what'?s in\s+)?{_CART_NOUN}"
    rf"|\b(?:how much|what)(?:'s|’s| is| does| do| will)\s+(?:in\s+)?{_CART_NOUN}(?:\s+(?:comes? to|cost|total|worth))?"
    rf"|\b{_CART_NOUN}\s+(?:total|contents|so far)\b"
    rf"|\b(?:anything|something|much|what else)\s+(?:in|on)\s+{_CART_NOUN}", re.I)
# Rule "what did I add": a question about what is already in the cart, though it says "add".
#   match: "which bits did i already add to my basket", "what have I put in my trolley so far?"
#   no match: "add the teapot to my basket", "did you add it to my basket?" (asks about the bot's edit)
_CART_RECALL = re.compile(r"\b(?:which|what|list|show)\b[^.?!]{0,40}?\b(?:(?:did|have|had)\s+(?:i|we)|i've|ive|we've)\s+"
                          r"(?:already\s+|just\s+)?"
                          rf"(?:add(?:ed)?|put|pop(?:ped)?|got)\b[^.?!]{{0,20}}?\b(?:in|into|to|on)\s+{_CART_NOUN}", re.I)
# "what does my basket add up to": a total, not an addition.
_ADDS_UP = re.compile(r"\s+adds?\s+up(?:\s+to)?\b", re.I)
_CART_CHANGE = re.compile(r"\b(?:add|put|pop|throw|place|stick|remove|delete|take out|empty|clear|buy)\b", re.I)
_CART_WORDS_ONLY = re.compile(r"\b(?:cart|basket|trolley)\b", re.I)


# Rule "phrased as a question": the message, or a sentence of it, opens with a question word.
#   match: "what is the second one?", "helo there, is the mug dishwasher safe", "how much is the teapot"
#   no match: "can you swap the second one?" (a request), "swap the mug, is that ok?"
_QUESTION_FORM = re.compile(r"(?:^|[.!?])\s*(?:(?:hi|hiya|hello|helo|hey|heya|ok|okay|right|so|um|erm|oh|ah)"
                            r"(?:\s+there)?\s*[,!.]?\s*)?(?:what|what's|whats|wot|who|who's|where|when|why|how|which|whose|is|are|was|were|"
                            r"will|does|did)\b", re.I)


def phrased_as_question(text: str) -> bool:
    """Does the message or one of its sentences open with a question word (rule "phrased as
    a question")?"""
    return bool(_QUESTION_FORM.search(text))


def asks_about_cart(text: str) -> bool:
    """"What's in my cart?", "show my basket", "how much is my cart?": a question about
    the cart, which changes nothing (wording that adds or removes things does not count)."""
    if not _CART_WORDS_ONLY.search(text):
        return False
    if _CART_RECALL.search(text):
        return True
    unchanged = _ADDS_UP.sub(" comes to", text)
    return not _CART_CHANGE.search(unchanged) and bool(_CART_QUESTION.search(unchanged))


_ADD_TO_CART = re.compile(
    r"\b(?:add|put|pop|throw|place|stick|move)\b(?!\s+together)[^.?!]{0,80}?\b(?:in|into|to|in ?to)\s+"
    r"(?:my|the|our)\s+(?:shopping\s+)?(?:cart|basket|trolley)\b(?![-\w])", re.I)


def asks_to_add_to_cart(text: str) -> bool:
    """"Add the second one to my cart", "put it all in my basket"."""
    return bool(_ADD_TO_CART.search(text))


_COMPARATIVES = r"(?:cheaper|better|nicer|bigger|smaller|larger|dearer|pricier|more expensive|less expensive|" \
                r"cheapest|best|nicest|biggest|smallest)"
_LEAD_COMPARE = re.compile(
    r"^.*?\b(?:compare|comparing|comparison of|(?:the )?differences? between"
    rf"|which(?: one)?(?: of (?:them|these|the two))?(?:'s|’s| is| are| would be| will be)\s+(?:\w+\s+)?{_COMPARATIVES}"
    r"|which(?: one)? should i (?:get|buy|choose|pick|go for)|which(?: one)? do you recommend)\b[\s,:]*",
    re.I)
_COMPARE_SEPARATOR = re.compile(
    rf"\s*(?:[,;/]|\b(?:and|or|vs\.?|versus|with|to|against|(?:is |are )?{_COMPARATIVES} than)\b)\s*", re.I)
_SIDE_EDGES = re.compile(rf"^(?:(?:is|are|the|a|an|between|is it|which)\s+)+|(?:\s+(?:is|are|{_COMPARATIVES}|"
                         r"please|for me|one))+$|[?!.\s]+$", re.I)


_WANTS_PRODUCTS = re.compile(
    r"\b(?:i (?:also |still )?(?:need|want|would like|'d like)|i'm (?:also )?after|i am (?:also )?after"
    r"|(?:i'm|i am) (?:also )?looking for|could you (?:also )?(?:find|show|suggest)|can you (?:also )?(?:find|show|suggest)"
    r"|show me|what about|how about|do you (?:also )?have|got any|any ideas for)\b"
    r".{0,80}?\b(?:something|anything|some|things?|bits|stuff|ideas|more)\b",
    re.IGNORECASE)


# Rule "shopping cue": words that ask the shop for something, whatever else the message
# says ("my sister's just had a baby girl!! want to send something lovely", "a present for
# grandad", "what should I get", "£20"). "thanks, that's lovely!" has none.
_SHOPPING_CUE = re.compile(
    r"\b(?:want|wanted|need|needs|needed|looking for|after|get|getting|buy|buying|send|sending|gift|gifts|present|"
    r"presents|pressie|prezzie|something|anything|ideas?|bundle|recommend|suggest|sort me|kit (?:her|him|them|me) out|"
    r"budget|spend|stuff|bits|things|supplies)\b|[£$€]\s?\d|\d\s*(?:pounds?|quid)\b", re.IGNORECASE)


def shopping_cue(text: str) -> bool:
    """Do the words ask the shop for something (a want, a gift word, a budget)?"""
    return bool(_SHOPPING_CUE.search(text.replace("’", "'")))


# Rule "swap words": the words that ask for one thing in place of another. A small parser
# sometimes makes a swap of "what about something jumbo and something cube?"; without one
# of these words it is new things wanted.
_SWAP_WORDS = re.compile(r"\b(?:swap\w*|switch\w*|replac\w*|chang\w*|exchang\w*|instead|rather|different|"
                         r"another|other|alternatives?|substitut\w*|trade)\b", re.IGNORECASE)


def asks_to_swap(text: str) -> bool:
    """Do the words ask for something in place of something ("swap the mug", "a different
    candle", "replace number two")?"""
    return bool(_SWAP_WORDS.search(text))


# Rule "in its place": the words put one thing where another is; an add of it is a swap.
_IN_PLACE_OF = r"rather than|instead of|in place of"
_IN_PLACE = re.compile(rf"\b(?:{_IN_PLACE_OF}|in (?:its|their|that one's) place|"
                       r"in (?:that|its|the same) (?:spot|slot))\b", re.IGNORECASE)


def asks_in_place(text: str) -> bool:
    """"a scarf rather than the hat", "a jug in place of the vase", "a tin in that spot"."""
    return bool(_IN_PLACE.search(text))


_GOING_OUT = re.compile(rf"\b(?:{_IN_PLACE_OF})\s+(?:the\s+|that\s+|those\s+|this\s+)?"
                        r"(?P<thing>[^,.;!?]+?)\s*(?:[,.;!?]|\b(?:please|pls|tbh|to be honest|if)\b|$)", re.IGNORECASE)


def going_out(text: str) -> str | None:
    """The thing a rule "in its place" message takes out: "a scarf rather than the hat" ->
    "hat"; None when it names none ("something sturdier in its place")."""
    found = _GOING_OUT.search(text)
    return found.group("thing").strip().lower() if found else None


# Rule "redo it": the shopper asks for the bundle on screen again, changed only by what the
# same message rules out; the need stays the bundle's own.
_REDO = re.compile(r"\b(?:re-?do|re-?work|re-?make|re-?jig)\s+(?:it|that|this|the\s+(?:lot|bundle|whole\s+thing))\b"
                   r"|\b(?:do|try)\s+(?:it|that|this)\s+again\b|\b(?:have\s+)?another\s+go\b|\bstart\s+(?:it\s+)?again\b"
                   r"|\b(?:a|another|new)\s+version\b|\bsame\s+(?:again|idea|thing|bundle)\s+but\b", re.IGNORECASE)


def asks_to_redo(text: str) -> bool:
    """Does the message ask for the bundle on screen again ("could you redo it with none
    in?", "same idea but no glass", "have another go without pink")?"""
    return bool(_REDO.search(text))


def wants_products(text: str) -> bool:
    """The shopper asks for (more) things: "i also need something gingham", "what about
    something for the garden?", "could you find some candles": a bundle request, whatever
    intent a small model gave it."""
    return bool(_WANTS_PRODUCTS.search(text))


def comparison_cue(text: str) -> bool:
    """"Compare X and Y", "X vs Y", "which is cheaper, X or Y?", "is X better than Y?"."""
    return bool(_LEAD_COMPARE.search(text) or re.search(rf"\b(?:vs\.?|versus|{_COMPARATIVES} than)\b", text, re.I))


def comparison_splits(text: str) -> list[tuple[str, str]]:
    """Every way to cut a comparison into two sides at "and", "or", "vs", ",", "than"...,
    lead-in words dropped: "which is cheaper, the A or the B?" -> [("A", "B")]. Titles may
    hold a separator themselves ("Set with Jars"), so the caller picks the split whose two
    sides both resolve best."""
    body = _LEAD_COMPARE.sub("", text, count=1).strip(" ,.?!")
    out: list[tuple[str, str]] = []
    for sep in _COMPARE_SEPARATOR.finditer(body):
        whole = (body[:sep.start()], body[sep.end():])
        # each side also cut to its clause next to the separator: "cake tins or spice tins,
        # which gets more use" -> ("cake tins", "spice tins")
        near = (_CLAUSE_BREAK.split(whole[0])[-1], _CLAUSE_BREAK.split(whole[1])[0])
        for sides in (whole, near):
            left, right = (_SIDE_EDGES.sub("", side.strip(" ,.?!")).strip(" ,.?!") for side in sides)
            if left and right and (left, right) not in out:
                out.append((left, right))
    return out


_CLAUSE_BREAK = re.compile(r"[,;:?!]|\.(?:\s|$)|\s-\s|\s(?:which|what|who)\s", re.I)


def mentions_in_text(mention: str, text: str) -> bool:
    """Every meaningful word of the mention is in the shopper's text (not invented by the model)."""
    words = content_stems(mention)
    return bool(words) and set(words) <= stem_set(text)


# Rule "goodbye": the shopper is leaving ("that's all, bye", "cheers, see ya", "night!").
# "a bundle for a goodbye party" and "see you at the party" stay shopping and chat.
_GOODBYE = re.compile(r"\b(?:bye|goodbye|good\s*night|night\s*night|see\s+(?:you|ya|u)(?!\s+at)|cya|ta-?ra|laters"
                      r"|that'?s\s+(?:all|it)\s+(?:for\s+now|thanks|thank\s+you|bye|,)|nothing\s+else)\b"
                      r"(?!\s+(?:party|card|present|gift|do))", re.IGNORECASE)


def says_goodbye(text: str) -> bool:
    """Is the shopper leaving (rule "goodbye")?"""
    return bool(_GOODBYE.search(text))
