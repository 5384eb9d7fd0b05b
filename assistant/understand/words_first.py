"""When the shopper's words are enough: turns read without the language model.

With the intent reader (`intent_reader.IntentReader`) the model may only name the intents
of the reader's shortlist, and for most turns that is one intent: the model then adds only
the slots. For some intents the words give every slot the model would: "make it cheaper",
"lock the first one", "set the budget to £20", "thanks!" are read whole by the rules
(`chain.served_request`: budgets, positions, exclusions, cues). Measured on the 464
hand-written messages (`bench/bench_words_first.py`, bench/results/bench_words_first.json):
of the 87 whose shortlist was one of smalltalk, off_topic, cheaper, lock or set_budget, the
words alone read 81 whole, the same 81 the model's parse did, so those turns skip the model.

Under load the trade changes. A shopper waiting 40 s for a slightly better reading is
worse served than one answered in 3 s from the words, so while the model is busy (`busy`:
at least `busy_rows` generations decoding or waiting in the batch scheduler) the turns whose
one intent is bundle, swap, remove or more_like are read from the words too (of those 280
hand-written turns the words read 189 whole, the model 211), and so are the questions,
comparisons and cart requests about the bundle on screen, whose actions find their items
in the words themselves (a position, the title words said, the two sides of "the owl bag
or the lunch bag": of those 51, as the actions serve them, the words read 43 whole, the
model 45). While busy, a shortlist of several of those intents is read with its likeliest
one, or as a question when it is phrased as one ("what is the second one?": swap or
question); of the 24 hand-written turns with several intents on the shortlist the words
read 13 whole, the model 19 (`busy_shortlists`). Turns that add things by the model's copy
of the shopper's phrases (add: the words read 4 of 22, the model 18) always go to the
model, and so does every turn while the model is not busy, unless its shortlist is one of
the always-intents.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from assistant.records import INTENTS
from retrieval.config import Config, check

__all__ = ["BUSY_WORDS_INTENTS", "WORDS_INTENTS", "WordsFirstConfig"]

# as right from the words as from the model on every hand-written message of these intents
WORDS_INTENTS: tuple[str, ...] = ("smalltalk", "off_topic", "cheaper", "lock", "set_budget", "question")
# read from the words only while the model is busy: most right, some slots lost
BUSY_WORDS_INTENTS: tuple[str, ...] = ("bundle", "swap", "remove", "more_like", "compare", "add_to_cart")


@dataclasses.dataclass(frozen=True)
class WordsFirstConfig(Config):
    """Which turns skip the language model, by their intent shortlist.

    intents: read from the words whenever the shortlist is one of them.
    busy_intents: read from the words too while the model is busy.
    busy_rows: generations decoding or waiting at which the model counts as busy (it then
        also leaves bundle answers to the template writer); 0: never busy.
    busy_shortlists: while busy, a shortlist of several intents, each of them read from the
        words, is read with its most likely intent (False: such turns always go to the model).
    """

    section = "words_first"

    intents: tuple[str, ...] = WORDS_INTENTS
    busy_intents: tuple[str, ...] = BUSY_WORDS_INTENTS
    busy_rows: int = 4
    busy_shortlists: bool = True

    def validate(self) -> None:
        for field in ("intents", "busy_intents"):
            unknown = [intent for intent in getattr(self, field) if intent not in INTENTS]
            check(not unknown, f"words_first.{field}",
                  f"{', '.join(map(repr, unknown))} not among the intents {', '.join(INTENTS)}")
        check(0 <= self.busy_rows <= 10_000, "words_first.busy_rows",
              f"must be 0 (never busy) or a count of generations up to 10000, got {self.busy_rows}")

    def intent_from_words(self, shortlist: tuple[str, ...], busy: Callable[[], bool] | None,
                          question_form: bool = False) -> str | None:
        """The intent a turn with this intent shortlist (most likely first) is read with from
        the words now, or None: it goes to the model. A shortlist of several is read with its
        likeliest intent, or "question" when it is on it and the message is `question_form`
        ("what is the second one?": swap or question)."""
        if len(shortlist) == 1 and shortlist[0] in self.intents:
            return shortlist[0]
        if not shortlist or busy is None or any(i not in (*self.intents, *self.busy_intents) for i in shortlist):
            return None
        if len(shortlist) > 1 and not self.busy_shortlists:
            return None
        if not busy():
            return None
        return "question" if len(shortlist) > 1 and question_form and "question" in shortlist else shortlist[0]
