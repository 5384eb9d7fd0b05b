"""A reason line tells its own item: the words check (`assistant.write.answer_words`) and
the writer's mend, which keeps the model's good lines and words only the faulty ones by
template. The replies below are the kinds the shipped model wrote for a gardener's bundle
(a watering can given the bird feeder's role, a planter called "a potting shed")."""

from __future__ import annotations

import pytest

from assistant.llm.generation import Generation
from assistant.records import Bundle, BundleItem
from assistant.write import writer as writer_mod
from assistant.write.answer_checks import item_label
from assistant.write.answer_words import words_violation
from assistant.write.writer import BundleWriter, check_reasons, claims_of, numbers_of, words_of
from retrieval.records import Evidence, Item


def _role(item_id: str, title: str, price: float, role: str) -> BundleItem:
    return BundleItem(Item(item_id, title, price), (Evidence("role", role),))


def _garden() -> Bundle:
    return Bundle((
        _role("W", "Vintage Zinc Watering Can", 9.95, "gardening: a watering can for the borders"),
        _role("F", "Tuscan Villa Bird Feeder", 8.25, "gardening: a feeder to bring the birds in"),
        _role("P", "Vintage Zinc Planter", 3.29, "gardening: a planter for the patio"),
        BundleItem(Item("K", "Gardeners Kneeling Pad", 3.36), (Evidence("similar_text", "similar to Planter"),)),
    ), need="a gardener")


def _ok(raw: str, bundle: Bundle, need: str = "a gardener") -> bool:
    return check_reasons(raw, numbers_of(bundle), claims_of(bundle), words_of(bundle, need))


GOOD = ("For a gardener, try these:\n[1] water for the borders, in zinc.\n[2] brings the birds in close.\n"
        "[3] a planter for the patio.\n[4] a little comfort on the knees.")


def test_a_line_that_tells_its_own_item_passes():
    assert _ok(GOOD, _garden())
    # plain words are no one's ("a nice little extra"); nor is a need a role names ("gardening")
    assert _ok(GOOD.replace("[4] a little comfort on the knees.", "[4] a nice little extra for gardening."), _garden())


@pytest.mark.parametrize(("line", "fault"), [
    ("[1] a feeder to bring the birds in.", "borrowed"),  # item 2's role on item 1
    ("[1] great with the planter.", "borrowed"),  # names another item, not its own
    ("[3] a potting shed.", "unsaid"),  # a role given, none of it told
    ("[3] a good fit.", "unsaid"),
    ("[3] perfect for your gardener.", "unsaid"),  # the need's words are every line's, not its own
    ("[3] a planter for Rachel's patio.", "invented"),  # a name no fact holds
    ("[3] a planter for the", "unfinished"),
    ("[3] a planter fit for", "unfinished"),  # its role does not end on "for"
])
def test_a_line_with_another_items_words_or_none_of_its_role_fails(line, fault):
    bundle = _garden()
    n = int(line[1])
    raw = "\n".join(line if s.startswith(f"[{n}]") else s for s in GOOD.split("\n"))
    assert not _ok(raw, bundle)
    words = words_of(bundle, "a gardener")[n - 1]
    assert words_violation(line[4:], words) == fault


def test_names_and_endings_the_facts_hold_are_fine():
    bundle = Bundle((
        _role("U", "Union Jack Hot Water Bottle", 4.25, "get well soon: comfort while they rest"),
        _role("T", "Vintage Seaside Jigsaw Puzzles", 3.75, "get well soon: something to play with"),
    ), need="get well soon")
    raw = "Get well soon:\n[1] a Union Jack bottle, comfort while they rest.\n[2] something to play with."
    assert _ok(raw, bundle, "get well soon")  # a title's own capitals; a role ending on "with"


def test_a_line_without_a_role_may_be_general():
    """The kneeling pad has no role from the needs book: "a good fit" is all its fact says."""
    raw = GOOD.replace("[4] a little comfort on the knees.", "[4] a good fit.")
    assert _ok(raw, _garden())


def _scripted(replies):
    calls = []

    def fake(loaded, messages, max_new_tokens=None, stop=None, prefix_allowed_tokens_fn=None, *,
             temperature=None, prefill="", until=None, guide=None):
        calls.append(prefill)
        text, reason = prefill, "eos"
        for ch in replies[min(len(calls) - 1, len(replies) - 1)]:
            text += ch
            if until is not None and until(text):
                reason = "stop"
                break
        return Generation(text, 10, len(text) - len(prefill), 0.01, reason)

    return fake, calls


