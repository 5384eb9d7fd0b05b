"""Budgets and item counts in the shopper's own words: "under £20", "30 quid", "max 15";
"three things", "a few gifts". What a small model most often gets wrong, read by code.
"""

from __future__ import annotations

import re

from assistant.records import MAX_BUDGET, MAX_BUNDLE_SIZE, MAX_PARTY_SIZE
from assistant.understand.words import NUMBER_WORDS, TEENS, TENS, UNITS

_AMOUNT = r"(\d{1,6}(?:[.,]\d{1,2})?)"
BUDGET_PATTERNS = [
    re.compile(rf"(?:under|below|less than|no more than|max(?:imum)?|up to|within|budget(?: of| is)?|around|about|for)\s*(?:£|gbp\s*)?{_AMOUNT}\s*(?:£|pounds?|quid|gbp)?", re.I),
    re.compile(rf"(?:£|gbp)\s?{_AMOUNT}", re.I),
    re.compile(rf"{_AMOUNT}\s*(?:(?:pounds?|quid|gbp|bucks|dollars|euros?)\b|£)", re.I),
    re.compile(rf"(?:[$€]){_AMOUNT}", re.I),
    re.compile(rf"\b{_AMOUNT}\s*(?:overall|in total|total|all in)\b", re.I),
]
_MONEY_WORD = re.compile(r"£|pounds?|quid|gbp|budget|under|below|max", re.I)
_SPENDING_TALK = re.compile(r"\b(?:budget|spend|spending|afford)\b", re.I)
_NUMBER_WORDS = {w: n for w, n in NUMBER_WORDS.items() if 2 <= n <= 10 and w not in ("a couple", "half a dozen")}
# "three things", "2 nice things", "a couple of bits": how many items the shopper wants
COUNT_PHRASE = re.compile(rf"\b(\d{{1,2}}|{'|'.join(sorted(_NUMBER_WORDS, key=len, reverse=True))})\s+"
                          r"(?:(?:nice|little|small|good|lovely|different|more|extra)\s+)?"
                          r"(?:items?|things?|products?|pieces?|gifts?|bits)\b", re.I)


# Rule "bare amount at the end": "..., candles. Around 40" or "anything for her? around 20":
# an approximate number closing the message is money in a shop (not "about 20 people").
_CLOSING_AMOUNT = re.compile(rf"\b(?:around|about|roughly|approx(?:imately)?)\s+{_AMOUNT}\s*(?:ish)?\W*$", re.I)
# ... unless it counts what someone has: "i'd rather not have mugs, he has about 100".
_OWNED_BEFORE = re.compile(r"\b(?:has|have|had|got|owns?|'s got|'ve got)\s*$", re.I)


# Rule "money in words": "twenty quid", "fifteen pounds tops", "a tenner", "a fiver",
# "forty-five pounds" are read as the digits they stand for before any budget rule runs.
_UNITS = UNITS
_TEENS = TEENS
_TENS = TENS
_SPELT_MONEY = re.compile(
    rf"\b(?:(?P<tens>{'|'.join(_TENS)})(?:[\s-]+(?:and\s+)?(?P<unit>{'|'.join(_UNITS)}))?"
    rf"|(?P<small>{'|'.join([*_TEENS, *_UNITS])}))\s+(?=(?:pounds?|quid|bucks|dollars|euros?|gbp)\b)", re.I)
_SLANG_MONEY = {"a tenner": "£10", "a fiver": "£5", "a score": "£20", "a quid": "£1", "tenner": "£10", "fiver": "£5"}


def spelt_money_as_digits(text: str) -> str:
    """"twenty quid" -> "20 quid", "a tenner" -> "£10": money in words, as digits."""
    def digits(match: re.Match[str]) -> str:
        if match.group("small"):
            value = {**_TEENS, **_UNITS}[match.group("small").lower()]
        else:
            value = _TENS[match.group("tens").lower()] + _UNITS.get((match.group("unit") or "").lower(), 0)
        return f"{value} "
    text = _SPELT_MONEY.sub(digits, text)
    for slang, amount in _SLANG_MONEY.items():
        text = re.sub(rf"\b{slang}\b", amount, text, flags=re.I)
    return text


