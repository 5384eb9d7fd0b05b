"""Every named rule of `assistant.understand.rules` on its own examples, as written and in
the variants shoppers produce: phone typography, capitals, words around it (one misspelt)."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.safety.guard import check_input
from assistant.understand.rules import RULES, Rule


def variants(text: str) -> dict[str, str]:
    return {
        "as written": text,
        "phone typography": text.replace("'", "’").replace(" - ", " – "),
        "capitals": text.upper(),
        "words around it": f"hiya! {text}, thankyou sooo much",
        "misspelt words around it": f"helo there, {text}. plese and thnaks",
    }


def _same(rule: Rule, got: Any, want: Any) -> bool:
    if isinstance(want, tuple) and want and isinstance(want[0], str):
        return tuple(g.lower() for g in got) == tuple(w.lower() for w in want)
    return bool(got == want)


CASES = [(rule, text, want) for rule in RULES for text, want in rule.reads]
LEFT = [(rule, text) for rule in RULES for text in rule.leaves]


def test_every_rule_has_examples_both_ways() -> None:
    assert len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        assert len(rule.reads) >= 3 and len(rule.leaves) >= 3, rule.name


@pytest.mark.parametrize(("rule", "text", "want"), CASES, ids=[f"{r.name}: {t}" for r, t, _ in CASES])
def test_a_rule_reads_its_examples_in_every_variant(rule: Rule, text: str, want: Any) -> None:
    for name, variant in variants(text).items():
        got = rule.read(check_input(variant))
        assert _same(rule, got, want), f"{name}: {variant!r} -> {got!r}"


@pytest.mark.parametrize(("rule", "text"), LEFT, ids=[f"{r.name}: {t}" for r, t in LEFT])
def test_a_rule_leaves_other_messages_alone(rule: Rule, text: str) -> None:
    for name, variant in variants(text).items():
        got = rule.read(check_input(variant))
        assert _same(rule, got, rule.nothing), f"{name}: {variant!r} -> {got!r}"
