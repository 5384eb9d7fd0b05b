"""What every dialogue action reads: the shop, and a session's profile and bundle in it.

`Actions` (composing and editing bundles) and `CartAndAnswers` (cart, comparisons,
questions) both hold one `ShopReader` instead of borrowing each other's helpers.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.compose.composer import BundleComposer
from assistant.compose.profiles import Profile, ProfileBuilder
from assistant.dialogue.session import ConversationState, bundle_from_state
from assistant.dialogue.text_items import TextItems
from assistant.records import Bundle
from retrieval.catalog import Catalog
from retrieval.shop_index import ShopIndex


class ShopReader:
    """One shop index seen from a conversation: the live profile, the current bundle, and
    the shopper's item mentions resolved to catalog ids. Reads only; nothing is stored."""

    def __init__(self, index: ShopIndex, composer: BundleComposer) -> None:
        self.index = index
        self.catalog: Catalog = index.catalog
        self.composer = composer
        self.profiles = ProfileBuilder(index)
        self.text_items = TextItems(self.catalog, composer)

    def profile(self, state: ConversationState) -> Profile:
        """The session's live profile; a new session starts from the user's history."""
        if state.profile is not None:
            return Profile.from_dict(state.profile)
        return self.profiles.build(state.user_id)

    def bundle(self, state: ConversationState) -> Bundle | None:
        return bundle_from_state(state.bundle, self.catalog) if state.bundle else None

    def resolve_items(self, mentions: Sequence[str]) -> tuple[list[str], list[str]]:
        """(catalog ids found, the mentions that named nothing)."""
        matches = self.composer.resolve(list(mentions)) if mentions else []
        found = [m.item.item_id for m in matches if m.item is not None]
        missing = [m.mention for m in matches if m.item is None]
        return found, missing
