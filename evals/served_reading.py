"""The product's served reading of a hand-written message (`evals.parse_set`): what the
assistant acts on.

The guard's refusal, the model's parse of the redacted text, then the code that reconciles
it with the shopper's words (`served_request`, with the intent reader's intent when it is
sure), the money slots (`spending_in`) and the one item the action points at
(`_served_target`: an edit's target, a cart request's item; none for intents whose action
takes none), resolved to a bundle position as the editor resolves it. With the default shop
(`ServingShop`, as `cartsmith eval model` runs it) a question, a cart request or a
comparison about a bundle on screen is read as its action serves it (`ServingShop.answered`:
the item answered about, the item put in the cart, the two items set side by side), since
those actions also find their items in the words themselves; a bundle request's items and
need are read as the compose action reads them (`read_bundle_wants`: a mention that names
no catalog item joins the need), and a target by the editor's words-then-embedding match.
Without a shop, mentions are taken as parsed and targets by `resolve_target` without the
embedding fallback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from assistant.records import Request, RequestError
from evals.parse_set import ParseCase


class ServingShop:
    """The default shop as the compose action and the editor see it: its catalog items for a
    case's bundle titles, the action's reading of a bundle request, the editor's positions."""

    def __init__(self, index: Any = None) -> None:
        from assistant.compose.composer import BundleComposer
        from assistant.compose.config import ComposerConfig
        from assistant.compose.editor import BundleEditor
        from assistant.dialogue.assistant_config import AssistantConfig
        from assistant.dialogue.shop_reader import ShopReader
        from retrieval.shop_index import ShopIndex

        config = AssistantConfig()  # the defaults `cartsmith chat` serves with
        index = index or ShopIndex.load(config.index_path())
        self.composer = BundleComposer(index, ComposerConfig(size=config.bundle_size,
                                                             vector_search=config.vector_search),
                                       needs=config.needs_book())
        self.reader = ShopReader(index, self.composer)
        self.editor = BundleEditor(self.composer)
        self._by_title = {item.title.casefold(): item for item in index.catalog.items}

    def bundle(self, titles: Sequence[str]) -> Any:
        """The bundle of the catalog's items with these titles; None when one is not sold here."""
        from assistant.records import Bundle, BundleItem

        items = [self._by_title.get(title.casefold()) for title in titles]
        if not items or any(item is None for item in items):
            return None
        return Bundle(tuple(BundleItem(item) for item in items if item is not None))

    def bundle_slots(self, request: Request, text: str, on_screen: bool = False) -> dict[str, Any]:
        """A bundle request's need and items as the compose action serves them (`on_screen`:
        a bundle is shown, so "redo it" keeps its need: no need of this message's own)."""
        from assistant.compose.need_kinds import only_the_things
        from assistant.dialogue.bundle_wants import read_bundle_wants
        from assistant.understand.shopper_cues import asks_to_redo

        wants = read_bundle_wants(request, text, self.reader, self.composer)
        need = wants.need
        if need is None and not wants.anchors and not wants.taste and not (on_screen and asks_to_redo(text)):
            need = self.reader.text_items.need_in(text)  # the action's words-as-need fallback
        items = wants.item_mentions()
        if not items and need:
            # the things the bundle is planned to hold by name ("bowls and a toy" for a puppy)
            # a request that is only things ("mug teapot cake stand under 30") names the
            # products the bundle is built from; things listed for an occasion or a person
            # are kinds of it (LABELS.md: items are particular products named)
            plan = self.composer.kinds_for(text, need, request.party_size)
            things = list(plan.asked_for)
            if only_the_things(need, things):
                items, need = things, None
        return {"need": need, "items": items}

    def answered(self, request: Request, text: str, titles: Sequence[str]) -> dict[str, Any] | None:
        """What the cart and answer actions take from this message on the bundle `titles`:
        the one item a question or a cart request picks (`target`, its 1-based position; none
        for a cart question, or a cart request of the whole bundle), the two items a
        comparison sets side by side (`items`, their titles). None: not one of those intents,
        or a bundle not sold here."""
        from assistant.dialogue.cart_and_answers import CartAndAnswers
        from assistant.dialogue.session import ConversationState, bundle_to_state
        from assistant.understand.shopper_cues import asks_about_cart

        bundle = self.bundle(titles)
        if bundle is None or request.intent not in ("question", "add_to_cart", "compare"):
            return None
        answers = CartAndAnswers(self.reader)
        ids = [bi.item.item_id for bi in bundle.items]
        if request.intent == "compare":
            state = ConversationState("eval", bundle=bundle_to_state(bundle))
            result = answers.compare(request, state, text)
            pair = result.request.items if result is not None and result.request is not None else ()
            return {"items": [self.reader.catalog.get(i).title for i in pair]}
        if request.intent == "question":
            item = None if asks_about_cart(text) else answers.asked_item(request, bundle, text)
            picked = [item] if item is not None else []
        else:
            picked = self.reader.text_items.cart_picks(text, request, bundle)[0]
        one = picked[0].item_id if len(picked) == 1 else None
        return {"target": ids.index(one) + 1 if one in ids else None}


