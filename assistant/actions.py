"""What each intent does: the LangChain tools (retrieval, CF, composer, cart) and the router.

All wording here is deterministic and built from catalog facts and evidence; prices and
totals are rendered by `money`, never by the language model.

The router trusts the shopper's words over the model's parse where they are unambiguous
(`slots`, `text_items`): a cart question, an exclusion-only message, a comparison, a typed
stock code, a bundle position ("the second one") are acted on whatever intent was parsed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.tools import StructuredTool

from retrieval.catalog import Catalog
from retrieval.records import Item, Query
from retrieval.shop_index import ShopIndex

from .bundle_edits import (
    BundleContext,
    BundleError,
    bundle_diff,
    content_stems,
    mentions_all,
    stem_set,
)
from .bundles import BundleComposer, Composition
from .guard import redact
from .profiles import Profile, ProfileBuilder
from .records import Bundle, CartLine, Request
from .session import ConversationState, bundle_from_state, bundle_to_state
from .slots import (
    asks_about_cart,
    budget_in,
    comparison_cue,
    count_in,
    exclusion_only,
    exclusions_in,
    mentions_in_text,
    merge_exclusions,
    names_whole_bundle,
    positions_in,
)
from .text_items import TextItems

GREETING = ("Hello! I put together bundles of things that go well together from this shop. "
            "Tell me an item you like, an occasion, or a budget.")
THANKS = "You're welcome! Anything else I can put together for you?"
OFF_TOPIC = ("I'm the shop's bundle assistant, so I can't help with that — but I can suggest items "
             "that go together, for an occasion or a budget. What are you shopping for?")
NEED_BUNDLE = "There's no bundle yet. What should it be for — an item you like or an occasion?"


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


class Actions:
    """The tools and the intent router over one shop index."""

    def __init__(self, index: ShopIndex, composer: BundleComposer, bundle_size: int = 4) -> None:
        self.index = index
        self.catalog: Catalog = index.catalog
        self.composer = composer
        self.bundle_size = bundle_size
        self.profiles = ProfileBuilder(index)
        self.text_items = TextItems(self.catalog, composer)
        self.tools = {t.name: t for t in self._make_tools()}

    # -- LangChain tools ---------------------------------------------------------------------
    def _make_tools(self) -> list[StructuredTool]:
        def search_catalog(query: str, k: int = 5) -> list[dict[str, Any]]:
            """Find catalog items matching a free-text need (Chroma vector search)."""
            return [{"item_id": c.item_id, "score": c.score} for c in
                    self.index.recommend(Query(text=query), k=k, method="chroma")]

        def complete_basket(item_ids: list[str], k: int = 5, user_id: str | None = None) -> list[dict[str, Any]]:
            """Items bought with these (blended CF candidates, with evidence)."""
            return [c.to_dict() for c in self.index.recommend(
                Query(seed_items=tuple(item_ids), user_id=user_id), k=k)]

        def compose_bundle(anchors: list[str], need: str | None = None, budget: float | None = None,
                           exclude_terms: list[str] | None = None, size: int | None = None,
                           user_id: str | None = None) -> Composition:
            """Compose a bundle (exact budget, no substitutes, category spread)."""
            return self.composer.compose(anchors, need, budget, exclude_terms=exclude_terms or (),
                                         size=size or self.bundle_size, user_id=user_id)

        def add_to_cart(item_ids: list[str]) -> list[str]:
            """Validate item ids for the cart (titles and prices come from the catalog)."""
            return [self.catalog.get(i).item_id for i in item_ids]

        return [StructuredTool.from_function(f) for f in
                (search_catalog, complete_basket, compose_bundle, add_to_cart)]

    # -- helpers -----------------------------------------------------------------------------
    def bundle_summary(self, state: ConversationState) -> str:
        if not state.bundle:
            return "(none)"
        return "; ".join(f"[{n}] {entry['title']}" for n, entry in enumerate(state.bundle["items"], start=1))

    def _profile(self, state: ConversationState) -> Profile:
        if state.profile is not None:
            return Profile.from_dict(state.profile)
        return self.profiles.build(state.user_id)

    def _current(self, state: ConversationState) -> tuple[Bundle, BundleContext]:
        if not state.bundle:
            raise BundleError(NEED_BUNDLE)
        bundle = bundle_from_state(state.bundle, self.catalog)
        context = BundleContext.from_dict(state.bundle_context or {})
        return bundle, context

    def _store(self, state: ConversationState, bundle: Bundle, profile: Profile,
               context: BundleContext | None = None) -> None:
        """Persist a bundle with its edit context: the one the composer remembers for it,
        unless the caller assembled the bundle itself and passes the context."""
        state.bundle = bundle_to_state(bundle)
        state.bundle_context = (context or self.composer.context_of(bundle)).to_dict()
        state.profile = profile.to_dict()

    def footer(self, bundle: Bundle) -> str:
        lines = [f"Total: {money(bundle.total)}"
                 + (f" (budget {money(bundle.budget)})" if bundle.budget is not None else "")]
        diff = bundle.diff
        if not diff.empty:
            changes = [f"removed {', '.join(diff.removed)}" if diff.removed else "",
                       f"added {', '.join(diff.added)}" if diff.added else ""]
            was = f"; the total was {money(diff.total_before)}" if diff.total_before is not None else ""
            lines.append("Changed: " + "; ".join(c for c in changes if c) + was)
        return "\n".join(lines)

    def _bundle_result(self, bundle: Bundle, need: str, intro: str = "") -> ActionResult:
        return ActionResult(kind="bundle", text=intro, bundle=bundle, need_text=need, footer=self.footer(bundle))

    # -- the router --------------------------------------------------------------------------
    def run(self, request: Request, state: ConversationState, text: str) -> ActionResult:
        intent = request.intent
        # What the shopper's words say unambiguously comes first, whatever the model parsed.
        if asks_about_cart(text):
            return self._cart_contents(state)
        if state.bundle and exclusion_only(text) and not (intent == "swap" and (request.target or request.items)):
            return self._exclude(exclusions_in(redact(text)), state)  # a parsed swap of a named item stays a swap
        if intent == "compare" or (intent in ("question", "bundle", "off_topic", "smalltalk", "cheaper") and (
                comparison_cue(text) or (intent == "question" and len(request.items) >= 2))):
            compared = self._compare(request, state, text, required=intent == "compare")
            if compared is not None:
                return compared
        if intent in ("smalltalk", "off_topic") and self.text_items.ids_in(text):
            # A typed stock code is shopping: a question about the item, or a bundle around it.
            if self.text_items.is_question(text) or text.rstrip().endswith("?"):
                return self._question(Request(intent="question"), state, text)
            return self._compose(Request(intent="bundle", budget=budget_in(text), size=count_in(text),
                                         exclude=exclusions_in(redact(text))), state, text)
        if intent == "smalltalk":
            return ActionResult(kind="smalltalk", text=THANKS if "thank" in text.lower() else GREETING)
        if intent == "off_topic":
            # Injection attempts never get here (the guard answers them). A small model
            # sometimes calls a real shopping request off-topic: if the shop clearly has
            # things for the words, treat them as the need instead of turning the shopper away.
            need = self.text_items.need_in(text)
            if need is None:
                return ActionResult(kind="refusal", text=OFF_TOPIC)
            served = Request(intent="bundle", need=need, budget=budget_in(text), size=count_in(text),
                             exclude=exclusions_in(redact(text)))
            return dataclasses.replace(self._compose(served, state, text), request=served)
        if intent == "bundle":
            return self._compose(request, state, text)
        if intent in ("cheaper", "swap", "remove", "add", "lock", "more_like", "set_budget"):
            return self._edit(request, state, text)
        if intent == "add_to_cart":
            return self._add_to_cart(request, state, text)
        return self._question(request, state, text)

    def _resolve_items(self, mentions: Sequence[str]) -> tuple[list[str], list[str]]:
        matches = self.composer.resolve(list(mentions)) if mentions else []
        found = [m.item.item_id for m in matches if m.item is not None]
        missing = [m.mention for m in matches if m.item is None]
        return found, missing

    def _bundle(self, state: ConversationState) -> Bundle | None:
        return bundle_from_state(state.bundle, self.catalog) if state.bundle else None

    def _compose(self, request: Request, state: ConversationState, text: str = "") -> ActionResult:
        anchors, missing = self._resolve_items(request.items)
        codes = self.text_items.ids_in(text)
        if codes:  # stock codes typed by the shopper are anchors, and no longer "missing"
            anchors = list(dict.fromkeys([*anchors, *codes]))
            missing = [m for m in missing if not self.text_items.ids_in(m)]
        need = request.need
        if need and not re.search(r"[^\W\d_]{3,}", need):
            need = None  # "2", "#1": a position the model put in the wrong slot, not a need
        if not anchors and not need:
            if missing:
                need = " ".join(missing)
            else:
                # The parse named nothing. Before there is a bundle, the shopper's words are
                # the need when the shop clearly has things for them (as for an off-topic
                # parse); a question the shop has nothing for is answered as off-topic.
                if state.bundle and positions_in(text) and self.text_items.is_question(text):
                    return self._question(request, state, text)  # "how much is the first one?"
                need = self.text_items.need_in(text)
                if need is None:
                    if not state.bundle and self.text_items.off_topic(text, None, questions_only=True):
                        return ActionResult(kind="refusal", text=OFF_TOPIC)
                    return ActionResult(kind="clarify", text="What is the bundle for? Name an item you like "
                                                             "or an occasion, and a budget if you have one.")
        served = dataclasses.replace(request, items=tuple(anchors), need=need) \
            if (codes or need != request.need) else None
        profile = self._profile(state)
        budget = request.budget if request.budget is not None else state.constraints.get("budget")
        composition: Composition = self.tools["compose_bundle"].invoke({
            "anchors": anchors, "need": need, "budget": budget, "exclude_terms": list(request.exclude),
            "size": request.size, "user_id": state.user_id})
        state.constraints = {"budget": budget, "need": need, "exclude": list(request.exclude)}
        if composition.bundle is None:
            if composition.over_budget:
                return ActionResult(kind="clarify", text=f"The items you named already cost more than "
                                                          f"{money(budget)}. Could the budget be higher?")
            alternatives = composition.alternatives
            names = "; ".join(item_line(it) for it in alternatives[:5])
            reply = (f"Sorry, this shop has nothing close to \"{need}\"."
                     + (f" The nearest things it has: {names}." if names else ""))
            return ActionResult(kind="no_match", text=reply, alternatives=alternatives, request=served)
        bundle = composition.bundle
        self._store(state, bundle, profile)
        notes = []
        if missing:
            notes.append(f"I couldn't find {', '.join(repr(m) for m in missing)} in this shop.")
        if composition.no_match and need:
            notes.append(f"Nothing here matches \"{need}\" closely, so this is built around what you picked.")
        result = self._bundle_result(bundle, need or self._need_from(bundle), " ".join(notes))
        return dataclasses.replace(result, request=served)

    def _need_from(self, bundle: Bundle) -> str:
        anchors = [bi.item.title for bi in bundle.items if bi.role == "anchor"]
        return f"items that go with {anchors[0]}" if anchors else "a bundle"

    def _edit(self, request: Request, state: ConversationState, text: str = "") -> ActionResult:
        bundle, context = self._current(state)
        profile = self._profile(state)
        if request.exclude:  # "swap the second one, but no candles": later picks honour it too
            context = dataclasses.replace(context, exclude_terms=merge_exclusions(context.exclude_terms,
                                                                                  request.exclude))
        target = request.target or (request.items[0] if request.items else None)
        positions = positions_in(text)
        if positions and (target is None or not mentions_in_text(target, text)):
            target = positions[0]  # "swap the second one": the shopper's position, not the model's guess
        intent = request.intent
        if intent == "cheaper":
            new = self.composer.cheaper(bundle, request.budget, context=context, profile=profile)
        elif intent == "set_budget":
            if request.budget is None:
                return ActionResult(kind="clarify", text="What budget should I aim for?")
            new = self.composer.set_budget(bundle, request.budget, context=context, profile=profile)
            state.constraints["budget"] = request.budget
        elif intent == "add":
            new = self.composer.add(bundle, list(request.items), request.need, context=context, profile=profile)
        else:
            if target is None:
                return ActionResult(kind="clarify", text="Which item do you mean? Say its number, e.g. 'swap 2'.")
            op = {"swap": self.composer.swap, "remove": self.composer.remove,
                  "more_like": self.composer.more_like}.get(intent)
            if op is not None:
                new = op(bundle, target, context=context, profile=profile)
            else:
                new = self.composer.lock(bundle, target, context=context)
        self._store(state, new, profile)
        return self._bundle_result(new, state.constraints.get("need") or self._need_from(new))

    def _exclude(self, terms: Sequence[str], state: ConversationState) -> ActionResult:
        """"Actually, no candles": every bundle item the words rule out is replaced by the
        best allowed candidate (or dropped when there is none, or when it is an item the
        shopper named or locked), and later edits keep the words out."""
        bundle, context = self._current(state)
        profile = self._profile(state)
        context = dataclasses.replace(context, exclude_terms=merge_exclusions(context.exclude_terms, terms))
        hits = [p for p, bi in enumerate(bundle.items)
                if any(mentions_all(stem_set(bi.item.title), content_stems(t)) for t in terms)]
        new, removed = bundle, 0
        for pos in reversed(hits):  # from the end, so earlier positions stay where they are
            kept = new.items[pos].role == "anchor" or new.items[pos].locked
            try:
                if kept:
                    raise BundleError("the shopper chose it; a ruled-out choice goes")
                new = self.composer.swap(new, str(pos + 1), context=context, profile=profile)
            except BundleError:
                new = self.composer.remove(new, str(pos + 1), context=context, profile=profile)
                removed += 1
            context = self.composer.context_of(new)
        new = dataclasses.replace(new, diff=bundle_diff(bundle, new.items))
        self._store(state, new, profile, context)
        state.constraints["exclude"] = list(context.exclude_terms)
        served = Request(intent="swap" if hits and not removed else "remove", exclude=tuple(terms))
        intro = "" if hits else "Nothing in this bundle matches that; I'll keep it out of later picks too."
        result = self._bundle_result(new, state.constraints.get("need") or self._need_from(new), intro)
        return dataclasses.replace(result, request=served)

    def note_cart_add(self, state: ConversationState, item_ids: Sequence[str]) -> None:
        """A cart button (UI, API) is behaviour too: the live profile learns it, so later
        bundles build on what the shopper took and do not offer it again."""
        profile = self._profile(state)
        for item_id in item_ids:
            profile.observe("added_to_cart", item_id)
        state.profile = profile.to_dict()

    def _add_to_cart(self, request: Request, state: ConversationState, text: str) -> ActionResult:
        """The items the shopper's words name (stock codes, positions, title words), else the
        whole bundle; a mention that names nothing adds nothing."""
        bundle = self._bundle(state)
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
        profile = self._profile(state)
        self.tools["add_to_cart"].invoke({"item_ids": [it.item_id for it in picked]})
        for item in picked:
            state.add_to_cart(CartLine(item.item_id, item.title, item.price))
            profile.observe("added_to_cart", item.item_id)
        state.profile = profile.to_dict()
        total = sum((line.price or 0.0) * line.quantity for line in state.cart_lines())
        names = ", ".join(item_line(it) for it in picked)
        served = Request(intent="add_to_cart", items=tuple(it.item_id for it in picked))
        return ActionResult(kind="cart", text=f"Added to your cart: {names}. Cart total: {money(total)}.",
                            request=served)

    def _cart_contents(self, state: ConversationState) -> ActionResult:
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

    def _compare(self, request: Request, state: ConversationState, text: str,
                 required: bool = True) -> ActionResult | None:
        """Two items side by side: the parse's mentions, stock codes in the text, else both
        sides of the text cut at "and"/"or"/"vs"/",". When two items are not found: a
        question if a comparison was `required` (the parsed intent), else None."""
        found, missing = self._resolve_items(request.items)
        found = list(dict.fromkeys([*found, *self.text_items.ids_in(text)]))
        if len(found) >= 2:
            a, b = (self.catalog.get(i) for i in found[:2])
        else:
            pair = self.text_items.pair(text, self._bundle(state))
            if pair is None:
                if not required:
                    return None
                if not found and self.text_items.off_topic(text, self._bundle(state)):
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

    def _question(self, request: Request, state: ConversationState, text: str) -> ActionResult:
        bundle = self._bundle(state)
        mentions = [m for m in (*request.items, request.target) if m and self.text_items.names_something(m)]
        codes = self.text_items.ids_in(text)
        item: Item | None = self.catalog.get(codes[0]) if codes else None
        if item is None and bundle is not None:
            # "how much is the first one?" / "the lunch bag": the shopper's bundle first
            for mention in [*positions_in(text), *mentions]:
                pos = self.text_items.in_bundle(bundle, mention)
                if pos is not None:
                    item = bundle.items[pos].item
                    break
        if item is None and mentions:
            found, _ = self._resolve_items(mentions)
            item = self.catalog.get(found[0]) if found else None
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
