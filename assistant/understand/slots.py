"""Deterministic slot checks on the model's structured request.

Money and counts are where a 135M model slips most (the held-out slot accuracy for the
budget is well below the intent's), and where a slip costs the shopper most. When the
shopper's own words state a budget or a number of items and the model's request lacks it,
code fills it in from the text; a budget phrase left inside the need text is cut out.
The same goes for exclusions ("no candles", "without glass", "nothing pink"), which code
reads from the text into `Request.exclude`, and for what code must recognise whatever the
intent the model chose: bundle positions ("the second one", "#2", "last"), cart questions
("what's in my basket?") and comparisons ("which is cheaper, X or Y").
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from assistant.records import EDIT_INTENTS, MAX_BUDGET, MAX_BUNDLE_SIZE, MAX_MENTION_CHARS, Request
from assistant.safety.guard import redact
from assistant.understand.words import FILLER, ORDINALS, content_stems, stem_set

_AMOUNT = r"(\d{1,6}(?:[.,]\d{1,2})?)"
_BUDGET_PATTERNS = [
    re.compile(rf"(?:under|below|less than|no more than|max(?:imum)?|up to|within|budget(?: of| is)?|around|about|for)\s*(?:£|gbp\s*)?{_AMOUNT}\s*(?:£|pounds?|quid|gbp)?", re.I),
    re.compile(rf"(?:£|gbp\s?){_AMOUNT}", re.I),
    re.compile(rf"{_AMOUNT}\s*(?:pounds?|quid|gbp)\b", re.I),
]
_MONEY_WORD = re.compile(r"£|pounds?|quid|gbp|budget|under|below|max", re.I)
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "a couple of": 2, "a few": 3}
_COUNT = re.compile(r"\b(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few)\s+"
                    r"(?:items?|things?|products?|pieces?|gifts?|bits)\b", re.I)


def budget_in(text: str) -> float | None:
    for pattern in _BUDGET_PATTERNS:
        for match in pattern.finditer(text):
            if pattern is _BUDGET_PATTERNS[0] and not _MONEY_WORD.search(match.group(0)):
                continue  # "for 4" is a party size, not money
            value = float(match.group(1).replace(",", "."))
            if 0 < value <= MAX_BUDGET:
                return value
    return None


def count_in(text: str) -> int | None:
    match = _COUNT.search(text)
    if not match:
        return None
    word = match.group(1).lower()
    value = int(word) if word.isdigit() else _NUMBER_WORDS[word]
    return value if 1 <= value <= MAX_BUNDLE_SIZE else None


def _is_money_phrase(text: str) -> bool:
    stripped = text.strip().lower()
    return budget_in(stripped) is not None and len(re.sub(
        r"(?:about|around|under|below|max(?:imum)?|up to|budget(?: of)?|£|gbp|pounds?|quid|[\d.,\s])", "",
        stripped)) == 0


# Negation beyond the English cues of `_NEGATION` (the languages the guard's tests cover, and
# "never", "hate", "dislike"): a model's exclusion needs one of them in the message.
_OTHER_NEGATION = re.compile(
    r"\b(?:never|hate|dislike|ohne|kein|keine|keinen|nicht|sans|pas|aucun|aucune|sin|ningún|ninguna|senza"
    r"|niente|zonder|geen|niet|bez|nie|sem|nada)\b", re.IGNORECASE)


def complete_slots(request: Request, text: str) -> Request:
    """Fill a budget, size or exclusion the shopper stated but the model left out; tidy the need."""
    changes: dict[str, Any] = {}
    wants_money = request.intent in ("bundle", "cheaper", "set_budget", "add")
    stated, counted = budget_in(text), count_in(text)
    if wants_money and request.budget is None:
        if stated is not None:
            changes["budget"] = stated
    elif request.budget is not None and stated is None and (
            not _number_in(request.budget, text) or request.budget == counted):
        changes["budget"] = None  # an amount the shopper never wrote (or a count) is the model's invention
    if request.intent == "set_budget" and changes.get("budget", request.budget) is None and _CHEAPER.search(text):
        changes["intent"] = "cheaper"  # "make it cheaper": a cheaper bundle, not a budget to ask for
    if request.intent == "bundle" and request.size is None:
        if counted is not None:
            changes["size"] = counted
    elif request.size is not None and counted is None and not _number_in(request.size, text):
        changes["size"] = None  # likewise a count
    # The model's exclusions must be things the shopper ruled out in words that are in the
    # message, never a money phrase ("under £35" excludes nothing).
    # A message with no negation at all (in any of the languages below) rules nothing out:
    # "Ein Geschenkset für Ostern" once came back with "Ostern" excluded.
    said = set(content_stems(text))
    negated = bool(_NEGATION.search(text) or _OTHER_NEGATION.search(text))
    exclude = tuple(e for e in request.exclude if negated and not _is_money_phrase(e)
                    and not re.search(r"[£$€]|\d", e) and set(content_stems(e)) <= said)
    if exclude != request.exclude:
        changes["exclude"] = exclude
    if request.intent in ("bundle", "off_topic", *EDIT_INTENTS):
        exclude = merge_exclusions(exclude, exclusions_in(redact(text)))
        if exclude != request.exclude:
            changes["exclude"] = exclude
        else:
            changes.pop("exclude", None)
    # A money phrase the model copied into the item mentions is a budget, not an item; a
    # word the shopper ruled out ("no candles") is not an item to build around either.
    kept = tuple(m for m in request.items if not _is_money_phrase(m)
                 and not any(_excluded_by(m, term) for term in exclude))
    if kept != request.items:
        changes["items"] = kept
    if request.need:
        need = re.sub(r"\s*(?:,\s*)?(?:under|below|max(?:imum)?|up to|budget(?: of)?)?\s*(?:£|gbp\s?)\s?\d[\d.,]*"
                      r"(?:\s*(?:pounds?|quid))?", "", request.need, flags=re.I).strip(" ,.")
        need = strip_exclusions(need)
        if need != request.need:
            changes["need"] = need or None
    return dataclasses.replace(request, **changes) if changes else request


_CHEAPER = re.compile(r"\b(?:cheap\w*|less|lower|reduce|cut (?:the )?(?:price|cost)|too (?:much|expensive|pricey|dear))\b",
                      re.IGNORECASE)


def _number_in(value: float, text: str) -> bool:
    """The text holds this number, in digits ("15", "15.00") or as a small number word."""
    digits = {m.group(0).replace(",", "") for m in re.finditer(r"\d[\d,]*(?:\.\d+)?", text)}
    if any(float(d) == float(value) for d in digits if d.replace(".", "", 1).isdigit()):
        return True
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
             "nine": 9, "ten": 10, "a dozen": 12, "twelve": 12, "twenty": 20}
    lowered = text.lower()
    return any(float(n) == float(value) and re.search(rf"\b{w}\b", lowered) for w, n in words.items())


_CART_WORDS = re.compile(r"\b(cart|basket|trolley|checkout|check out|buy (?:it|them|these|all)|purchase)\b", re.I)


def reconcile_intent(request: Request, text: str) -> Request:
    """Putting things in the cart changes the shopper's order, so it needs the shopper's words.

    The model's intent is kept unless the text contradicts the one intent with a side
    effect: "add_to_cart" without any cart wording becomes a bundle request for the items
    named (nothing is added), and "add" with cart wording becomes "add_to_cart". A question
    about the cart ("what's in my basket?") is a question, whatever the model said; an
    explicit "add/put ... in(to) my cart/basket" is a cart request, whatever the model said
    (which item it names is read from the text by the cart action).
    """
    says_cart = bool(_CART_WORDS.search(text))
    if asks_about_cart(text):
        return request if request.intent == "question" else Request(intent="question")
    if request.intent == "add_to_cart" and not says_cart:
        return dataclasses.replace(request, intent="bundle", target=None)
    if request.intent == "add" and says_cart:
        return dataclasses.replace(request, intent="add_to_cart", items=(), need=None)
    if request.intent != "add_to_cart" and asks_to_add_to_cart(text):
        return Request(intent="add_to_cart", items=request.items, target=request.target)
    return request


def need_from_text(text: str) -> str:
    """The shopper's words without request scaffolding ("I need", "do you have"), budget,
    count and exclusion phrases (what to match against items)."""
    need = strip_exclusions(_COUNT.sub("", text))
    for pattern in _BUDGET_PATTERNS:
        need = pattern.sub("", need)
    need = re.sub(r"\bplease\b|\s+(?=[,.!?])", "", need, flags=re.I)
    need = re.sub(r"(?:[,;]\s*)+(?=[,;]|$)|\s+", " ", need).strip(" ,.!?")
    previous = None
    while need != previous:  # "hi, could you show me ..." has several layers
        previous = need
        need = _SCAFFOLD.sub("", need, count=1).strip(" ,.!?")
        need = re.sub(r"\s+(?:for|with|under|of|to|at|around|about|and|but|or)$", "", need, flags=re.I)
    # Placeholders for a product ("something gingham", "anything with stars") carry no meaning.
    need = re.sub(r"\b(?:something|anything|some)\s+(?=\w)", "", need, flags=re.I)
    return re.sub(r"\s+", " ", need).strip(" ,.!?-–")


# -- exclusions ------------------------------------------------------------------------------
# A negation cue, then the words it rules out. A bare "not" counts only where it starts a
# clause ("..., but not mugs", "not pink"): inside one it is about something else ("I'm not
# sure", "it's not for me").
_NEGATION = re.compile(
    r"(?P<lead>(?:[,;]\s*)?\b(?:but|and|or|just|please|actually|definitely|certainly)\s+)?"
    r"(?P<cue>\bnot\s+|\b(?:no|without|nothing|avoid|excluding|except|minus)\s+"
    r"|\b(?:other than|apart from|none of|leave out|keep out)\s+"
    r"|\b(?:do not|don'?t|dont|doesn'?t|won'?t)\s+(?:want|need|like|include|add|give me|send)\s+)",
    re.I)
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


def _exclusion_spans(text: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, phrases) of each negation in the text: "no candles or balloons" ->
    ["candles", "balloons"]. A phrase ends at punctuation, a stop word or `_MAX_PHRASE_WORDS` words."""
    out: list[tuple[int, int, list[str]]] = []
    for cue in _NEGATION.finditer(text):
        if cue.group("cue").lower().startswith("not") and not cue.group("lead") \
                and not re.search(r"(?:^|[,;:.!?])\s*$", text[:cue.start()]):
            continue
        phrases: list[str] = []
        words: list[str] = []
        end = cue.end()
        for tok in _WORD_OR_MARK.finditer(text, cue.end()):
            word = tok.group().lower().replace("’", "'")
            if not (word[0].isalnum() or word[0] == "_"):
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
        if phrases:
            out.append((cue.start(), end, phrases))
    return out


