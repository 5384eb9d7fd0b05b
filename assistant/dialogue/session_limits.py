"""What a new bundle in a running session leaves out: the shopper's standing exclusions and
the items shown before that they passed over."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.compose.profiles import Profile
from assistant.dialogue.session import ConversationState
from assistant.records import Request
from assistant.understand.slots import merge_exclusions
from assistant.understand.words import content_stems
from retrieval.catalog import Catalog

__all__ = ["passed_over", "session_limits"]


def passed_over(profile: Profile, keep: Sequence[str]) -> list[str]:
    """Items shown earlier in the session that the shopper did not put in the cart: a new
    bundle brings fresh ideas instead of repeating them (items named now are kept)."""
    return [i for i in profile.viewed if i not in set(profile.cart) | set(keep)]


def _same_want(need: str | None, previous: str | None) -> bool:
    return " ".join((need or "").lower().split()) == " ".join((previous or "").lower().split())


def session_limits(catalog: Catalog, request: Request, state: ConversationState, need: str | None,
                   anchors: Sequence[str], profile: Profile) -> tuple[tuple[str, ...], list[str]]:
    """(exclusion phrases, item ids to leave out) for a new bundle in this session.

    What the shopper ruled out stays out for the rest of the session, unless they now ask
    for it ("no candles" ... later "some candles, please"). A new want gets fresh ideas
    (`passed_over`); the same want asked again (with a new budget, say) may bring back
    what fitted before."""
    wanted = set(content_stems(" ".join([need or "", *(catalog.get(a).title for a in anchors)])))
    kept = tuple(e for e in state.constraints.get("exclude") or () if not set(content_stems(e)) & wanted)
    excluded = merge_exclusions(kept, request.exclude)
    before = {e.get("item_id") for e in (state.bundle or {}).get("items", []) if e.get("role") == "anchor"}
    same_want = _same_want(need, state.constraints.get("need")) and set(anchors) == before
    return excluded, [] if same_want else passed_over(profile, anchors)
