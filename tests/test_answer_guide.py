"""The slot-answer token guide and the claim check, on hand-written text (no model)."""

from __future__ import annotations

from assistant.records import Bundle, BundleItem
from assistant.write.answer_checks import check_reasons
from assistant.write.answer_claims import allowed_claims, claim_violation
from assistant.write.answer_guide import SlotAnswerGuide
from assistant.write.writer import TemplateWriter, claims_of, numbers_of, words_of
from retrieval.records import Evidence, Item

NUMBERS = [frozenset(), frozenset({"441", "1036"}), frozenset({"87"})]
CLAIMS = [frozenset({"anchor", "pick"}), frozenset({"pairing", "pick"}), frozenset({"pairing", "pick"})]
DONE = ("Ideas for a picnic:\n[1] your pick.\n[2] a favourite pairing: 441 of 1,036 baskets.\n"
        "[3] in 87 baskets with your pick.")


def _guide() -> SlotAnswerGuide:
    return SlotAnswerGuide(NUMBERS, CLAIMS)


def test_each_line_must_start_with_its_own_slot():
    guide = _guide()
    assert guide.allows("Ideas for a picnic:\n", "[1")
    assert not guide.allows("Ideas for a picnic:\n", "[2")
    assert not guide.allows("Ideas for a picnic:\n", "Lunch")
    assert guide.allows("Ideas for a picnic:\n[", "1]")
    assert not guide.allows("", "[1] your pick")  # the opening comes first
    assert not guide.allows("Ideas [", "1]")  # no slot marker in the opening


def test_numbers_must_be_the_items_own():
    guide = _guide()
    line2 = "Ideas:\n[1] your pick.\n[2] with your pick in "
    assert guide.allows(line2, "44")
    assert guide.allows(line2 + "44", "1")
    assert not guide.allows(line2 + "44", "2")  # 442 starts no number of item 2
    assert not guide.allows(line2 + "441 of 1,036 (87", ")")  # item 3's number
    assert guide.allows(line2 + "441 of 1,", "036")
    assert not guide.allows("Ideas:\n[1] your pick", " 4")  # the anchor has no numbers


def test_a_line_ends_only_when_it_cites_and_claims_correctly():
    guide = _guide()
    line2 = "Ideas:\n[1] your pick.\n[2] goes well with your pick"
    assert not guide.allows(line2, ".\n")  # item 2 has numbers: it must cite one
    assert guide.allows(line2 + " in 441 of 1,036 baskets", ".\n")
    assert not guide.allows(line2 + ", a best", " seller")  # a pairing is not a best seller
    assert not guide.allows("Ideas:\n[1] your pick.\n[2] just £", "3")  # no money
    assert guide.allows("Ideas:\n[1]", " the one you chose.\n")  # the anchor may say so


def test_nothing_follows_the_last_line_and_the_end_needs_every_line():
    guide = _guide()
    assert guide.allows_end(DONE)
    assert guide.allows_end(DONE + "\n")
    assert not guide.allows_end(DONE.rsplit("\n", 1)[0])  # item 3 missing
    assert not guide.allows(DONE + "\n", "Anything else?")
    assert guide.allows(DONE, "\n")


def test_claims_are_checked_by_evidence_kind():
    pairing = allowed_claims(["association_rule"], picked=True)
    assert claim_violation("a best seller: 18 of 90 baskets.", pairing) == "popular"
    assert claim_violation("bought with your pick in 18 of 90 baskets.", pairing) is None
    # a bundle the shopper picked nothing for: a pairing is real, "your pick" is not
    assert claim_violation("bought with your pick in 18 of 90 baskets.",
                           allowed_claims(["association_rule"])) == "pick"
    assert claim_violation("your pick.", pairing) == "anchor"
    assert claim_violation("your pick.", allowed_claims(["anchor"])) is None
    assert claim_violation("a favourite pairing.", allowed_claims(["similar_text"])) == "pairing"
    assert claim_violation("popular, in 3 of 9 baskets.", allowed_claims(["popular"])) is None
    # popularity in other words (the shipped model wrote these on role lines)
    role = allowed_claims(["role"])
    assert claim_violation("a best-liked combination: the centrepiece.", role) == "popular"
    assert claim_violation("a favorite pick: the hamper.", role) == "popular"
    assert claim_violation("the centrepiece for serving cakes.", role) is None
    assert check_reasons(DONE, NUMBERS, CLAIMS)
    wrong = DONE.replace("a favourite pairing", "a best seller")
    assert check_reasons(wrong, NUMBERS) and not check_reasons(wrong, NUMBERS, CLAIMS)


def test_template_answers_pass_the_guide_and_the_claim_check():
    anchor = BundleItem(Item("A", "Lunch Bag Red Retrospot", 1.65), (Evidence("anchor", "you asked for this"),),
                        role="anchor")
    rule = BundleItem(Item("B", "Lunch Bag Apple Design", 1.65), (Evidence(
        "association_rule", "bought together with Lunch Bag Red Retrospot in 441 of 1,036 baskets",
        {"support": 441.0, "seed_baskets": 1036.0}),))
    popular = BundleItem(Item("C", "Party Bunting", 4.95), (Evidence(
        "popular", "in 1,200 of 14,201 baskets (top 1% of the shop)", {"count": 1200.0, "baskets": 14201.0,
                                                                        "top_percent": 1.0}),))
    similar = BundleItem(Item("D", "Tea Party Birthday Card", 0.42), (Evidence(
        "similar_text", "matches 'tea party' (similarity 0.62)", {"similarity": 0.62}),))
    kept = BundleItem(Item("E", "Paper Chain Kit", 2.95), (), locked=True)
    role = BundleItem(Item("F", "Regency Cakestand 3 Tier", 12.75), (Evidence(
        "role", "tea party: the centrepiece for serving cakes"),))
    played = BundleItem(Item("G", "Spaceboy Jigsaw", 3.75), (Evidence("role", "first birthday: something to play with"),))
    for items in ((anchor, rule, popular), (similar, popular, kept), (kept, similar), (similar, rule),
                  (role, similar, played, popular)):
        bundle = Bundle(items, need="a picnic")
        for variant in range(6):
            from assistant.write.writer import slot_text

            raw = slot_text(bundle, "a picnic", variant)
            guide = SlotAnswerGuide(numbers_of(bundle), claims_of(bundle))
            assert guide.allows_end(raw), raw
            assert all(guide.allows(raw[:i], raw[i]) for i in range(len(raw))), raw
            assert check_reasons(raw, numbers_of(bundle), claims_of(bundle)), raw
            # the template's lines tell their own items: the mend relies on it
            assert check_reasons(raw, numbers_of(bundle), claims_of(bundle), words_of(bundle, "a picnic")), raw
        assert TemplateWriter().write(bundle, "a picnic").reasons_ok
        if anchor not in items:
            assert "your pick" not in TemplateWriter().write(bundle, "a picnic").text
