"""Deterministic slot checks on the model's structured request.

Money and counts are where a 135M model slips most (the held-out slot accuracy for the
budget is well below the intent's), and where a slip costs the shopper most. When the
shopper's own words state a budget or a number of items and the model's request lacks it,
code fills it in from the text; a budget phrase left inside the need text is cut out.
The same goes for exclusions ("no candles", "without glass", "nothing pink"), which code
reads from the text into `Request.exclude`, and for what code must recognise whatever the
intent the model chose: bundle positions ("the second one", "#2", "last"), cart questions
("what's in my basket?") and comparisons ("which is cheaper, X or Y").

The readers live in `amounts` (budgets, counts), `exclusions` and `shopper_cues`
(positions, cart and comparison cues) and are re-exported here.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from assistant.records import EDIT_INTENTS, MAX_MENTION_CHARS, Request
from assistant.safety.guard import redact
from assistant.understand.amounts import (
    COUNT_PHRASE,
    PARTY,
    budget_in,
    budget_range_in,
    count_in,
    is_money_phrase,
    item_cap_in,
    number_in,
    party_size_in,
    wants_cheapest,
    without_item_cap,
    without_money,
)
from assistant.understand.exclusions import (
    excluded_by,
    exclusion_only,
    exclusions_in,
    has_negation,
    has_negation_beyond_the_english_cues,
    merge_exclusions,
    strip_exclusions,
)
from assistant.understand.need_clauses import (
    clauses_of,
    need_clauses,
    need_words,
    reasons_for_ruling_out,
    says_a_need,
    without_reasons,
)
from assistant.understand.need_text import kind_mention, tidy_need
from assistant.understand.person_and_interests import names_only_a_person, recipient_in
from assistant.understand.shopper_cues import (
    asks_about_cart,
    asks_in_place,
    asks_to_add_to_cart,
    comparison_cue,
    comparison_splits,
    going_out,
    mentions_in_text,
    names_whole_bundle,
    positions_in,
    wants_products,
    whole_bundle_mention,
)
from assistant.understand.words import ORDINALS, content_stems

__all__ = [
    "Spending",
    "as_written",
    "asks_about_cart",
    "asks_to_add_to_cart",
    "budget_in",
    "comparison_cue",
    "comparison_splits",
    "complete_slots",
    "count_in",
    "edit_target",
    "exclusion_only",
    "exclusions_in",
    "mentions_in_text",
    "merge_exclusions",
    "money_for_the_bundle_on_screen",
    "money_only",
    "names_whole_bundle",
    "need_from_text",
    "need_of_its_clauses",
    "positions_in",
    "reconcile_intent",
    "spending_in",
    "strip_exclusions",
    "unsaid_position",
    "wants_products",
    "whole_bundle_mention",
]


def as_written(mention: str, text: str) -> str:
    """Rule "mentions as written": a mention the model cut inside a word ("land lunch bag" of
    "the woodland lunch bag") is the shopper's whole words; any other mention is as it is."""
    if len(mention) < 3 or re.search(rf"(?<!\w){re.escape(mention)}(?!\w)", text, re.I):
        return mention
    found = re.search(rf"\w*{re.escape(mention)}\w*", text, re.I)
    return found.group(0) if found else mention


_LIST_PARTS = re.compile(r"\s*(?:,|&|\+|/|\bor\b|\band\b|\bnor\b)\s*", re.I)