# Rule "budget range": two amounts with money around them; the top is the budget (never
# exceeded), the bottom is what the shopper expects to spend at least.
#   match: "between £10 and £20" (10, 20), "£15-25" (15, 25), "from 10 to 20 quid" (10, 20),
#          "£15 – £25", "20 to 30 pounds"
#   no match: "for 6-8 people", "between 10 and 12 guests", "10 to 15 kids"
_MONEY_BEFORE = r"(?:£|gbp\s*|[$€])"
_MONEY_AFTER = r"(?:pounds?|quid|gbp|bucks|dollars|euros?)\b"
_RANGE = re.compile(
    rf"(?P<between>\bbetween\s+|\bfrom\s+)?(?P<m1>{_MONEY_BEFORE})?\s*{_AMOUNT}\s*(?P<a1>{_MONEY_AFTER})?\s*"
    rf"(?:-|to|up to|and)\s*(?P<m2>{_MONEY_BEFORE})?\s*{_AMOUNT}\s*(?P<a2>{_MONEY_AFTER})?", re.I)


_FLOOR_AND_CEILING = re.compile(
    rf"\b(?:no less than|not less than|at least|min(?:imum)?(?: of)?)\s*(?:£\s?)?{_AMOUNT}\s*(?:pounds?|quid)?\s*,?\s*"
    rf"(?:but|and)\s+(?:no more than|not more than|at most|max(?:imum)?(?: of)?|up to|under)\s*(?:£\s?)?{_AMOUNT}", re.I)


def budget_range_in(text: str) -> tuple[float, float] | None:
    """(lowest, highest) of a budget range the words state (rule "budget range")."""
    both = _FLOOR_AND_CEILING.search(spelt_money_as_digits(text))
    if both:  # "no less than 15 but no more than 20 pounds"
        low, high = (float(both.group(i).replace(",", ".")) for i in (1, 2))
        if 0 < low < high <= MAX_BUDGET:
            return low, high
    for match in _RANGE.finditer(spelt_money_as_digits(text)):
        said_money = match.group("m1") or match.group("m2") or match.group("a2") or match.group("a1")
        uses_and = re.search(r"\band\b", match.group(0), re.I)
        if not said_money or (uses_and and not match.group("between")):
            continue
        low, high = (float(match.group(i).replace(",", ".")) for i in (3, 6))
        if 0 < low < high <= MAX_BUDGET:
            return low, high
    return None


# Rule "an age is no budget": "his sister is under 3", "the kids are all under 10", "under 5
# years", "for the under 5s" say how old, not how much; "under 30" alone is money in a shop.
_AGE_BEFORE = re.compile(r"\b(?:is|are|'s|aged?|ages|both|all|kids|children|babies|toddlers|the)\s*$", re.I)
_AGE_AFTER = re.compile(r"\s*(?:years?\b|yrs?\b|yo\b|y/o|months?\b|mths?\b|s\b|-year)", re.I)


def _an_age_at(text: str, match: re.Match[str]) -> bool:
    said = match.group(0)
    if re.search(r"£|pounds?|quid|gbp", said, re.I):
        return False
    return bool(_AGE_BEFORE.search(text[:match.start()]) or _AGE_AFTER.match(text, match.end()))


def budget_in(text: str) -> float | None:
    """The whole bundle's budget the words state; a per-item cap ("£2 each") is not one;
    a range's top ("between £10 and £20" is 20)."""
    text = without_item_cap(spelt_money_as_digits(text))
    ranged = budget_range_in(text)
    if ranged is not None:
        return ranged[1]
    closing = _CLOSING_AMOUNT.search(text)
    if closing and 0 < float(closing.group(1).replace(",", ".")) <= MAX_BUDGET and not re.search(
            r"\b(?:budget|£|pounds?|quid)", text, re.I) and not _OWNED_BEFORE.search(text[:closing.start()]):
        return float(closing.group(1).replace(",", "."))
    spent: float | None = None  # rule "spending talk": "can spend up to 60" is money though no £ is said
    for pattern in BUDGET_PATTERNS:
        for match in pattern.finditer(text):
            value = float(match.group(1).replace(",", "."))
            if pattern is BUDGET_PATTERNS[0] and _an_age_at(text, match):
                continue
            if pattern is BUDGET_PATTERNS[0] and not _MONEY_WORD.search(match.group(0)):
                # "for 4" is a party size, not money; "up to 12 kids" a head count
                if spent is None and _SPENDING_TALK.search(text) and not match.group(0).lower().startswith("for") \
                        and not PARTY.match(text, match.start(1)) and 0 < value <= MAX_BUDGET:
                    spent = value
                continue
            if 0 < value <= MAX_BUDGET:
                return value
    return spent


