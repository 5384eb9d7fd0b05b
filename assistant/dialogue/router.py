"""The intent router as an ordered table: each route is (name, when, act), read top to bottom;
the first whose `when` holds and whose `act` answers (not None) serves the turn.

What the shopper's words say unambiguously comes first, whatever the model parsed (a cart
question, an exclusion-only message, new things wanted, a comparison, a typed stock code);
then the parsed intent. `ROUTES` is the whole policy: `tests/test_router.py` reads it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from assistant.records import EDIT_INTENTS, Request
from assistant.safety.guard import redact
from assistant.understand.amounts import wants_cheapest
from assistant.understand.price_tiers import asks_for_tiers, tier_named
from assistant.understand.shopper_cues import asks_to_swap, says_goodbye, shopping_cue
from assistant.understand.slots import (
    asks_about_cart,
    comparison_cue,
    exclusion_only,
    exclusions_in,
    money_for_the_bundle_on_screen,
    wants_products,
)

if TYPE_CHECKING:
    from assistant.dialogue.cart_and_answers import ActionResult, CartAndAnswers
    from assistant.dialogue.session import ConversationState
    from assistant.dialogue.text_items import TextItems


class Actions(Protocol):
    """What the routes use of `actions.Actions` (the router never imports it: no cycle)."""

    text_items: TextItems
    answers: CartAndAnswers

    def compose(self, request: Request, state: ConversationState, text: str = "") -> ActionResult: ...

    def edit(self, request: Request, state: ConversationState, text: str = "") -> ActionResult: ...

    def exclude_terms(self, terms: Sequence[str], state: ConversationState) -> ActionResult: ...

    def served_words(self, need: str | None, text: str) -> Request: ...

    def tiers(self, request: Request, state: ConversationState, text: str = "") -> ActionResult: ...

    def pick_tier(self, name: str, state: ConversationState) -> ActionResult | None: ...

When = Callable[["Actions", Request, "ConversationState", str], bool]
Act = Callable[["Actions", Request, "ConversationState", str], "ActionResult | None"]


@dataclasses.dataclass(frozen=True)
class Route:
    name: str
    when: When
    act: Act
    example: str  # a message this route serves


# -- conditions and actions ----------------------------------------------------------------


def _exclusion_edit(a: Actions, r: Request, s: ConversationState, t: str) -> bool:
    # a parsed swap of a named item stays a swap ("swap the mug, no candles")
    return bool(s.bundle) and exclusion_only(t) and not (r.intent == "swap" and bool(r.target or r.items))


def _misread_wants(a: Actions, r: Request, s: ConversationState, t: str) -> bool:
    # a small parser may make a question, an "add" of one item or a budget change with no
    # amount of "could you also find something X"
    # or a swap of "what about something jumbo and something cube?"
    misread = ("question", "compare", "smalltalk", "off_topic", "add") + (("set_budget",) if r.budget is None else ()) \
        + (("swap",) if not asks_to_swap(t) else ())
    return r.intent in misread and wants_products(t) and not comparison_cue(t)


def _compose_words(a: Actions, need: str, s: ConversationState, t: str) -> ActionResult:
    """A bundle for the shopper's own words where the parse missed them; the reply carries
    the request that was served."""
    served = a.served_words(need, t)
    return dataclasses.replace(a.compose(served, s, t), request=served)


def _serve_wants(a: Actions, r: Request, s: ConversationState, t: str) -> ActionResult | None:
    need = a.text_items.need_in(t)
    if need is None:  # "what about something tea?" may ask for a fact: later routes decide
        return None
    return _compose_words(a, need, s, t)


def _comparison(a: Actions, r: Request, s: ConversationState, t: str) -> bool:
    return r.intent == "compare" or (r.intent in ("question", "bundle", "off_topic", "smalltalk", "cheaper") and (
        comparison_cue(t) or (r.intent == "question" and len(r.items) >= 2)))


def _typed_code(a: Actions, r: Request, s: ConversationState, t: str) -> bool:
    return r.intent in ("smalltalk", "off_topic") and bool(a.text_items.ids_in(t))


def _serve_code(a: Actions, r: Request, s: ConversationState, t: str) -> ActionResult | None:
    # a typed stock code is shopping: a question about the item, or a bundle around it
    if a.text_items.is_question(t) or t.rstrip().endswith("?"):
        return a.answers.question(Request(intent="question"), s, t)
    return a.compose(a.served_words(None, t), s, t)


def _chat_or_refusal(a: Actions, r: Request, s: ConversationState, t: str) -> ActionResult | None:
    # Injection attempts never get here (the guard answers them). A small model sometimes
    # calls a real request off-topic or chit-chat ("my sister's just had a baby girl!! want
    # to send something lovely"): words the shop clearly has things for are the need.
    from assistant.dialogue.cart_and_answers import (
        GOODBYE,
        GREETING,
        OFF_TOPIC,
        THANKS,
        ActionResult,
    )

    asks = r.intent == "off_topic" or shopping_cue(t)
    need = a.text_items.need_in(t) if asks else None
    if need is None and r.intent == "smalltalk":
        # "that's all, bye" was answered with the opening greeting
        text = GOODBYE if says_goodbye(t) else THANKS if "thank" in t.lower() else GREETING
        return ActionResult(kind="smalltalk", text=text)
    if need is None:
        return ActionResult(kind="refusal", text=OFF_TOPIC)
    return _compose_words(a, need, s, t)


def _cheapest_new(a: Actions, r: Request, s: ConversationState, t: str) -> bool:
    # "the cheapest possible birthday bundle" is a new bundle sorted by price, not an edit
    return r.intent == "cheaper" and wants_cheapest(t) and (not s.bundle or bool(r.need))


def _serve_cheapest(a: Actions, r: Request, s: ConversationState, t: str) -> ActionResult | None:
    need = r.need or a.text_items.need_in(t)
    if need is None:
        return None  # "as cheap as you can" with nothing on screen: the edit route says so
    return _compose_words(a, need, s, t)


def _money_edit(a: Actions, r: Request, s: ConversationState, t: str) -> bool:
    return money_for_the_bundle_on_screen(r, t, bool(s.bundle)) is not None


def _serve_money_edit(a: Actions, r: Request, s: ConversationState, t: str) -> ActionResult | None:
    intent = money_for_the_bundle_on_screen(r, t, bool(s.bundle))
    return a.edit(dataclasses.replace(r, intent=intent), s, t) if intent else None


def _tier_taken(a: Actions, r: Request, s: ConversationState, t: str) -> bool:
    return bool(s.constraints.get("tiers")) and tier_named(t) is not None and not comparison_cue(t)


def _take_tier(a: Actions, r: Request, s: ConversationState, t: str) -> ActionResult | None:
    name = tier_named(t)
    return a.pick_tier(name, s) if name else None


def _intent(*names: str) -> When:
    return lambda a, r, s, t: r.intent in names


ROUTES: tuple[Route, ...] = (
    Route("cart question", lambda a, r, s, t: asks_about_cart(t),
          lambda a, r, s, t: a.answers.cart_contents(s), "anything in my cart yet?"),
    Route("exclusion only", _exclusion_edit,
          lambda a, r, s, t: a.exclude_terms(exclusions_in(redact(t)), s), "actually, no candles please"),
    Route("things wanted whatever the parse", _misread_wants, _serve_wants,
          "could you also find something for the garden?"),
    Route("price tiers", lambda a, r, s, t: asks_for_tiers(t) and not comparison_cue(t),
          lambda a, r, s, t: a.tiers(r, s, t), "show me a cheaper and a nicer version"),
    Route("a tier taken", _tier_taken, _take_tier, "I'll take the premium one"),
    Route("comparison", _comparison,
          lambda a, r, s, t: a.answers.compare(r, s, t, required=r.intent == "compare"),
          "which is cheaper, the mug or the teapot?"),
    Route("typed stock code", _typed_code, _serve_code, "85123A?"),
    Route("chat or off-topic", _intent("smalltalk", "off_topic"), _chat_or_refusal, "thanks so much!"),
    Route("the cheapest of something new", _cheapest_new, _serve_cheapest,
          "give me the cheapest possible birthday bundle"),
    Route("money for the bundle on screen", _money_edit, _serve_money_edit, "all I've got left is a tenner"),
    Route("new bundle", _intent("bundle"), lambda a, r, s, t: a.compose(r, s, t), "a tea party for six, £40"),
    Route("edit", _intent(*EDIT_INTENTS), lambda a, r, s, t: a.edit(r, s, t), "swap the middle one"),
    Route("cart", _intent("add_to_cart"), lambda a, r, s, t: a.answers.add_to_cart(r, s, t), "pop it all in my basket"),
    Route("question", lambda a, r, s, t: True, lambda a, r, s, t: a.answers.question(r, s, t), "is the mug big?"),
)


def route(actions: Actions, request: Request, state: ConversationState, text: str,
          routes: tuple[Route, ...] = ROUTES) -> tuple[str, ActionResult]:
    """(the route's name, its result) for one turn."""
    for candidate in routes:
        if candidate.when(actions, request, state, text):
            result = candidate.act(actions, request, state, text)
            if result is not None:
                return candidate.name, result
    raise AssertionError("the last route always answers")  # pragma: no cover