def test_a_borrowed_line_is_worded_by_the_template_without_a_second_decode(monkeypatch):
    """Whose words a line uses is checked on the finished reply, not while decoding: the
    model writes every line once, a borrowed line gets the template's reason (`mend`) and
    the model's other lines stay. A sampled retry would cost a second decode and rarely
    tells the right role."""
    import assistant.llm.generation as llm

    borrowed = GOOD.replace("[2] brings the birds in close.", "[2] a watering can for the borders.")
    fake, calls = _scripted([borrowed])
    monkeypatch.setattr(llm, "generate", fake)
    bundle = _garden()
    reply = BundleWriter(object(), code_opening=False, other_titles=[bi.item.title for bi in bundle.items]).write(bundle, "a gardener")
    assert len(calls) == 1 and reply.attempts == 1
    assert reply.writer == "model" and reply.mended == 1 and reply.reasons_ok and reply.grounded
    assert reply.raw_reasons_ok is False  # the evals count the model's first reply as it was
    lines = reply.text.split("\n")
    # each role line says the need it serves, as the template's do ("gardening: ...")
    assert lines[0] == "For a gardener, try these:" and lines[1].endswith("— gardening: water for the borders, in zinc.")
    assert lines[2].endswith("— " + writer_mod.template_reason(bundle.items[1], 0, False))
    assert "watering can" not in lines[2] and "bring the birds in" in lines[2]
    assert lines[3].endswith("— gardening: a planter for the patio.") and lines[4].endswith("— a little comfort on the knees.")
    assert all(item_label(bi) in reply.text for bi in bundle.items)


def test_a_wrong_number_is_still_repaired_and_a_borrowed_line_then_mended(monkeypatch):
    """A number the evidence lacks stops decoding and is retried from that line as before;
    the retry's borrowed line is then mended."""
    import assistant.llm.generation as llm

    bundle = Bundle((*_garden().items[:3], BundleItem(Item("K", "Gardeners Kneeling Pad", 3.36), (
        Evidence("co_purchase", "often in the same basket as Vintage Zinc Planter (41 baskets)", {"co_baskets": 41.0}),))),
        need="a gardener")
    wrong = GOOD.replace("[4] a little comfort on the knees.", "[4] in 40 baskets.")
    fake, calls = _scripted([wrong, "[4] a watering can in 41 baskets."])
    monkeypatch.setattr(llm, "generate", fake)
    reply = BundleWriter(object(), code_opening=False).write(bundle, "a gardener")
    assert len(calls) == 2 and calls[1].endswith("[3] a planter for the patio.\n")
    assert reply.writer == "model" and reply.mended == 1 and "40" not in reply.text
    assert reply.text.endswith("— " + writer_mod.template_reason(bundle.items[3], 0, False))


def test_a_reply_the_mend_cannot_save_is_the_templates(monkeypatch):
    """A bad opening (a price) leaves nothing of the model's to keep."""
    import assistant.llm.generation as llm

    fake, _ = _scripted(["Only £3 today!\n" + GOOD.split("\n", 1)[1]])
    monkeypatch.setattr(llm, "generate", fake)
    bundle = _garden()
    reply = BundleWriter(object(), code_opening=False).write(bundle, "a gardener")
    assert reply.writer == "template" and reply.mended == 0
    assert writer_mod.mend("Only £3 today!\n[1] x.", bundle, "a gardener") is None


def test_a_role_line_says_the_need_its_item_serves():
    """The model's line for an item with a role gets the role's need before it when it does
    not say it (a bundle may serve two needs); a line that says it, or an item without a
    role, stays as written; the checks read the model's own words."""
    from assistant.write.item_facts import name_the_needs

    bundle = _garden()
    raw = ("For a gardener:\n[1] water for the borders.\n[2] brings the birds in for a gardening fan.\n"
           "[3] a planter for the patio.\n[4] a little comfort on the knees.")
    assert name_the_needs(raw, bundle).split("\n") == [
        "For a gardener:", "[1] gardening: water for the borders.", "[2] brings the birds in for a gardening fan.",
        "[3] gardening: a planter for the patio.", "[4] a little comfort on the knees."]
    # labelled once: a labelled line already says its need; a slot past the bundle is left alone
    labelled = name_the_needs(raw, bundle)
    assert name_the_needs(labelled, bundle) == labelled
    assert name_the_needs("[9] a planter for the patio.", bundle) == "[9] a planter for the patio."
    assert name_the_needs("[3] a good fit: for the patio.", bundle) == "[3] a good fit: for the patio."