def count_in(text: str) -> int | None:
    match = COUNT_PHRASE.search(text)
    if not match:
        return None
    word = match.group(1).lower()
    value = int(word) if word.isdigit() else _NUMBER_WORDS[word]
    return value if 1 <= value <= MAX_BUNDLE_SIZE else None


def is_money_phrase(text: str) -> bool:
    stripped = text.strip().lower()
    return budget_in(stripped) is not None and len(re.sub(
        r"(?:about|around|under|below|max(?:imum)?|up to|budget(?: of)?|£|gbp|pounds?|quid|[\d.,\s])", "",
        stripped)) == 0


def number_in(value: float, text: str) -> bool:
    """The text holds this number, in digits ("15", "15.00") or as a small number word."""
    digits = {m.group(0).replace(",", "") for m in re.finditer(r"\d[\d,]*(?:\.\d+)?", text)}
    if any(float(d) == float(value) for d in digits if d.replace(".", "", 1).isdigit()):
        return True
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
             "nine": 9, "ten": 10, "a dozen": 12, "twelve": 12, "twenty": 20}
    lowered = text.lower()
    return any(float(n) == float(value) and re.search(rf"\b{w}\b", lowered) for w, n in words.items())


# -- per-item caps, the cheapest, party sizes ------------------------------------------------
_NUMBER_WORD_VALUES = {w: n for w, n in NUMBER_WORDS.items()
                       if (2 <= n <= 12 or n in (20, 30)) and w not in ("a couple", "a couple of", "a few")}
_PARTY_WORDS = "|".join(sorted(_NUMBER_WORD_VALUES, key=len, reverse=True))
_GUEST_NOUN = (r"(?:people|ppl|persons|guests|friends|kids|children|adults|girls|boys|ladies|lads|"
               r"of us|of them|mates|family members|grown-?ups|little ones|round the table|"
               r"around the table|at the table|coming|tables|place settings|colleagues|teachers|"
               r"classmates|pupils|neighbours|cousins|grandchildren|grandkids|trick[\s-]or[\s-]treaters|treaters|"
               r"residents|members|players|teammates|students|volunteers|visitors|attendees|"
               r"nephews|nieces|sons|daughters|brothers|sisters|grandsons|granddaughters|"
               r"under-?(?:fives|sixes|sevens|eights|nines|tens|twelves)|(?:\w+-)?year-olds|toddlers|teens|teenagers|tweens|"
               r"babies|women|men|guys|relatives)")
# Rule "per-item cap": a price limit on each item, not on the whole bundle.
#   "nothing over £10 each", "£5 each max", "each under £8", "max £3 per item",
#   "each thing £2 or under", "£4 or less per thing", "no single item over £10",
#   "nothing over a fiver each"
ITEM_CAP = re.compile(
    rf"(?:(?:£\s?|gbp\s?){_AMOUNT}|{_AMOUNT}\s*(?:pounds?|quid))\s*"
    r"(?:max(?:imum)?\s*|or (?:less|under|below)\s*|tops\s*)?(?:each|apiece|a piece|a pop|a thing|an item|per item|"
    r"per thing|per gift|per present|a gift|a present|a prize|per prize)\b"
    rf"|\b(?:no|not a|not one)\s+(?:single\s+)?(?:item|thing|gift|present|one)\s+(?:over|above|more than|dearer than)"
    rf"\s*(?:£\s?)?{_AMOUNT}"
    rf"|\b(?:each|every item|per item|any item|each (?:item|thing|one|bit|piece|gift|present))\s+(?:under|below|no more than|"
    rf"max(?:imum)?|at most|up to|less than|not over)\s*(?:£\s?)?{_AMOUNT}"
    rf"|\b(?:each|every|any) (?:item|thing|gift|one)\s+(?:£\s?)?{_AMOUNT}\s*(?:pounds?|quid)?\s*"
    r"(?:or (?:under|less|below)|max(?:imum)?|tops|at most)\b", re.I)
