"""A multi-turn conversation through the real pipeline (tuned model, composer, SQLite),
with a process "restart" in the middle: a new Assistant on the same session file."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.dialogue.service import Assistant, AssistantConfig
from retrieval.shop_index import ShopIndex, ensure_default_index


@pytest.mark.slow
def test_bundle_cheaper_swap_cart_restart_continue(tmp_path: Path) -> None:
    index = ShopIndex.load(ensure_default_index())
    config = AssistantConfig(sessions=str(tmp_path / "sessions.sqlite3"), writer="template")
    first = Assistant(config, index=index)
    session = first.open_session()

    opened = first.turn(session, "a bundle for a tea party under £20")
    assert opened.kind == "bundle" and opened.bundle is not None
    assert opened.bundle.total <= 20 and opened.request is not None and opened.request.budget == 20
    assert f"£{opened.bundle.total:,.2f}" in opened.text  # the total is rendered by code

    cheaper = first.turn(session, "make it cheaper")
    assert cheaper.kind == "bundle" and cheaper.bundle is not None
    assert cheaper.bundle.total < opened.bundle.total

    swapped = first.turn(session, "swap the second one")
    assert swapped.kind == "bundle" and swapped.bundle is not None
    assert swapped.bundle.items[1].item.item_id != cheaper.bundle.items[1].item.item_id
    assert swapped.bundle.diff.removed == (cheaper.bundle.items[1].item.title,)

    carted = first.turn(session, "add it all to my cart")
    assert carted.kind == "cart"
    assert {line.item_id for line in carted.cart} == set(swapped.bundle.item_ids)

    # A restart: nothing in memory survives, the session file does.
    del first
    second = Assistant(config, index=index)
    assert {line.item_id for line in second.cart(session)} == set(swapped.bundle.item_ids)
    removed = second.turn(session, "remove the first one")
    assert removed.kind == "bundle" and removed.bundle is not None
    assert removed.bundle.item_ids == swapped.bundle.item_ids[1:]
    history = second.state(session).history
    assert [turn["kind"] for turn in history] == ["bundle", "bundle", "bundle", "cart", "bundle"]
    assert second.delete_session(session) and not second.delete_session(session)


@pytest.mark.slow
def test_off_topic_parse_of_a_shop_request_is_served() -> None:
    from assistant.compose.composer import BundleComposer
    from assistant.dialogue.actions import Actions
    from assistant.dialogue.session import ConversationState
    from assistant.records import Request

    index = ShopIndex.load(ensure_default_index())
    actions = Actions(index, BundleComposer(index))
    served = actions.run(Request(intent="off_topic"), ConversationState("s1"), "garden party things, 4 items")
    assert served.kind == "bundle" and served.bundle is not None and len(served.bundle.items) == 4
    assert served.request == Request(intent="bundle", need="garden party things", size=4)
    refused = actions.run(Request(intent="off_topic"), ConversationState("s2"), "what is the capital of Peru?")
    assert refused.kind == "refusal" and refused.bundle is None