def exclusions_in(text: str) -> tuple[str, ...]:
    """What the shopper rules out, as they wrote it: "no candles", "without glass",
    "nothing pink", "but not mugs" -> ("candles", "glass", "pink", "mugs")."""
    found = [p for _, _, phrases in _exclusion_spans(text) for p in phrases]
    return merge_exclusions((), found)


def merge_exclusions(have: tuple[str, ...], new: Any) -> tuple[str, ...]:
    """`have` plus the phrases of `new` that rule out something `have` does not already."""
    out = list(have)
    for phrase in new:
        phrase = phrase.strip()[:MAX_MENTION_CHARS]
        stems = content_stems(phrase)
        if stems and not any(_excluded_by(phrase, p) for p in out) and len(out) < 8:
            out.append(phrase)
    return tuple(out)


def _excluded_by(mention: str, term: str) -> bool:
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


# -- what code recognises whatever the intent -----------------------------------------------
_SCAFFOLD = re.compile(
    r"^(?:(?:hi|hello|hey|ok|okay|so|well|then|please|right|now|next|also|and|plus)\b[\s,!.]*"
    r"|(?:i(?:'d| would)? (?:also )?(?:need|want|like|am looking for)|i'm (?:also )?(?:after|looking for)"
    r"|i am (?:also )?after|i am (?:also )?looking for"
    r"|(?:can|could|would) you(?: please)?(?: also)?(?: (?:show|find|get|give|make|put together|suggest|recommend))?"
    r"(?: me)?"
    r"|(?:show|find|get|give|make|suggest|recommend) me|do you (?:have|sell|stock|do|carry)|have you got"
    r"|is there|are there|tell me about|what about|how about|put together"
    r"|(?:a |an |the |some )?(?:bundle|selection)s? (?:for|of|with|around))\b\s*)"
    r"|\s+(?:bundle|selection)s?$", re.I)