def complete_slots(request: Request, text: str) -> Request:
    """Fill a budget, size or exclusion the shopper stated but the model left out; tidy the need."""
    changes: dict[str, Any] = {}
    wants_money = request.intent in ("bundle", "cheaper", "set_budget", "add")
    stated, counted = budget_in(text), count_in(text)
    if wants_money and stated is not None and request.budget != stated:
        # the amount the shopper wrote wins over the model's ("8 kids ... under £30" is 30)
        changes["budget"] = stated
    elif request.budget is not None and stated is None and (
            not number_in(request.budget, text)
            or request.budget in (counted, party_size_in(text), item_cap_in(text))):
        # an amount the shopper never wrote (or a count: "party bags for 10 kids") is the model's invention
        changes["budget"] = None
    if request.intent == "set_budget" and changes.get("budget", request.budget) is None and (
            _CHEAPER.search(text) or item_cap_in(text) is not None):
        # "make it cheaper", "nothing above a fiver a piece": a cheaper bundle, not a budget to ask for
        changes["intent"] = "cheaper"
    if request.intent == "cheaper" and stated is not None and budget_range_in(text) is None \
            and item_cap_in(text) is None and not request.items and not request.need:
        changes["intent"] = "set_budget"  # rule "cheaper to an amount": "too dear, £8 max for the lot" sets the budget
    # How many people the bundle serves is read from the words ("for six", "8 of us"); a
    # number the model took for it may be an age, a budget or a date ("my nan's 82").
    guests = party_size_in(text)
    if request.party_size != guests:
        changes["party_size"] = guests
    # Rule "a size is a count of things": "need 3 things" is 3 whatever the model said, and
    # a number that counts no things ("lost the pieces in 5 mins", "+ 5 friends", "between
    # 10 and 20 pounds") is no size.
    if request.intent == "bundle" and counted is not None and request.size != counted:
        changes["size"] = counted
    elif request.size is not None and counted is None:
        changes["size"] = None
    # The model's exclusions must be things the shopper ruled out in words that are in the
    # message, never a money phrase ("under £35" excludes nothing).
    # A message with no negation at all (in any of the languages below) rules nothing out:
    # "Ein Geschenkset für Ostern" once came back with "Ostern" excluded.
    # a price limit is no exclusion: "nothing over a fiver each" rules out no fiver
    # An English negation must govern the model's exclusion: "want spooky candles and skull
    # bits, nothing too dear" rules out no skull bits (its "nothing" is about the price).
    uncapped = without_item_cap(text)
    said = set(content_stems(uncapped))
    read = exclusions_in(redact(uncapped))
    beyond_english = has_negation_beyond_the_english_cues(uncapped)
    # "pink or blue" rules out each: one phrase per thing, as the words are read
    parts = tuple(p.strip() for e in request.exclude for p in _LIST_PARTS.split(e) if p.strip())
    exclude = tuple(e for e in parts if has_negation(uncapped) and not is_money_phrase(e)
                    and not re.search(r"[£$€]|\d", e) and set(content_stems(e)) <= said
                    and (beyond_english or any(excluded_by(e, r) or excluded_by(r, e) for r in read)))
    if exclude != request.exclude:
        changes["exclude"] = exclude
    if request.intent in ("bundle", "off_topic", *EDIT_INTENTS):
        exclude = merge_exclusions(exclude, read)
        if exclude != request.exclude:
            changes["exclude"] = exclude
        else:
            changes.pop("exclude", None)
    # A money phrase the model copied into the item mentions is a budget, not an item; a
    # word the shopper ruled out ("no candles") is not an item to build around either.
    # Nor is a mention of only money, a date, a head count or chat ("a fiver", "12 ppl",
    # "with the last thing"), nor one of only a person ("ma auntie": the need says who).
    kept = tuple(as_written(m, text) for m in request.items
                 if not is_money_phrase(m) and need_words(m) and not names_only_a_person(m)
                 and not any(excluded_by(m, term) for term in exclude))
    # Rule "kinds are wants": "candles and bath stuff", "something gingham" name kinds of thing
    # for the need, not items to build around (as the composer reads them); so do the things
    # someone loves ("my nan, she loves baking and her garden": no "garden" to build around).
    loved = {interest.casefold() for interest in recipient_in(text).interests} if request.intent == "bundle" else set()
    kept = tuple(m for m in kept if m.casefold() not in loved)
    kinds = tuple(m for m in kept if kind_mention(m, text)) if request.intent == "bundle" else ()
    kept = tuple(m for m in kept if m not in kinds)
    if kept != request.items:
        changes["items"] = kept
    if request.need and money_only(request.need):
        changes["need"] = None  # rule "money is no need": "all i've got left is a tenner" asks for no tenner
    elif request.need:
        need = re.sub(r"\s*(?:,\s*)?(?:under|below|max(?:imum)?|up to|budget(?: of)?)?\s*(?:£|gbp\s?)\s?\d[\d.,]*"
                      r"(?:\s*(?:pounds?|quid))?", "", request.need, flags=re.I).strip(" ,.")
        reasons = reasons_for_ruling_out(text)  # "she doesn't drink so no wine stuff" says why, not what for
        need = without_reasons(strip_exclusions(need), reasons)
        if any(need.casefold() in reason.casefold() for reason in reasons):
            need = ""  # "a toddler" of "there's a toddler in the house so nothing made of glass"
        own_clauses = need_clauses(need)  # a need copied with its money talk or chat keeps what says a need
        need = ", ".join(own_clauses) if len(own_clauses) > 1 or (own_clauses and not says_a_need(need)) else need
        if request.intent == "bundle":
            need = need_in_its_sentence(need, without_reasons(without_mentions(text, changes.get("items", request.items)),
                                                              reasons))
        if need and money_only(need):
            need = ""  # "nothing that costs above five pound a piece" is money once the "nothing" is read
        if need != request.need:
            changes["need"] = need or None
    if kinds:
        wants = [tidy_need(w) for w in (changes.get("need", request.need), *kinds) if w]
        changes["need"] = " and ".join(dict.fromkeys(w for w in wants if w)) or None
    if changes.get("need") and len(changes["need"]) > MAX_MENTION_CHARS:  # a need joined from parts stays a need
        changes["need"] = changes["need"][:MAX_MENTION_CHARS + 1].rsplit(" ", 1)[0].rstrip(" ,;:-–&+")
    return dataclasses.replace(request, **changes) if changes else request


