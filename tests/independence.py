"""What keeps a test set independent of the training data: the normalised form of a
message, the phrasing-bank templates of `finetune/` as patterns, the rebuilt training
messages, the dialogue scripts' turns, the needs book's examples, and a near-duplicate
measure (character trigrams), shared by the tests of every hand-written set."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w£']+", " ", text.lower().replace("’", "'")).split())


# What each placeholder of the phrasing banks stands for (after `normalise`): numbers for
# amounts and counts, a short money phrase for {budget}/{money}/{range}/{cap}, any words for mentions.
PLACEHOLDERS = {"n": r"\d+(?: \d+)?", "a": r"\d+(?: \d+)?", "b": r"\d+(?: \d+)?", "num": r"\w+", "size": r"\w+",
                "party": r"\w+", "pos": r"\w+(?: \w+)?", "budget": r"\S+(?: \S+){0,3}",
                "money": r"\S+(?: \S+){0,3}", "low": r"\d+", "high": r"\d+", "w": r"\w+(?: \w+)?",
                # a cap or a range always has its amounts; a ruled-out thing is a word or two
                "cap": r"(?:\S+ ){0,4}\S*\d\S*(?: \S+){0,3}", "range": r"(?:\S+ ){0,3}\S*\d\S*(?: \S+){0,5}", "excl": r"\w+(?: \w+){0,2}",
                "item": r"\S+(?: \S+){0,6}", "item2": r"\S+(?: \S+){0,6}"}


def template_pattern(template: str) -> re.Pattern[str] | None:
    """A phrasing bank string as a pattern over normalised text: each {placeholder} stands
    for what the data builder puts there ({item}, {need}, ...: any words), bounded by word
    edges ("no {excl}" never matches "note ..."). None for a bare fragment (", {budget}"):
    a template with no words of its own is no message anyone could copy."""
    parts = re.split(r"\{(\w+)\}", template)
    literal = [normalise(p) for p in parts[::2]]
    if not any(literal):
        return None
    out = ""
    for n, part in enumerate(parts):
        if n % 2:
            before, after = literal[(n - 1) // 2], literal[(n + 1) // 2]
            edge_before = r"\b" if before and before[-1].isalnum() else ""
            edge_after = r"\b" if after and after[0].isalnum() else ""
            out += edge_before + r"\s*(?:" + PLACEHOLDERS.get(part, r".+?") + r")\s*" + edge_after
        elif literal[n // 2]:
            out += re.escape(literal[n // 2])
    return re.compile(out)


# Banks of fragments the generator appends to or puts inside a message (", budget {budget}",
# "between £{low} and £{high}", "my nan"): no message is one of them alone.
_FRAGMENT_BANKS = re.compile(r"_(?:SUFFIX|AFTER|PHRASES|FORMATS|DIGITS|WORDS|SLANG|FIXED)$|^(?:BACKSTORY|SIGN_OFFS|"
                             r"PII_OPENERS|OCCASIONS|PEOPLE|POSSESSIVE_EVENTS|GIFT_EVENTS|INTERESTS|"
                             r"OCCASION_PHRASES|THEMES|PARTNERS|EXCLUSIONS|COLOURS|ORDINAL_WORDS)$")


def bank_strings() -> list[str]:
    """Every whole-message template of the training generator's phrasing banks."""
    import finetune.intent_phrasings as intent_banks
    import finetune.phrasings as banks
    import finetune.phrasings_more as more_banks

    out: list[str] = []
    for module in (banks, more_banks, intent_banks):
        for name, value in vars(module).items():
            if name.isupper() and not _FRAGMENT_BANKS.search(name) and isinstance(value, tuple | list):
                out += [s for s in value if isinstance(s, str)]
    return out


@functools.cache
def bank_patterns() -> tuple[re.Pattern[str], ...]:
    patterns = (template_pattern(s) for s in bank_strings())
    return tuple(p for p in patterns if p is not None)


def fills_a_template(text: str) -> bool:
    said = normalise(text)
    return any(p.fullmatch(said) for p in bank_patterns())


@functools.cache
def training_messages() -> frozenset[str]:
    """Every shopper message of the shipped adapter's data and of the intent reader's data
    (train and held out), rebuilt from the shipped config and normalised."""
    from finetune.data import build_dataset, load_training_shop
    from finetune.intent_data import intent_rows
    from finetune.run import load_configs, load_intent_reader_config

    config_path = REPO / "finetune" / "configs" / "default.toml"
    data_config, _, _ = load_configs(config_path)
    reader_config = load_intent_reader_config(config_path)
    shop = load_training_shop(data_config.cutoff)
    dataset = build_dataset(data_config, shop)
    adapter = {normalise(m["content"].rsplit("Shopper: ", 1)[-1]) for ex in dataset.train + dataset.heldout
               if ex["meta"]["kind"] == "parse" for m in ex["messages"][:1]}
    train, held = intent_rows(dataset, shop, reader_config.n_own, reader_config.seed)
    return frozenset(adapter | {normalise(row.message) for row in train + held})


def dialogue_turns() -> set[str]:
    said = set()
    for path in (REPO / "evals" / "dialogues").glob("*.yaml"):
        for turn in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("turns") or []:
            if isinstance(turn, dict) and isinstance(turn.get("say"), str):
                said.add(normalise(turn["say"]))
    return said


def needs_examples() -> set[str]:
    def examples(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [e for e in node.get("examples") or [] if isinstance(e, str)]
            return found + [e for v in node.values() for e in examples(v)]
        return [e for v in node for e in examples(v)] if isinstance(node, list) else []

    return {normalise(e) for path in sorted((REPO / "data" / "needs").glob("*.yaml"))
            for e in examples(yaml.safe_load(path.read_text(encoding="utf-8")))}


def trigrams(text: str) -> frozenset[str]:
    said = f" {normalise(text)} "
    return frozenset(said[i:i + 3] for i in range(len(said) - 2))


def near_duplicates(texts: dict[str, str], corpus: frozenset[str], threshold: float = 0.7,
                    min_chars: int = 12) -> list[tuple[str, str]]:
    """(id, corpus message) pairs whose character trigrams overlap by `threshold` (Jaccard);
    messages shorter than `min_chars` are compared whole only (a "thanks!" is everyone's)."""
    grams = {c: trigrams(c) for c in corpus if len(c) >= min_chars}
    by_gram: dict[str, list[str]] = {}
    for c, g in grams.items():
        for t in g:
            by_gram.setdefault(t, []).append(c)
    out = []
    for key, text in texts.items():
        said = normalise(text)
        if said in corpus:
            out.append((key, said))
            continue
        if len(said) < min_chars:
            continue
        mine = trigrams(text)
        counts: dict[str, int] = {}
        for t in mine:
            for c in by_gram.get(t, ()):
                counts[c] = counts.get(c, 0) + 1
        for c, shared in counts.items():
            if shared / (len(mine) + len(grams[c]) - shared) >= threshold:
                out.append((key, c))
                break
    return out
