"""What each intent does: the LangChain tools (retrieval, CF, composer, cart) and the router.

All wording here is deterministic and built from catalog facts and evidence; prices and
totals are rendered by `money`, never by the language model.

The router (`router.ROUTES`, an ordered table) trusts the shopper's words over the model's
parse where they are unambiguous (`slots`, `text_items`): a cart question, an exclusion-only
message, a comparison, a typed stock code, a bundle position ("the second one") are acted on
whatever intent was parsed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.tools import StructuredTool

from assistant.compose.composer import BundleComposer, Composition
from assistant.compose.context import BundleContext, bundle_diff
from assistant.compose.editor import BundleEditor
from assistant.compose.errors import AlreadyInBundle, BundleError
from assistant.compose.profiles import Profile
from assistant.compose.targets import names_nothing_on_screen, title_said_in
from assistant.dialogue.bundle_wants import read_bundle_wants
from assistant.dialogue.cart_and_answers import (
    CLARIFY_NEED,
    GREETING,
    NEED_BUNDLE,
    OFF_TOPIC,
    PICKS_INTRO,
    TASTE_INTRO,
    THANKS,
    ActionResult,
    CartAndAnswers,
    item_line,
    money,
)
from assistant.dialogue.router import route
from assistant.dialogue.session import ConversationState, bundle_from_state, bundle_to_state
from assistant.dialogue.session_limits import passed_over, session_limits
from assistant.dialogue.shop_reader import ShopReader
from assistant.dialogue.tiers import bundle_tiers, tiers_text
from assistant.records import Bundle, Request
from assistant.safety.guard import redact
from assistant.understand.amounts import item_cap_in, party_size_in
from assistant.understand.shopper_cues import asks_to_redo
from assistant.understand.slots import (
    complete_slots,
    edit_target,
    exclusions_in,
    merge_exclusions,
    positions_in,
    spending_in,
    unsaid_position,
    wants_products,
)
from assistant.understand.words import content_stems, mentions_all, stem_set
from retrieval.catalog import Catalog
from retrieval.records import Query
from retrieval.shop_index import ShopIndex

log = logging.getLogger(__name__)

__all__ = ["CLARIFY_NEED", "GREETING", "NEED_BUNDLE", "OFF_TOPIC", "THANKS", "ActionResult", "Actions",
           "item_line", "money", "passed_over"]

class Actions:
    """The tools and the intent router over one shop index; cart, comparisons and
    questions are answered by the `CartAndAnswers` it holds (`answers`)."""

    def __init__(self, index: ShopIndex, composer: BundleComposer, bundle_size: int = 4) -> None:
        self.index = index
        self.catalog: Catalog = index.catalog
        self.composer = composer
        self.editor = BundleEditor(composer)
        self.bundle_size = bundle_size
        self.shop = ShopReader(index, composer)
        self.text_items = self.shop.text_items
        self.answers: CartAndAnswers = CartAndAnswers(self.shop)
        self.tools = {t.name: t for t in [*self._make_tools(), self.answers.cart_tool]}

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
                           user_id: str | None = None, exclude_ids: list[str] | None = None,
                           profile: dict[str, Any] | None = None, guests: int | None = None,
                           item_cap: float | None = None, cheapest: bool = False,
                           request_text: str | None = None) -> Composition:
            """Compose a bundle (exact budget, no substitutes, category spread); an occasion,
            person or theme the needs book knows is filled kind by kind (quantities for
            `guests`); the session profile (cart, liked, rejected) seeds CF and nudges scores."""
            return self.composer.compose(anchors, need, budget, exclude_ids=exclude_ids or (),
                                         exclude_terms=exclude_terms or (), size=size or self.bundle_size,
                                         user_id=user_id,
                                         profile=Profile.from_dict(profile) if profile is not None else None,
                                         guests=guests, item_cap=item_cap, cheapest=cheapest,
                                         request_text=request_text)

        return [StructuredTool.from_function(f) for f in (search_catalog, complete_basket, compose_bundle)]

    # -- helpers -----------------------------------------------------------------------------
    def bundle_summary(self, state: ConversationState) -> str:
        if not state.bundle:
            return "(none)"
        return "; ".join(f"[{n}] {entry['title']}" for n, entry in enumerate(state.bundle["items"], start=1))

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
        state.constraints.pop("tiers", None)  # tiers shown for an earlier bundle are gone
        for bi in bundle.items:
            profile.observe("viewed", bi.item.item_id)
        state.profile = profile.to_dict()

    def note_cart_add(self, state: ConversationState, item_ids: Sequence[str]) -> None:
        """A cart button (UI, API): see `CartAndAnswers.note_cart_add`."""
        self.answers.note_cart_add(state, item_ids)

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

    # -- the router (an ordered table: `router.ROUTES`) ---------------------------------------
    def run(self, request: Request, state: ConversationState, text: str) -> ActionResult:
        name, result = route(self, request, state, text)
        log.debug("route: %s", name)
        return result

    @staticmethod
    def served_words(need: str | None, text: str) -> Request:
        """The shopper's own words as a bundle request where the model's parse missed it:
        the need and every slot the words state (budget, count, guests, exclusions)."""
        return complete_slots(Request(intent="bundle", need=need, exclude=exclusions_in(redact(text))), text)

    def compose(self, request: Request, state: ConversationState, text: str = "") -> ActionResult:
        wants = read_bundle_wants(request, text, self.shop, self.composer)
        request, anchors, missing = wants.request, list(wants.anchors), list(wants.missing)
        if wants.taste:
            return self._more_for_picks(request, state, text, intro=TASTE_INTRO)
        need = wants.need
        if not anchors and not need and state.bundle and asks_to_redo(text):
            # "could you redo it with none in?": the bundle's own need, with this turn's exclusions
            need = state.constraints.get("need")
            wants = dataclasses.replace(wants, need=need)
        if not anchors and not need:
            # The parse named nothing. Before there is a bundle, the shopper's words are
            # the need when the shop clearly has things for them (as for an off-topic
            # parse); a question the shop has nothing for is answered as off-topic.
            if state.bundle and positions_in(text) and self.text_items.is_question(text):
                return self.answers.question(request, state, text)  # "how much is the first one?"
            need = self.text_items.need_in(text)
            if need is None:
                if not state.bundle and self.text_items.off_topic(text, None, questions_only=True):
                    return ActionResult(kind="refusal", text=OFF_TOPIC)
                if (state.cart or state.bundle) and wants_products(text):
                    return self._more_for_picks(request, state, text)
                return ActionResult(kind="clarify", text=CLARIFY_NEED)
            wants = dataclasses.replace(wants, need=need)
        served = wants.served()
        profile = self.shop.profile(state)
        for anchor in anchors:  # an item the shopper names is one they like: it seeds later bundles
            profile.observe("liked", anchor)
        spending = spending_in(request, text)
        budget = spending.budget if request.budget is not None else state.constraints.get("budget")
        item_cap = spending.item_cap
        excluded, fresh_only = session_limits(self.catalog, request, state, need, anchors, profile)
        composition: Composition = self.tools["compose_bundle"].invoke({
            "anchors": anchors, "need": need, "budget": budget, "exclude_terms": list(excluded),
            "size": request.size, "user_id": state.user_id, "exclude_ids": fresh_only,
            "profile": profile.to_dict(), "guests": request.party_size or party_size_in(text),
            "item_cap": item_cap, "cheapest": spending.cheapest, "request_text": text or None})
        state.constraints = {"budget": budget, "need": need, "exclude": list(excluded)}
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
        by_kinds = all(bi.reasons[:1] and bi.reasons[0].kind == "role" for bi in bundle.items)
        if missing and not by_kinds:  # words a kind-by-kind bundle served were no item to find
            notes.append(f"I couldn't find {', '.join(repr(m) for m in missing)} in this shop.")
        if composition.no_match and need:
            notes.append(f"Nothing here matches \"{need}\" closely, so this is built around what you picked.")
        if composition.lacking:
            notes.append(f"This shop has no {' or '.join(composition.lacking)}, so the bundle goes without.")
        result = self._bundle_result(bundle, need or self._need_from(bundle), " ".join(notes))
        return dataclasses.replace(result, request=served)

    def _more_for_picks(self, request: Request, state: ConversationState, text: str,
                        intro: str = PICKS_INTRO) -> ActionResult:
        """The shopper wants more but names nothing this shop has: items that go with what
        they picked so far (the live profile's CF seeds: cart, liked items, history), said
        plainly, rather than asking again what they already told."""
        profile = self.shop.profile(state)
        bundle = self.shop.bundle(state)
        composition: Composition | None = None
        if profile.seed_items() or state.user_id:
            shown = [bi.item.item_id for bi in bundle.items] if bundle else []
            budget = request.budget if request.budget is not None else state.constraints.get("budget")
            composition = self.composer.compose(
                [], None, budget, exclude_ids=[*shown, *passed_over(profile, ()), *profile.seed_items()],
                exclude_terms=list(merge_exclusions(tuple(state.constraints.get("exclude") or ()),
                                                    request.exclude)),
                size=request.size, user_id=state.user_id,
                profile=profile)
        if composition is None or composition.bundle is None:
            return ActionResult(kind="clarify", text=CLARIFY_NEED)
        self._store(state, composition.bundle, profile)
        return self._bundle_result(composition.bundle, "more that goes with your picks", intro)

    def _need_from(self, bundle: Bundle) -> str:
        anchors = [bi.item.title for bi in bundle.items if bi.role == "anchor"]
        return f"items that go with {anchors[0]}" if anchors else "a bundle"

    def tiers(self, request: Request, state: ConversationState, text: str = "") -> ActionResult:
        """The bundle on screen at three prices (`tiers.py`); kept in the session to take one."""
        if not state.bundle:
            return ActionResult(kind="clarify", text="Tell me what the bundle is for first (for example "
                                "\"a tea party for six\"), then I can show it at three prices.")
        bundle, context = self._current(state)
        budget = state.constraints.get("budget")
        tiers = bundle_tiers(self.editor, bundle, context, self.shop.profile(state), budget)
        state.constraints["tiers"] = {name: bundle_to_state(tier) for name, tier in tiers.items()}
        return ActionResult(kind="answer", text=tiers_text(tiers, budget), tiers=tiers)

    def pick_tier(self, name: str, state: ConversationState) -> ActionResult | None:
        """The tier the shopper takes ("the premium one") becomes the bundle; None when no
        tiers are on screen or that one was not made."""
        stored = (state.constraints.get("tiers") or {}).get(name)
        if stored is None:
            return None
        bundle = bundle_from_state(stored, self.catalog)
        context = BundleContext.from_dict(state.bundle_context or {})
        self._store(state, bundle, self.shop.profile(state), context)
        return self._bundle_result(bundle, state.constraints.get("need") or self._need_from(bundle))

    def edit(self, request: Request, state: ConversationState, text: str = "") -> ActionResult:
        bundle, context = self._current(state)
        profile = self.shop.profile(state)
        if request.exclude:  # "swap the second one, but no candles": later picks honour it too
            context = dataclasses.replace(context, exclude_terms=merge_exclusions(context.exclude_terms,
                                                                                  request.exclude))
        target = edit_target(request, text)
        if target is None or unsaid_position(target, text) or names_nothing_on_screen(bundle, target):
            # the model guessed a number, gave none or named nothing shown: the words may name
            # the item ("the owl one")
            said = title_said_in(bundle, text)
            target = str(said + 1) if said is not None else target
        intent = request.intent
        cap = item_cap_in(text) if intent in ("cheaper", "set_budget") else None
        if cap is not None:  # "nothing above a fiver a piece": later picks keep to it too
            context = dataclasses.replace(context, item_cap=cap)
        if intent == "cheaper":
            new = self.editor.cheaper(bundle, request.budget, context=context, profile=profile)
        elif intent == "set_budget":
            if request.budget is None:
                return ActionResult(kind="clarify", text="What budget should I aim for?")
            new = self.editor.set_budget(bundle, request.budget, context=context, profile=profile)
            state.constraints["budget"] = request.budget
        elif intent == "add":
            try:
                new = self.editor.add(bundle, list(request.items), request.need, context=context, profile=profile)
            except AlreadyInBundle as already:  # "add the cake cases too" when they are there: show them
                return self._bundle_result(bundle, state.constraints.get("need") or self._need_from(bundle),
                                           str(already))
        else:
            if target is None:
                return ActionResult(kind="clarify", text="Which item do you mean? Say its number, e.g. 'swap 2'.")
            op = {"swap": self.editor.swap, "remove": self.editor.remove,
                  "more_like": self.editor.more_like}.get(intent)
            if intent == "swap" and request.items:  # "gloves rather than the trowel": gloves go in its place
                new = self.editor.swap(bundle, target, wanted=request.items, context=context, profile=profile)
            elif op is not None:
                new = op(bundle, target, context=context, profile=profile)
            else:
                new = self.editor.lock(bundle, target, context=context)
        self._store(state, new, profile)
        return self._bundle_result(new, state.constraints.get("need") or self._need_from(new))

    def exclude_terms(self, terms: Sequence[str], state: ConversationState) -> ActionResult:
        """"Actually, no candles": every bundle item the words rule out is replaced by the
        best allowed candidate (or dropped when there is none, or when it is an item the
        shopper named or locked), and later edits keep the words out."""
        bundle, context = self._current(state)
        profile = self.shop.profile(state)
        context = dataclasses.replace(context, exclude_terms=merge_exclusions(context.exclude_terms, terms))
        hits = [p for p, bi in enumerate(bundle.items)
                if any(mentions_all(stem_set(bi.item.title), content_stems(t)) for t in terms)]
        new, removed = bundle, 0
        for pos in reversed(hits):  # from the end, so earlier positions stay where they are
            kept = new.items[pos].role == "anchor" or new.items[pos].locked
            try:
                if kept:
                    raise BundleError("the shopper chose it; a ruled-out choice goes")
                new = self.editor.swap(new, str(pos + 1), context=context, profile=profile)
            except BundleError:
                new = self.editor.remove(new, str(pos + 1), context=context, profile=profile)
                removed += 1
            context = self.composer.context_of(new)
        new = dataclasses.replace(new, diff=bundle_diff(bundle, new.items))
        self._store(state, new, profile, context)
        state.constraints["exclude"] = list(context.exclude_terms)
        served = Request(intent="swap" if hits and not removed else "remove", exclude=tuple(terms))
        intro = "" if hits else "Nothing in this bundle matches that; I'll keep it out of later picks too."
        result = self._bundle_result(new, state.constraints.get("need") or self._need_from(new), intro)
        return dataclasses.replace(result, request=served)
