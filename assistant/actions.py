"""What each intent does: the LangChain tools (retrieval, CF, composer, cart) and the router.

All wording here is deterministic and built from catalog facts and evidence; prices and
totals are rendered by `money`, never by the language model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from langchain_core.tools import StructuredTool

from retrieval.catalog import Catalog
from retrieval.records import Item, Query
from retrieval.shop_index import ShopIndex

from .bundle_edits import BundleContext, BundleError
from .bundles import BundleComposer, Composition
from .profiles import Profile, ProfileBuilder
from .records import MAX_MENTION_CHARS, Bundle, CartLine, Request
from .session import ConversationState, bundle_from_state, bundle_to_state
from .slots import budget_in, count_in, need_from_text

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

    def _store(self, state: ConversationState, bundle: Bundle, context: BundleContext,
               profile: Profile) -> None:
        state.bundle = bundle_to_state(bundle)
        state.bundle_context = self.composer.context_of(bundle).to_dict() if bundle else context.to_dict()
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
        if intent == "smalltalk":
            return ActionResult(kind="smalltalk", text=THANKS if "thank" in text.lower() else GREETING)
        if intent == "off_topic":
            # Injection attempts never get here (the guard answers them). A small model
            # sometimes calls a real shopping request off-topic: if the shop clearly has
            # things for the words, treat them as the need instead of turning the shopper away.
            need = need_from_text(text)[:MAX_MENTION_CHARS]
            if not need or not self.composer.need_match(need)[0]:
                return ActionResult(kind="refusal", text=OFF_TOPIC)
            served = Request(intent="bundle", need=need, budget=budget_in(text), size=count_in(text))
            return dataclasses.replace(self._compose(served, state), request=served)
        if intent == "bundle":
            return self._compose(request, state)
        if intent in ("cheaper", "swap", "remove", "add", "lock", "more_like", "set_budget"):
            return self._edit(request, state)
        if intent == "add_to_cart":
            return self._add_to_cart(request, state)
        if intent == "compare":
            return self._compare(request)
        return self._question(request, state)

    def _resolve_items(self, mentions: Sequence[str]) -> tuple[list[str], list[str]]:
        matches = self.composer.resolve(list(mentions)) if mentions else []
        found = [m.item.item_id for m in matches if m.item is not None]
        missing = [m.mention for m in matches if m.item is None]
        return found, missing

    def _compose(self, request: Request, state: ConversationState) -> ActionResult:
        anchors, missing = self._resolve_items(request.items)
        need = request.need
        if not anchors and not need:
            if missing:
                need = " ".join(missing)
            else:
                return ActionResult(kind="clarify", text="What is the bundle for? Name an item you like or an "
                                                         "occasion, and a budget if you have one.")
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
            text = (f"Sorry, this shop has nothing close to \"{need}\"."
                    + (f" The nearest things it has: {names}." if names else ""))
            return ActionResult(kind="no_match", text=text, alternatives=alternatives)
        bundle = composition.bundle
        self._store(state, bundle, composition.context, profile)
        notes = []
        if missing:
            notes.append(f"I couldn't find {', '.join(repr(m) for m in missing)} in this shop.")
        if composition.no_match and need:
            notes.append(f"Nothing here matches \"{need}\" closely, so this is built around what you picked.")
        return self._bundle_result(bundle, need or self._need_from(bundle), " ".join(notes))

    def _need_from(self, bundle: Bundle) -> str:
        anchors = [bi.item.title for bi in bundle.items if bi.role == "anchor"]
        return f"items that go with {anchors[0]}" if anchors else "a bundle"

    def _edit(self, request: Request, state: ConversationState) -> ActionResult:
        bundle, context = self._current(state)
        profile = self._profile(state)
        target = request.target or (request.items[0] if request.items else None)
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
        self._store(state, new, context, profile)
        return self._bundle_result(new, state.constraints.get("need") or self._need_from(new))

    def _add_to_cart(self, request: Request, state: ConversationState) -> ActionResult:
        bundle, _ = self._current(state)
        profile = self._profile(state)
        if request.target:
            picked = [bundle.items[self.composer.position(bundle, request.target)].item]
        else:
            picked = [bi.item for bi in bundle.items]
        self.tools["add_to_cart"].invoke({"item_ids": [it.item_id for it in picked]})
        for item in picked:
            state.add_to_cart(CartLine(item.item_id, item.title, item.price))
            profile.observe("added_to_cart", item.item_id)
        state.profile = profile.to_dict()
        total = sum((line.price or 0.0) * line.quantity for line in state.cart_lines())
        names = ", ".join(item_line(it) for it in picked)
        return ActionResult(kind="cart", text=f"Added to your cart: {names}. Cart total: {money(total)}.")

    def _compare(self, request: Request) -> ActionResult:
        found, missing = self._resolve_items(request.items)
        if len(found) < 2:
            what = f" I couldn't find {', '.join(repr(m) for m in missing)}." if missing else ""
            return ActionResult(kind="clarify", text="Which two items should I compare?" + what)
        a, b = (self.catalog.get(i) for i in found[:2])
        lines = [f"{item_line(a)} — {a.category or 'uncategorised'}",
                 f"{item_line(b)} — {b.category or 'uncategorised'}"]
        if a.price is not None and b.price is not None and a.price != b.price:
            cheaper = a if a.price < b.price else b
            lines.append(f"{cheaper.title} is {money(abs(a.price - b.price))} cheaper.")
        together = self.index.sources.get("rules")
        if together is not None:
            cands = together.recommend(Query(seed_items=(a.item_id,)), k=200)
            pair = next((c for c in cands if c.item_id == b.item_id), None)
            if pair is not None and pair.evidence:
                lines.append(f"Shoppers often buy them together: {pair.evidence[0].text}.")
        return ActionResult(kind="answer", text="\n".join(lines))

    def _question(self, request: Request, state: ConversationState) -> ActionResult:
        mentions = list(request.items) or ([request.target] if request.target else [])
        item: Item | None = None
        if state.bundle and request.target and not request.items:
            bundle, _ = self._current(state)
            try:
                item = bundle.items[self.composer.position(bundle, request.target)].item
            except BundleError:
                item = None
        if item is None and mentions:
            found, _ = self._resolve_items(mentions)
            item = self.catalog.get(found[0]) if found else None
        if item is None:
            return ActionResult(kind="clarify", text="Which item is your question about?")
        baskets = int(self.index.blend.data.baskets[:, self.catalog.index_of[item.item_id]].sum()) \
            if self.index.blend.data is not None else 0
        facts = [f"{item_line(item)}", f"Category: {item.category or 'uncategorised'}."]
        if item.description and item.description.lower() != item.title.lower():
            facts.append(item.description)
        if baskets:
            facts.append(f"It was in {baskets:,} orders in this shop.")
        return ActionResult(kind="answer", text="\n".join(facts))