_ORDINAL_WORDS = "|".join(ORDINALS)
_NOT_A_POSITION_AFTER = r"(?!\s*(?:items?|things?|pieces?|products?|gifts?|of\b|x\b|%|pounds?|quid|gbp|£|people|" \
                        r"persons?|guests?|kids|children|years?|yrs?|months?|weeks?|days?|hours?|minutes?|p\b))"
_POSITIONS = re.compile(
    rf"\b(?P<ord>{_ORDINAL_WORDS}|\d{{1,2}}(?:st|nd|rd|th))\b"
    r"(?=\s*(?:$|[,.;:!?)]|one\b|ones\b|item\b|thing\b|product\b|and\b|or\b|to\b|in\b|into\b|on\b"
    r"|from\b|please\b|too\b|as well\b|also\b|of (?:them|those|these|the bundle)\b))"
    r"|(?:\b(?:number|item|no\.?|nr\.?|num)\s*|#\s*)(?P<num>\d{1,2})\b"
    rf"|(?<![£$€\d.,])(?<!under )(?<!below )(?<!over )(?<!for )(?<!about )(?<!around )(?<!max )(?<!than )"
    rf"\b(?P<bare>\d{{1,2}})\b(?![.,]\d){_NOT_A_POSITION_AFTER}"
    r"(?=\s*(?:$|[,.;:!?)]|to\b|in\b|into\b|and\b|or\b|please\b|on\b|too\b))",
    re.I)


