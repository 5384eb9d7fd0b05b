"""What the shopper asks about rather than composes: the cart, a comparison, a question.

`CartAndAnswers` answers in code from catalog facts and evidence (prices rendered by
`money`, never by the language model): cart requests and cart contents, two items side by
side, and a question about one item. `actions.Actions` holds one and routes to it.
`ActionResult` is what every action returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from langchain_core.tools import StructuredTool

from assistant.compose.errors import BundleError
from assistant.compose.targets import title_said_in
from assistant.dialogue.session import ConversationState
from assistant.dialogue.shop_reader import ShopReader
from assistant.records import Bundle, CartLine, Request
from assistant.understand.slots import names_whole_bundle, positions_in, unsaid_position
from assistant.understand.words import stem
from retrieval.records import Item, Query

GREETING = ("Hello! I put together bundles of things that go well together from this shop. "
            "Tell me an item you like, an occasion, or a budget.")
THANKS = "You're welcome! Anything else I can put together for you?"
GOODBYE = "Goodbye, and happy shopping! Your bundle stays here if you come back to it."
OFF_TOPIC = ("I'm the shop's bundle assistant, so I can't help with that — but I can suggest items "
             "that go together, for an occasion or a budget. What are you shopping for?")
CLARIFY_NEED = "What is the bundle for? Name an item you like or an occasion, and a budget if you have one."
NEED_BUNDLE = "There's no bundle yet. What should it be for — an item you like or an occasion?"
PICKS_INTRO = "I couldn't find that in this shop, so here is more that goes with what you've picked."
TASTE_INTRO = "Here is what you might want next, from what you've bought and picked before."


def money(value: float | None) -> str:
    return "price on request" if value is None else f"£{value:,.2f}"


def item_line(item: Item) -> str:
    return f"{item.title} ({money(item.price)})"


@dataclasses.dataclass(frozen=True)
class ActionResult:
    kind: str
    text: str = ""
    bundle: Bundle | None = None
    alternatives: tuple[Item, ...] = ()
    need_text: str = ""
    footer: str = ""
    request: Request | None = None  # set when the action served a different request than parsed
    tiers: dict[str, Bundle] = dataclasses.field(default_factory=dict)  # "budget", "standard", "premium"


class CartAndAnswers:
    """Cart, comparison and question actions over one shop; `cart_tool` is the LangChain
    tool that validates item ids for the cart (listed with `Actions.tools`)."""

    def __init__(self, shop: ShopReader) -> None:
        self.shop = shop
        self.index = shop.index
        self.catalog = shop.catalog
        self.text_items = shop.text_items
        self.cart_tool = self._make_cart_tool()

    def _make_cart_tool(self) -> StructuredTool:
        def add_to_cart(item_ids: list[str]) -> list[str]:
            """Validate item ids for the cart (titles and prices come from the catalog)."""
            return [self.catalog.get(i).item_id for i in item_ids]

        return StructuredTool.from_function(add_to_cart)

    def note_cart_add(self, state: ConversationState, item_ids: Sequence[str]) -> None:
        """A cart button (UI, API) is behaviour too: the live profile learns it, so later
        bundles build on what the shopper took and do not offer it again."""
        profile = self.shop.profile(state)
        for item_id in item_ids:
            profile.observe("added_to_cart", item_id)
        state.profile = profile.to_dict()

    def add_to_cart(self, request: Request, state: ConversationState, text: str) -> ActionResult:
        """The items the shopper's words name (stock codes, positions, title words), else the
        whole bundle; a mention that names nothing adds nothing."""
        bundle = self.shop.bundle(state)
        picked, unresolved = self.text_items.cart_picks(text, request, bundle)
        if unresolved and not picked and not names_whole_bundle(text):
            listing = "; ".join(f"{n}. {bi.item.title}" for n, bi in enumerate(bundle.items, 1)) if bundle else ""
            return ActionResult(kind="clarify", text=f"I couldn't find {', '.join(repr(m) for m in unresolved)} "
                                "to add." + (f" The bundle has: {listing}. Which should I add?" if listing else ""))
        if not picked:
            if bundle is None:
                raise BundleError(NEED_BUNDLE)
            picked = [bi.item for bi in bundle.items]
        picked = list({it.item_id: it for it in picked}.values())
        profile = self.shop.profile(state)
        self.cart_tool.invoke({"item_ids": [it.item_id for it in picked]})
        # a bundle line of several units (six cups for six guests) goes in as that many
        quantities = {bi.item.item_id: bi.quantity for bi in bundle.items} if bundle else {}
        for item in picked:
            state.add_to_cart(CartLine(item.item_id, item.title, item.price, quantities.get(item.item_id, 1)))
            profile.observe("added_to_cart", item.item_id)
        state.profile = profile.to_dict()
        total = sum((line.price or 0.0) * line.quantity for line in state.cart_lines())
        names = ", ".join(item_line(it) for it in picked)
        served = Request(intent="add_to_cart", items=tuple(it.item_id for it in picked))
        return ActionResult(kind="cart", text=f"Added to your cart: {names}. Cart total: {money(total)}.",
                            request=served)

    def cart_contents(self, state: ConversationState) -> ActionResult:
        """"What's in my cart?": the lines and the total, rendered by code; nothing changes."""
        lines = state.cart_lines()
        served = Request(intent="question")
        if not lines:
            return ActionResult(kind="cart", text="Your cart is empty.", request=served)
        parts = [(f"{line.quantity} x " if line.quantity > 1 else "") + f"{line.title} ({money(line.price)}"
                 + (" each)" if line.quantity > 1 else ")") for line in lines]
        total = sum((line.price or 0.0) * line.quantity for line in lines)
        return ActionResult(kind="cart", text=f"Your cart: {'; '.join(parts)}. Cart total: {money(total)}.",
                            request=served)

    def compare(self, request: Request, state: ConversationState, text: str,
                 required: bool = True) -> ActionResult | None:
        """Two items side by side: the parse's mentions, stock codes in the text, else both
        sides of the text cut at "and"/"or"/"vs"/",". When two items are not found: a
        question if a comparison was `required` (the parsed intent), else None."""
        found, missing = self._named_items(request.items, self.shop.bundle(state))
        found = list(dict.fromkeys([*found, *self.text_items.ids_in(text)]))
        if len(found) >= 2:
            a, b = (self.catalog.get(i) for i in found[:2])
        else:
            pair = self.text_items.pair(text, self.shop.bundle(state))
            if pair is None:
                if not required:
                    return None
                if not found and self.text_items.off_topic(text, self.shop.bundle(state)):
                    return ActionResult(kind="refusal", text=OFF_TOPIC)
                what = f" I couldn't find {', '.join(repr(m) for m in missing)}." if missing else ""
                return ActionResult(kind="clarify", text="Which two items should I compare?" + what)
            a, b = pair
        lines = [f"{item_line(a)} — {a.category or 'uncategorised'}",
                 f"{item_line(b)} — {b.category or 'uncategorised'}"]
        if a.price is not None and b.price is not None and a.price != b.price:
            cheaper = a if a.price < b.price else b
            lines.append(f"{cheaper.title} is {money(abs(a.price - b.price))} cheaper.")
        together = self.index.sources.get("rules")
        if together is not None:
            cands = together.recommend(Query(seed_items=(a.item_id,)), k=200)
            pair_ = next((c for c in cands if c.item_id == b.item_id), None)
            if pair_ is not None and pair_.evidence:
                lines.append(f"Shoppers often buy them together: {pair_.evidence[0].text}.")
        served = Request(intent="compare", items=(a.item_id, b.item_id))
        return ActionResult(kind="answer", text="\n".join(lines), request=served)

    def _named_items(self, mentions: Sequence[str], bundle: Bundle | None) -> tuple[list[str], list[str]]:
        """(ids the mentions name, mentions that named nothing): a bundle item whose title
        holds every word of the mention first ("the cake stand" is the one on screen), else
        the catalog's item."""
        found: list[str] = []
        missing: list[str] = []
        for mention in mentions:
            pos = self.text_items.in_bundle(bundle, mention) if bundle is not None else None
            if bundle is not None and pos is not None:
                found.append(bundle.items[pos].item.item_id)
                continue
            ids, lost = self.shop.resolve_items([mention])
            found += ids
            missing += lost
        return found, missing

    def asked_item(self, request: Request, bundle: Bundle | None, text: str) -> Item | None:
        """The one item a question is about: a stock code in the text, a bundle position or
        mention, the bundle item whose title words the message says ("is the garland real
        wood?"), else a catalog item the mentions name; None when none is named."""
        mentions = [m for m in (*request.items, request.target)
                    if m and self.text_items.names_something(m) and not unsaid_position(m, text)]
        codes = self.text_items.ids_in(text)
        item: Item | None = self.catalog.get(codes[0]) if codes else None
        if item is None and bundle is not None:
            # "how much is the first one?" / "the lunch bag": the shopper's bundle first
            for mention in [*positions_in(text), *mentions]:
                pos = self.text_items.in_bundle(bundle, mention)
                if pos is not None:
                    item = bundle.items[pos].item
                    break
        # "the doorstop, how heavy is it?"; also when the parse's mention is not a bundle
        # title's words ("cup n saucer"): the bundle's own item before a catalog look-alike
        said = title_said_in(bundle, text) if item is None and bundle is not None else None
        if bundle is not None and said is not None:
            item = bundle.items[said].item
        if item is None and mentions:
            found, _ = self.shop.resolve_items(mentions)
            # "teapot dishwasher" (of "is the teapot dishwasher safe?") names nothing; its
            # head, "teapot", does. A head must end in a kind of thing this shop's titles end
            # in: "spotty" of "spotty dishwasher" would name any spotty item
            kinds = self.shop.composer.substitutes.type_nouns
            heads = [" ".join(words[:n]) for words in (m.split() for m in mentions)
                     for n in range(len(words) - 1, 0, -1) if stem(words[n - 1].lower()) in kinds]
            found = found or (self.shop.resolve_items(heads)[0] if heads else [])
            item = self.catalog.get(found[0]) if found else None
        if item is None:  # a title typed out in full is the item asked about, whatever the parse named
            titled = self.text_items.titles_in(text)
            item = self.catalog.get(titled[0]) if titled else None
        return item

    def question(self, request: Request, state: ConversationState, text: str) -> ActionResult:
        """Facts about one item (`asked_item`)."""
        bundle = self.shop.bundle(state)
        item = self.asked_item(request, bundle, text)
        if item is None:
            if self.text_items.off_topic(text, bundle):
                return ActionResult(kind="refusal", text=OFF_TOPIC)
            return ActionResult(kind="clarify", text="Which item is your question about?")
        baskets = int(self.index.blend.data.baskets[:, self.catalog.index_of[item.item_id]].sum()) \
            if self.index.blend.data is not None else 0
        facts = [f"{item_line(item)}", f"Category: {item.category or 'uncategorised'}."]
        if item.description and item.description.lower() != item.title.lower():
            facts.append(item.description)
        if baskets:
            facts.append(f"It was in {baskets:,} orders in this shop.")
        return ActionResult(kind="answer", text="\n".join(facts))