def money_only(need: str) -> bool:
    """Rule "money is no need": a need that is only an amount ("a tenner", "£20 max") says
    nothing of what the bundle is for (a need of only chat, "things I'd like", is another rule's)."""
    return not need_words(without_item_cap(need)) and (budget_in(need) is not None or item_cap_in(need) is not None)


_ADDING = re.compile(r"\b(?:add|adding|also|another|extra|more|too|as well)\b", re.IGNORECASE)


def money_for_the_bundle_on_screen(request: Request, text: str, on_screen: bool) -> str | None:
    """Rule "money alone edits the bundle on screen": with a bundle shown, a turn that names
    no need and no product, only an amount, changes that bundle instead of asking what a new
    one is for. "cheaper" for a cap on each item ("nothing above a fiver a piece"),
    "set_budget" for a total ("all i've got left is a tenner"); None otherwise."""
    if not on_screen or request.intent not in ("bundle", "add") or request.items or request.need \
            or wants_products(text) or (request.intent == "add" and _ADDING.search(text)):
        return None  # "add a couple more bits under £2 each" adds
    if item_cap_in(text) is not None:
        return "cheaper"
    # "could you add something under a fiver?" adds one thing: only a bundle request sets the total
    return "set_budget" if request.budget is not None and request.intent == "bundle" else None


_CHEAPER = re.compile(r"\b(?:cheap\w*|less|lower|reduce|cut (?:the )?(?:price|cost)|too (?:much|expensive|pricey|dear))\b",
                      re.IGNORECASE)


_CART_WORDS = re.compile(r"\b(cart|basket|trolley|checkout|check out|buy (?:just |only )?(?:it|them|these|all|that|this)|purchase"
                         r"|i'?ll take (?:the lot|them all|it|them|all of (?:it|them))|order (?:it|them|the lot|the \w+))\b",
                         re.I)


