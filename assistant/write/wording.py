"""The template writer's wording: openings and one friendly reason per kind of evidence.

Each bank is a tuple of format strings, one picked per bundle by a hash of its items
(`assistant.write.template_writer.template_reason`, `template_opening`). The same sentences are the
fine-tuning targets of the model writer (`finetune.data` builds them through the writer).
"""

from __future__ import annotations

# Short on purpose: every token is decoded on a CPU while the shopper waits, so an answer is
# an opening of a few words and one compact, evidence-carrying reason per item.
OPENINGS_NEED = (
    "Ideas for {need}:", "A set for {need}:", "Here's a bundle for {need}:", "For {need}, try these:",
    "These go well for {need}:",
)
OPENINGS_ITEM = (
    "These go well with your pick:", "A set around your choice:", "Here's your bundle:",
    "Good pick! Pair it with these:", "Shoppers pair it with these:",
)
OPENINGS_BUDGET = (" All within budget.", " Under your budget.", "")

REASON_ANCHOR = ("your pick.", "the one you chose.", "your starting point.")
REASON_LOCKED = ("kept, as you asked.", "staying in, as asked.")
# {a} and {b}: the evidence's numbers in the order they appear in the fact.
REASON_RULE = (
    "with your pick in {a} of {b} baskets.",
    "{a} of {b} baskets with your pick had it.",
    "a favourite pairing: {a} of {b} baskets.",
    "bought with your pick in {a} of {b} baskets.",
)
# The same facts in a bundle the shopper picked no item for (the pairing is with another item).
REASON_RULE_NO_PICK = (
    "bought together in {a} of {b} baskets.",
    "a favourite pairing: {a} of {b} baskets.",
)
REASON_COPURCHASE_NO_PICK = (
    "often bought together: {a} baskets.",
    "a common match: {a} baskets.",
)
REASON_COPURCHASE = (
    "in {a} baskets with your pick.",
    "bought alongside it in {a} baskets.",
    "a common match: {a} baskets.",
)
REASON_POPULAR = (
    "a best seller: {a} of {b} baskets.",
    "popular, in {a} of {b} baskets.",
)
REASON_SIMILAR = ("a close match in style.", "same style, fits right in.")
REASON_GENERIC = ("a good fit.", "rounds the set off.")
