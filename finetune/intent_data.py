"""The intent reader's training data: (message, a bundle is on screen, intent) rows.

Two sources, both from the training period's invoices only: the parse examples of the LoRA
adapter's data (`data.build_dataset`, the same messages the model learns to parse) and the
reader's own examples from `intent_phrasings` (everyday, indirect and chatty phrasings of
each intent about a real basket's items), with the same keyboard slips and casing. Never a
test message: `tests/test_parse_set.py` checks the hand-written set against these rows too.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Sequence

from . import intent_phrasings as banks
from .data import Dataset
from .parse_examples import casing, mention, money
from .shopper_requests import position_phrase, typo
from .training_shop import Shop

# intent -> (bank, share of the reader's own examples, a bundle is on screen)
_BANKS: dict[str, tuple[tuple[str, ...], float, bool | None]] = {
    "smalltalk": (banks.SMALLTALK_CHAT, 0.14, None),
    "off_topic": (banks.OFF_TOPIC_MORE, 0.12, None),
    "add": (banks.ADD_INDIRECT, 0.10, True),
    "lock": (banks.LOCK_INDIRECT, 0.08, True),
    "swap": (banks.SWAP_INDIRECT, 0.10, True),
    "remove": (banks.REMOVE_INDIRECT, 0.08, True),
    "cheaper": (banks.CHEAPER_INDIRECT, 0.08, True),
    "set_budget": (banks.SET_BUDGET_INDIRECT, 0.08, True),
    "add_to_cart": (banks.CART_INDIRECT, 0.07, True),
    "question": (banks.QUESTION_INDIRECT, 0.06, None),  # "how much is the X?" opens a chat too
    "more_like": (banks.MORE_LIKE_INDIRECT, 0.05, True),
    "compare": (banks.COMPARE_INDIRECT, 0.04, None),
}


@dataclasses.dataclass(frozen=True)
class IntentRow:
    message: str
    has_bundle: bool
    intent: str


def parse_rows(examples: Sequence[dict]) -> list[IntentRow]:
    """The parse examples of the adapter's data as rows."""
    return [IntentRow(ex["meta"]["message"], ex["meta"]["summary"] != "(none)", ex["meta"]["request"]["intent"])
            for ex in examples if ex["meta"]["kind"] == "parse"]


def _styled(text: str, rng: random.Random) -> str:
    text = rng.choice(banks.INTENT_OPENER_WORDS) + text
    tail = rng.choice(banks.INTENT_TAIL_WORDS)
    text = text.rstrip("?!.") + tail if tail in ("?", "!", "!!") else text + tail
    text = casing(text, rng, capitalised=0.1, shouted=0.04)
    if rng.random() < 0.15:
        text = typo(text, rng)
    if rng.random() < 0.1:  # phone keyboards: curly apostrophes, dropped apostrophes
        text = text.replace("'", "’") if rng.random() < 0.5 else text.replace("'", "")
    return re.sub(r"\s+", " ", text).strip()


def own_row(shop: Shop, basket: list[str], rng: random.Random) -> IntentRow:
    """One of the reader's own examples about one invoice's items."""
    titles = [shop.catalog.get(i).title for i in basket]
    current = rng.sample(titles, k=min(len(titles), rng.randint(3, 5)))
    names = list(_BANKS)
    intent = rng.choices(names, weights=[_BANKS[n][1] for n in names])[0]
    bank, _, on_screen = _BANKS[intent]
    pos = rng.randint(1, len(current))
    item = mention(current[pos - 1], rng)
    article = rng.choice(("the ", "the ", "that ", ""))
    other_title = rng.choice([t for t in titles if t not in current] or titles)
    other = rng.choice(("", "some ", "a ", "the ")) + mention(other_title, rng)
    amount = rng.choice((5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 100))
    text = rng.choice(bank).format(item=article + item, pos=position_phrase(pos, len(current), rng),
                                   other=other.strip(), money=money(float(amount), rng), who=rng.choice(banks.WHO_WORDS))
    has_bundle = on_screen if on_screen is not None else rng.random() < 0.5
    return IntentRow(_styled(text, rng), has_bundle, intent)


def own_rows(shop: Shop, invoices: Sequence[str], n: int, seed: int) -> list[IntentRow]:
    rng = random.Random(seed)
    order = sorted(invoices)
    rng.shuffle(order)
    out: list[IntentRow] = []
    while len(out) < n:
        inv = order[len(out) % len(order)]
        out.append(own_row(shop, shop.baskets[inv], rng))
    return out


def intent_rows(dataset: Dataset, shop: Shop, n_own: int, seed: int) -> tuple[list[IntentRow], list[IntentRow]]:
    """(train, held out): the adapter's parse examples and the reader's own examples, each
    split by the adapter data's own invoice split."""
    train = parse_rows(dataset.train) + own_rows(shop, sorted(dataset.train_invoices), n_own, seed)
    n_held = max(50, n_own // 10)
    held = parse_rows(dataset.heldout) + own_rows(shop, sorted(dataset.heldout_invoices), n_held, seed + 1)
    return train, held
