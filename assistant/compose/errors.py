"""Why a bundle cannot be composed or edited: the errors the composer and its editor raise,
each message written for the shopper (what went wrong and what to try)."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.records import Bundle
from retrieval.errors import CartsmithError
from retrieval.records import Item


def price_text(value: float | None) -> str:
    """A price as the messages write it: "£4.95", or "no price"."""
    return "no price" if value is None else f"£{value:.2f}"


class BundleError(CartsmithError):
    """An edit or composition cannot be done; the message says why and what to try."""


class TargetNotFoundError(BundleError):
    """A target ("the candles", "3") names nothing in the bundle."""

    def __init__(self, target: str, bundle: Bundle) -> None:
        self.target = target
        self.titles = [bi.item.title for bi in bundle.items]
        listing = "; ".join(f"{n}. {t}" for n, t in enumerate(self.titles, 1)) or "nothing yet"
        super().__init__(f"I couldn't find \u201c{target}\u201d in this bundle. It has: {listing}.")


class AlreadyInBundle(BundleError):
    """What the shopper asked to add is in the bundle already (`titles`): the bundle is shown
    again with a word on it, not refused."""

    def __init__(self, titles: Sequence[str]) -> None:
        self.titles = tuple(titles)
        named = " and ".join(self.titles) or "that"
        super().__init__(f"{named} {'is' if len(self.titles) <= 1 else 'are'} already in your bundle.")


class NoMatchError(BundleError):
    """The shop has nothing close to a need or mention; `alternatives` are the nearest items."""

    def __init__(self, message: str, alternatives: Sequence[Item] = (),
                 best_similarity: float | None = None) -> None:
        self.alternatives = tuple(alternatives)
        self.best_similarity = best_similarity
        super().__init__(message)