def reconcile_intent(request: Request, text: str, sure_intent: str | None = None) -> Request:
    """Putting things in the cart changes the shopper's order, so it needs the shopper's words.

    The model's intent is kept unless the text contradicts the one intent with a side
    effect: "add_to_cart" without any cart wording becomes a bundle request for the items
    named (nothing is added), and "add" with cart wording becomes "add_to_cart". A question
    about the cart ("what's in my basket?") is a question, whatever the model said; an
    explicit "add/put ... in(to) my cart/basket" is a cart request, whatever the model said
    (which item it names is read from the text by the cart action).

    `sure_intent`, the intent reader's when it gives it 90% or more, outweighs the cart words:
    a sure cart request without them ("I'll grab the third one, just that") stays one, a sure
    question that names the basket ("which bits did I put in my basket?") stays a question.
    """
    if not re.search(r"[^\W_]", text):  # rule "emoji only is chat": "🎂🎉🎁" is never off-topic
        return request if request.intent in ("smalltalk", "bundle") else Request(intent="smalltalk")
    if request.intent == "swap" and exclusion_only(text):
        # rule "ruling out is removing": "actually, no candles please" says nothing else, so a
        # target the parser gave it is the thing ruled out ("swap the mug, no candles" says more)
        request = dataclasses.replace(request, intent="remove")
    says_cart = bool(_CART_WORDS.search(without_mentions(text, (*request.items, request.target or ""), " it ")))
    if asks_about_cart(text) and sure_intent in (None, "question"):
        return request if request.intent == "question" else Request(intent="question")
    if request.intent == "add_to_cart" and not says_cart and sure_intent != "add_to_cart":
        return dataclasses.replace(request, intent="bundle", target=None)
    if request.intent == "add" and says_cart and sure_intent != "add":
        return dataclasses.replace(request, intent="add_to_cart", items=(), need=None)
    if request.intent != "add_to_cart" and asks_to_add_to_cart(text) and sure_intent in (None, "add_to_cart"):
        return Request(intent="add_to_cart", items=request.items, target=request.target)
    if request.intent == "add" and request.items and asks_in_place(text) and (request.target or going_out(text)):
        # rule "in its place": "a scarf rather than the hat" swaps the hat for a scarf
        return dataclasses.replace(request, intent="swap", target=request.target or going_out(text))
    return request


# Request scaffolding before (or after) what the shopper wants: "could you show me", "a bundle for".
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


def need_from_text(text: str) -> str:
    """The shopper's words without request scaffolding ("I need", "do you have"), budget,
    count, party-size and exclusion phrases (what to match against items)."""
    # head counts first: "for 8 people" is no budget of 8 (and would leave "people")
    need = strip_exclusions(without_money(COUNT_PHRASE.sub("", PARTY.sub("", text))))
    need = re.sub(r"\bplease\b|\s+(?=[,.!?])", "", need, flags=re.I)
    need = re.sub(r"(?:[,;]\s*)+(?=[,;]|$)|\s+", " ", need).strip(" ,.!?")
    previous = None
    while need != previous:  # "hi, could you show me ..." has several layers
        previous = need
        need = _SCAFFOLD.sub("", need, count=1).strip(" ,.!?")
        need = re.sub(r"\s+(?:for|with|under|of|to|at|around|about|and|but|or|so)$", "", need, flags=re.I)
    # Placeholders for a product ("something gingham", "anything with stars") carry no meaning.
    need = re.sub(r"\b(?:something|anything|some)\s+(?=\w)", "", need, flags=re.I)
    need = re.sub(r"\s+", " ", need).strip(" ,.!?-–")
    if len(need) > MAX_MENTION_CHARS:  # a need is at most this long: a long message's first words
        need = need[:MAX_MENTION_CHARS + 1].rsplit(" ", 1)[0].rstrip(" ,;:-–")
    return need


def need_in_its_sentence(need: str, text: str) -> str:
    """Rule "need in its sentence": the model's need widened to the clauses of the message
    that say what the bundle is for (`need_clauses`: no money talk, dates, head counts or
    chat), less scaffolding, amounts and exclusions (`need_from_text`), so the occasion and
    the interest around a person stay with it: "my nephew" in "could you do me a christmas
    stocking for my nephew, about £15" is "do me a christmas stocking for my nephew";
    "my dad" in "pressie for my dad, not too expensive, he potters in the greenhouse all
    day" keeps the greenhouse and loses the money talk. A need not copied from the words, or
    one the clauses add no word to ("tea party" in "a tea party under £20"), stays as it is."""
    if not need:
        return need
    folded = need.casefold()
    clauses = clauses_of(text)
    own = next((n for n, c in enumerate(clauses) if folded in c.casefold()), None)
    if own is None:
        return need
    widened = need_from_text(", ".join(_within_length(clauses, own)))
    adds_words = set(content_stems(widened)) - set(content_stems(need))
    # the need's own words stay ("a family of five" and "for 10 girls" are head counts, not needs)
    kept = set(need_words(need)) <= set(need_words(widened))
    return widened if kept and adds_words and need_words(widened) else need