def served_reading(case: ParseCase, parsed: Request | None, sure_intent: str | None = None,
                   shop: ServingShop | None = None) -> dict[str, Any]:
    """The slots the assistant acts on for this message (see the module doc)."""
    from assistant.dialogue.chain import guarded_reply, served_request
    from assistant.safety.guard import check_input
    from assistant.understand.slots import (
        money_for_the_bundle_on_screen,
        spending_in,
    )

    text = check_input(case.say)
    if guarded_reply(text) is not None:
        return {"intent": "off_topic"}
    # an unparsed turn is served from the words alone (the chain's fallback)
    request = served_request(parsed if parsed is not None else Request(intent="off_topic"), text, sure_intent,
                             bool(case.bundle))
    # the router's "money for the bundle on screen": an amount alone edits the bundle shown
    money_edit = money_for_the_bundle_on_screen(request, text, bool(case.bundle))
    request = dataclasses.replace(request, intent=money_edit) if money_edit else request
    spending = spending_in(request, text)
    out: dict[str, Any] = {"intent": request.intent, "budget": spending.budget, "budget_min": spending.budget_min,
                           "item_cap": spending.item_cap, "sort": "cheapest" if spending.cheapest else None,
                           "size": request.size, "party_size": request.party_size, "need": request.need,
                           "items": list(request.items), "exclude": list(request.exclude)}
    if shop is not None and request.intent == "bundle":
        out.update(shop.bundle_slots(request, text, on_screen=bool(case.bundle)))
    answered = shop.answered(request, text, case.bundle) if shop is not None and case.bundle else None
    if answered is not None:  # a question, a cart request or a comparison, as its action reads it
        out.update(answered)
    else:
        out["target"] = _target_position(case, request, text, shop)
    return {k: v for k, v in out.items() if v not in (None, [], "")}


def _target_position(case: ParseCase, request: Request, text: str, shop: ServingShop | None) -> int | str | None:
    """The served target as a bundle position (the target as read when it names none)."""
    from assistant.compose.targets import names_nothing_on_screen, title_said_in
    from assistant.records import Bundle, BundleItem
    from assistant.understand.slots import unsaid_position
    from retrieval.records import Item

    target = _served_target(request, text)
    # an edit with no target parsed reads the title words the message says ("the owl one")
    untargeted_edit = target is None and request.intent in ("swap", "remove", "lock", "more_like")
    if not ((target or untargeted_edit) and case.bundle):
        return target
    shop_bundle = shop.bundle(case.bundle) if shop is not None else None
    bundle = shop_bundle or Bundle(tuple(BundleItem(Item(f"case-item-{n}", title))
                                         for n, title in enumerate(case.bundle, 1)))
    said = title_said_in(bundle, text) if (target is None or unsaid_position(target, text)
                                           or names_nothing_on_screen(bundle, target)) else None
    target = str(said + 1) if said is not None else target  # as the edits and answers read it
    return None if target is None else _position(bundle, target, shop if shop_bundle else None)


def _position(bundle: Any, target: str, shop: ServingShop | None) -> int | str:
    """The 1-based position `target` names, found as the editor finds it (with the shop: title
    words, then the embedding; else title words only); the target as read when none."""
    from assistant.compose.errors import TargetNotFoundError
    from assistant.compose.targets import resolve_target

    try:
        if shop is not None:
            return int(shop.editor.position(bundle, target)) + 1
        return resolve_target(bundle, target, lambda _text, _positions: None) + 1
    except (TargetNotFoundError, RequestError):
        return target


def _served_target(request: Request, text: str) -> str | None:
    """The one item the action points at, read as the action reads it: an edit's target
    (`edit_target`); a cart request's position, else a mention of the parse the words hold
    (`TextItems.cart_picks`; none: the whole bundle); no target for the intents whose action
    takes none (a bundle, an add, a budget, a comparison's two items, chat)."""
    from assistant.understand.shopper_cues import (
        mentions_in_text,
        positions_in,
        whole_bundle_mention,
    )
    from assistant.understand.slots import edit_target

    if request.intent in ("swap", "remove", "lock", "more_like", "question"):
        return edit_target(request, text)
    if request.intent == "add_to_cart":
        positions = positions_in(text)
        if positions:
            return positions[0]
        named = [m for m in (request.target, *request.items)
                 if m and mentions_in_text(m, text) and not whole_bundle_mention(m, text)]
        return named[0] if named else None
    return None