# Rule "cheapest": the shopper wants the lowest total, not the budget used.
#   "the cheapest possible birthday bundle", "as cheap as possible", "on a shoestring"
CHEAPEST = re.compile(r"\b(?:cheapest|(?:as )?cheap as (?:possible|poss|you can|can be)|lowest (?:price|cost)|the cheaper the better|"
                      r"least expensive|on a shoestring|rock[- ]bottom)\b", re.I)
# Rule "party size": how many the bundle serves.
#   "for six friends", "for 8 kids", "a tea party for two", "party of 10", "there'll be 12 of us",
#   "for about 20 people", "ten round the table", "5 of them"
PARTY = re.compile(
    rf"\bfor\s+(?:about\s+|around\s+|roughly\s+|up to\s+)?(\d{{1,3}}|{_PARTY_WORDS})(?:\s+{_GUEST_NOUN}|(?=\s*(?:[,.!?;:–—-]|$|\s+(?:and|with|please|people|at|on|this|next|in|by|tomorrow|tonight))))"
    rf"|\bfor\s+({'|'.join(w for w in _NUMBER_WORD_VALUES if w != 'a dozen')})\b(?!\s*(?:pounds?|quid|p\b|pence|each|items?|things?))"
    rf"|\b(?:party|family|group|table) of\s+(\d{{1,3}}|{_PARTY_WORDS})\b"
    rf"|\b(\d{{1,3}}|{_PARTY_WORDS})(?:ish)?\s+(?:\w+\s+)?{_GUEST_NOUN}", re.I)
# Rule "me and my mates": "me and three mates" are four.
# So are "my daughter + 5 friends" six and "her and 3 mates" four.
_ME_AND = re.compile(rf"\b(?:me|myself|him|her|them|(?:my|our)\s+[\w-]+)\s*(?:and|\+|&|plus)\s*(?:my |his |her |their )?"
                     rf"(\d{{1,2}}|{_PARTY_WORDS}) (?:\w+ )?(?:mates|friends|pals|others|"
                     r"colleagues|girls|lads|kids|children|classmates|cousins)\b", re.I)
# Rule "correction": "for 6, actually make that 8", "10... no wait, 12 of us": the last number said.
_CORRECTED_TO = re.compile(rf"\b(?:make (?:that|it)|actually|no wait,?|i mean)\s+(\d{{1,3}}|{_PARTY_WORDS})\b(?!\s*(?:£|pounds?|quid))",
                           re.I)
_CORRECTION = re.compile(r"\b(?:actually|no wait|make (?:that|it)|scratch that|i mean|sorry)\b", re.I)


def item_cap_in(text: str) -> float | None:
    """The most each item may cost, when the shopper says so ("nothing over £10 each")."""
    match = ITEM_CAP.search(spelt_money_as_digits(text.replace("’", "'")))
    if not match:
        return None
    value = float(next(g for g in match.groups() if g).replace(",", "."))
    return value if 0 < value <= MAX_BUDGET else None


def without_item_cap(text: str) -> str:
    """The text with its per-item cap phrase removed (what is left may state a budget or
    rule things out); money in words is read as digits first."""
    return ITEM_CAP.sub(" ", spelt_money_as_digits(text))


def without_money(text: str) -> str:
    """The text without what it says about money: the per-item cap, a range with money
    around it ("£15-25"), and each amount and its budget words ("under £30", "a fiver",
    "thirty-five quid"); what is left says what the money is for."""
    text = without_item_cap(text)
    for match in reversed(list(_RANGE.finditer(text))):
        if match.group("m1") or match.group("m2") or match.group("a2") or match.group("a1"):
            text = text[:match.start()] + " " + text[match.end():]
    for pattern in BUDGET_PATTERNS:
        text = pattern.sub("\x01", text)
    # what closes an amount goes with it ("$30 tops", "20 quid max", "a tenner or so")
    text = _AMOUNT_TAIL.sub(" ", _AMOUNT_LEAD.sub("\x01", text)).replace("\x01", " ")
    return re.sub(r"[ \t]+", " ", text)


_AMOUNT_TAIL = re.compile(r"\x01\s*(?:tops|max(?:imum)?|ish|at (?:the )?most|or (?:less|under|so|thereabouts)|all in"
                          r"|budget|total|overall|to spend)\b", re.I)
