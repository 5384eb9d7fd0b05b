"""A conversation restored from the messages a stateless client sends back.

An OpenAI-style client that keeps no session sends the whole history with every request.
Its earlier turns restore the context a session would have kept, without a model call and
without trusting them: the bundle is read from the last assistant message's item lines
("2. 6 × Regency Teacup (£2.95 each, £17.70) — ...", as cartsmith writes them), each title
matched exactly against the catalog (anything else in the message is ignored, so a client
cannot smuggle in items, prices or instructions), and the shopper's standing constraints
(exclusions, the latest budget) are read from their earlier messages with the same English
rules as any turn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.compose.context import BundleContext
from assistant.dialogue.session import ConversationState, bundle_to_state
from assistant.records import Bundle, BundleItem
from assistant.safety.guard import redact
from assistant.understand.amounts import budget_in
from assistant.understand.exclusions import exclusions_in, merge_exclusions
from retrieval.catalog import Catalog
from retrieval.records import Evidence

# Only so much of a history is read: a client cannot make the server work through megabytes.
MAX_HISTORY_CHARS = 20_000
_ITEM_LINE = re.compile(r"^\s*\d{1,2}\.\s+(?:(?P<qty>\d{1,3})\s*[×x]\s+)?(?P<title>.+?)\s+\([£$€][\d,.]+"
                        r"(?:\s+each,\s+[£$€][\d,.]+)?\)\s+[—-]", re.MULTILINE)
RESTORED = Evidence("restored", "shown earlier in this conversation")
_TITLES: dict[int, dict[str, str]] = {}


def titles_of(catalog: Catalog) -> dict[str, str]:
    """Lower-case title -> item id for a catalog (built once per catalog)."""
    known = _TITLES.get(id(catalog))
    if known is None:
        known = {item.title.lower(): item.item_id for item in catalog.items}
        _TITLES.clear()  # one shop per process: keep only the latest catalog's
        _TITLES[id(catalog)] = known
    return known


def bundle_in_reply(text: str, catalog: Catalog, titles: dict[str, str]) -> Bundle | None:
    """The bundle an earlier cartsmith answer listed, its items matched by exact title
    (`titles`: lower-case title -> item id); None when no line names a catalog item."""
    items: list[BundleItem] = []
    for match in _ITEM_LINE.finditer(text[:MAX_HISTORY_CHARS]):
        item_id = titles.get(match.group("title").strip().lower())
        if item_id is None or any(bi.item.item_id == item_id for bi in items):
            continue
        quantity = int(match.group("qty") or 1)
        items.append(BundleItem(catalog.get(item_id), (RESTORED,), quantity=max(1, min(quantity, 999))))
    return Bundle(tuple(items)) if items else None


def restore_context(state: ConversationState, earlier: Sequence[tuple[str, str]], catalog: Catalog,
                    titles: dict[str, str]) -> bool:
    """Fill a fresh session from earlier (role, text) messages; True when anything was kept."""
    read = 0
    exclude: tuple[str, ...] = ()
    budget: float | None = None
    bundle: Bundle | None = None
    for role, text in earlier:
        text = text[: max(0, MAX_HISTORY_CHARS - read)]
        read += len(text)
        if role == "user":
            exclude = merge_exclusions(exclude, exclusions_in(redact(text)))
            budget = budget_in(text) or budget
            state.history.append({"user": redact(text), "reply": "", "kind": "restored", "request": None})
        elif role == "assistant":
            bundle = bundle_in_reply(text, catalog, titles) or bundle
    if exclude:
        state.constraints["exclude"] = list(exclude)
    if budget is not None:
        state.constraints["budget"] = budget
    if bundle is not None:
        state.bundle = bundle_to_state(bundle)
        state.bundle_context = BundleContext(exclude_terms=exclude).to_dict()
    return bool(exclude or budget is not None or bundle is not None)