def _within_length(clauses: list[str], own: int | None = None) -> list[str]:
    """The clauses that say a need, with `own` always among them, within MAX_MENTION_CHARS:
    the clause with the fewest need words goes first ("finally!!"), then the farthest."""
    kept = [n for n, c in enumerate(clauses) if n == own or says_a_need(c)]
    while len(", ".join(clauses[n] for n in kept)) > MAX_MENTION_CHARS and len(kept) > 1:
        kept.remove(min((n for n in kept if n != own),
                        key=lambda n: (len(need_words(clauses[n])), -abs(n - (own or 0)))))
    return [clauses[n] for n in kept]


def need_of_its_clauses(text: str) -> str | None:
    """Rule "need of its clauses": a bundle request the model read no need in takes the
    clauses that say what it is for (`need_clauses`), without money, dates, head counts
    and chat: "bbq this weekend, two families, about ten people. plates, cups" is "bbq,
    plates, cups"; "15£ budget. birthday for girl of 8 years" is "birthday for girl of 8
    years". None when no clause says a need ("£20, quick please")."""
    text = without_reasons(text, reasons_for_ruling_out(text))
    return need_from_text(", ".join(_within_length(clauses_of(text)))) or None


def without_mentions(text: str, mentions: tuple[str, ...], stand_in: str = " ") -> str:
    """The text without the item mentions the parse took from it: what is left says the
    need, and a "Picnic Basket" is no cart word (`stand_in` " it " keeps the sentence)."""
    for mention in sorted(mentions, key=len, reverse=True):
        if len(mention) > 3:
            text = re.sub(re.escape(mention), stand_in, text, flags=re.I)
    return re.sub(r"\s+", " ", text)


@dataclasses.dataclass(frozen=True)
class Spending:
    """What a turn says about money: the bundle's budget (the top of a range), the range's
    low end, the most for any one item, and whether the shopper wants the lowest prices."""

    budget: float | None = None
    budget_min: float | None = None
    item_cap: float | None = None
    cheapest: bool = False


def spending_in(request: Request, text: str) -> Spending:
    """The money slots of a served request (`complete_slots` already reconciled its budget
    with the words): "between £10 and £20" is a budget of 20 from 10; "nothing over £10
    each" caps each item and is no budget for the bundle; "the cheapest" sorts by price."""
    item_cap = item_cap_in(text)
    budget = request.budget
    if item_cap is not None and budget == item_cap and budget_in(without_item_cap(text)) is None:
        budget = None
    ranged = budget_range_in(without_item_cap(text))
    budget_min = ranged[0] if ranged is not None and budget == ranged[1] else None
    return Spending(budget, budget_min, item_cap, wants_cheapest(text))


_POSITION_WORD = re.compile(rf"(?:#|no\.?\s*|number\s+)?(?:\d{{1,2}}|middle|{'|'.join(ORDINALS)})", re.I)


# "3 bowls", "2 big mugs": a count of things after a number (not "2 pls", "3 is fine").
_COUNTED = re.compile(r"\s+(?:[a-z]+\s+)?(?!(?:pls|plus|thanks|cheers|is|was|has|yes|as|its|this|has)\b)[a-z]{2,}s\b", re.I)


def unsaid_position(target: str | None, text: str) -> bool:
    """Rule "a position must be said": the model's target is a bare position ("4", "last")
    that the message never says ("that vase isn't my style" read as "4"): the words of the
    message name the item instead (`assistant.compose.targets.title_said_in`)."""
    if not target or not _POSITION_WORD.fullmatch(target.strip()):
        return False
    bare = re.sub(r"\D", "", target) or target.strip()
    if positions_in(text):
        return False
    # a number that counts things ("she already has 3 bowls") says no position
    said = [m for m in re.finditer(rf"(?<![\w£$€.]){re.escape(bare)}(?![\w.]\d)", text, re.I)
            if not _COUNTED.match(text, m.end())]
    return not said


def edit_target(request: Request, text: str) -> str | None:
    """Which bundle item an edit points at: a position the shopper wrote ("swap the second
    one") wins over the model's mention unless the mention's words are in the message."""
    target = request.target or (request.items[0] if request.items else None)
    positions = positions_in(text)
    if positions and (target is None or not mentions_in_text(target, text)):
        return positions[0]
    return target