# and what leads it ("budget around 60 quid", "my budget's about £20", "spend up to £30")
_AMOUNT_LEAD = re.compile(r"\b(?:(?:a|my|the|our)\s+)?(?:budget|spend)(?:'s|\s+is|\s+of)?\s*(?:around|about|roughly|of|is|"
                          r"up\s+to|max(?:imum)?)?\s*\x01|\b(?:a|my|the|our)\s+\x01", re.I)


def wants_cheapest(text: str) -> bool:
    return CHEAPEST.search(text) is not None


# Rule "the two of us": "me and my other half", "the two of us", "for the pair of them",
# "twin boys" serve two.
_COUPLE = re.compile(r"\b(?:(?:me|myself) and (?:my|the) (?:other half|partner|husband|wife|boyfriend|girlfriend|"
                     r"fiance|fiancee|hubby|missus|wife-to-be|husband-to-be)|the two of us|(?:for )?us two|just us two"
                     r"|(?:my|our) (?:other half|partner|husband|wife|boyfriend|girlfriend|fiance|fiancee|hubby|missus)"
                     r" and (?:i|me)\b"
                     r"|the pair of them|both of them|twins|twin (?:boys|girls|sisters|brothers))\b", re.I)
# Rule "one gift each": more gifts than a bundle holds are gifts for that many people
#   "twenty little gifts for the staff room", "30 party favours"
_GIFTS_EACH = re.compile(rf"\b(\d{{1,3}}|{_PARTY_WORDS}|thirty|forty|fifty)\s+(?:\w+\s+)?"
                         r"(?:gifts|presents|prizes|favours|party bags|stocking fillers|cards)\b", re.I)


# Rule "tables": how many tables the shopper dresses, when they count them; one table is
# no count ("the table", "a table for 6" are a party).
#   "tealights for 10 tables", "ten tables at the reception", "we'll have 8 tables"
_TABLES = re.compile(rf"\b(\d{{1,2}}|{_PARTY_WORDS})\s+(?:round\s+|long\s+|trestle\s+|big\s+|small\s+)?tables\b", re.I)


def tables_in(text: str) -> int | None:
    """How many tables the shopper counted ("10 tables"), if they did."""
    match = _TABLES.search(text.replace("’", "'"))
    if not match:
        return None
    said = match.group(1).lower()
    value = int(said) if said.isdigit() else _NUMBER_WORD_VALUES.get(said)
    return value if value is not None and 2 <= value <= MAX_PARTY_SIZE else None


def party_size_in(text: str) -> int | None:
    """How many guests or people the bundle is for, when the words say ("for six friends");
    a correction counts the last number said ("for 6, actually make that 8")."""
    text = text.replace("’", "'")
    counted = []
    for match in PARTY.finditer(text):
        said = next(g for g in match.groups() if g).lower()
        value = int(said) if said.isdigit() else _NUMBER_WORD_VALUES[said]
        if 1 <= value <= MAX_PARTY_SIZE and not _is_money_at(text, match.start()):
            counted.append((match.start(), value))
    me_and = _ME_AND.search(text)
    if me_and:
        said = me_and.group(1).lower()
        counted.append((me_and.start(), 1 + (int(said) if said.isdigit() else _NUMBER_WORD_VALUES[said])))
    counted.sort()
    if counted:
        corrected = _CORRECTED_TO.search(text, counted[0][0])
        if corrected:
            said = corrected.group(1).lower()
            counted.append((corrected.start(), int(said) if said.isdigit() else _NUMBER_WORD_VALUES[said]))
    if len(counted) > 1 and _CORRECTION.search(text, counted[0][0]):
        return counted[-1][1]
    if counted:  # a number said beats "twins" or "me and my husband" ("my twins' party, ten kids")
        return counted[0][1]
    if _COUPLE.search(text):
        return 2
    each = _GIFTS_EACH.search(text)
    if each:
        said = each.group(1).lower()
        value = int(said) if said.isdigit() else {**_NUMBER_WORD_VALUES, "thirty": 30, "forty": 40, "fifty": 50}[said]
        if MAX_BUNDLE_SIZE < value <= MAX_PARTY_SIZE:
            return value
    return None


def _is_money_at(text: str, start: int) -> bool:
    """"for 20" right after a money word is an amount ("a budget for 20"), not a party."""
    before = text[max(0, start - 12):start].lower()
    return bool(re.search(r"(?:budget|£|spend|pounds?|quid)\s*$", before))