def positions_in(text: str) -> tuple[str, ...]:
    """Bundle positions the shopper names, as `resolve_target` reads them: "the second one"
    -> "2", "#3" / "number 3" / "item 3" / "3rd" -> "3", "the last one" -> "last"."""
    out: list[str] = []
    for match in _POSITIONS.finditer(text):
        word = (match.group("ord") or match.group("num") or match.group("bare")).lower()
        if word in ORDINALS:
            value = "last" if ORDINALS[word] == -1 else str(ORDINALS[word])
        else:
            value = str(int(re.sub(r"\D", "", word)))
        if value not in out and (value == "last" or 1 <= int(value) <= MAX_BUNDLE_SIZE):
            out.append(value)
    return tuple(out)


_WHOLE_BUNDLE = re.compile(r"\b(?:all|everything|every(?:thing| item| one)|whole|entire|bundle|lot|them|these|"
                           r"those|both)\b", re.I)


def names_whole_bundle(text: str) -> bool:
    """"Add it all / everything / the whole bundle / them"."""
    return bool(_WHOLE_BUNDLE.search(text))


_CART_NOUN = r"(?:my|the|our)\s+(?:shopping\s+)?(?:cart|basket|trolley|bag)\b(?![-\w])"
_CART_QUESTION = re.compile(
    rf"\bwhat(?:'s|’s| is| do i have| have i got| have i put| did i put| did i add)?\s+(?:in|on)\s+{_CART_NOUN}"
    rf"|\b(?:show|view|see|list|check|open|display|review)\s+(?:me\s+)?(?:what'?s in\s+)?{_CART_NOUN}"
    rf"|\b(?:how much|what)(?:'s|’s| is| does)\s+(?:in\s+)?{_CART_NOUN}(?:\s+(?:come to|cost|total|worth))?"
    rf"|\b{_CART_NOUN}\s+(?:total|contents|so far)\b", re.I)
_CART_CHANGE = re.compile(r"\b(?:add|put|pop|throw|place|stick|remove|delete|take out|empty|clear|buy)\b", re.I)
_CART_WORDS_ONLY = re.compile(r"\b(?:cart|basket|trolley)\b", re.I)


def asks_about_cart(text: str) -> bool:
    """"What's in my cart?", "show my basket", "how much is my cart?": a question about
    the cart, which changes nothing (wording that adds or removes things does not count)."""
    if not _CART_WORDS_ONLY.search(text) or _CART_CHANGE.search(text):
        return False
    return bool(_CART_QUESTION.search(text))


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
        left, right = (_SIDE_EDGES.sub("", side.strip(" ,.?!")).strip(" ,.?!")
                       for side in (body[:sep.start()], body[sep.end():]))
        if left and right and (left, right) not in out:
            out.append((left, right))
    return out


def mentions_in_text(mention: str, text: str) -> bool:
    """Every meaningful word of the mention is in the shopper's text (not invented by the model)."""
    words = content_stems(mention)
    return bool(words) and set(words) <= stem_set(text)
