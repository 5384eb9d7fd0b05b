"""When the shopper's words are enough: turns read without the language model.

With the intent reader (`intent_reader.IntentReader`) the model may only name the intents
of the reader's shortlist, and for most turns that is one intent: the model then adds only
the slots. For some intents the words give every slot the model would: "make it cheaper",
"lock the first one", "set the budget to £20", "thanks!" are read whole by the rules
(`chain.served_request`: budgets, positions, exclusions, cues). Measured on the 464
hand-written messages (docs/BENCHMARKS.md, "Turns read from the words"): of the 87 whose
shortlist was one of smalltalk, off_topic, cheaper, lock or set_budget, the words alone
read 81 whole, the same 81 the model's parse did, so those turns skip the model.

Under load the trade changes. A shopper waiting 40 s for a slightly better reading is
worse served than one answered in 3 s from the words, so while the model is busy (`busy`:
at least `busy_rows` generations decoding or waiting in the batch scheduler) the turns whose
one intent is bundle, swap, remove or more_like are read from the words too (of those 280
hand-written turns the words read 198 whole, the model 222). Turns that need the model's
copy of the shopper's phrases (add, compare, question, add_to_cart: the words alone read 25
of their 73, the model 62) and turns with more than one intent on the shortlist always go
to the model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from assistant.records import INTENTS
from retrieval.config import Config, check

__all__ = ["BUSY_WORDS_INTENTS", "WORDS_INTENTS", "WordsFirstConfig"]

# as right from the words as from the model on every hand-written message of these intents
WORDS_INTENTS: tuple[str, ...] = ("smalltalk", "off_topic", "cheaper", "lock", "set_budget")
# read from the words only while the model is busy: most right, some slots lost
BUSY_WORDS_INTENTS: tuple[str, ...] = ("bundle", "swap", "remove", "more_like")


@dataclasses.dataclass(frozen=True)
class WordsFirstConfig(Config):
    """Which turns skip the language model: those whose intent shortlist is one intent.

    intents: read from the words whenever the shortlist is one of them.
    busy_intents: read from the words too while the model is busy.
    busy_rows: generations decoding or waiting at which the model counts as busy (it then
        also leaves bundle answers to the template writer); 0: never busy.
    """

    section = "words_first"

    intents: tuple[str, ...] = WORDS_INTENTS
    busy_intents: tuple[str, ...] = BUSY_WORDS_INTENTS
    busy_rows: int = 4

    def validate(self) -> None:
        for field in ("intents", "busy_intents"):
            unknown = [intent for intent in getattr(self, field) if intent not in INTENTS]
            check(not unknown, f"words_first.{field}",
                  f"{', '.join(map(repr, unknown))} not among the intents {', '.join(INTENTS)}")
        check(0 <= self.busy_rows <= 10_000, "words_first.busy_rows",
              f"must be 0 (never busy) or a count of generations up to 10000, got {self.busy_rows}")

    def reads_from_words(self, only_intent: str | None, busy: Callable[[], bool] | None) -> bool:
        """Whether a turn whose shortlist is `only_intent` alone (None: several, or no
        reader) skips the model now."""
        if only_intent is None:
            return False
        if only_intent in self.intents:
            return True
        return only_intent in self.busy_intents and busy is not None and busy()

