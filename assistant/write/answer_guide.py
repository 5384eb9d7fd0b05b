"""Guided decoding for slot answers: the checks of `answer_checks`, applied to every token.

`SlotAnswerGuide(numbers, claims)` tells the decoder (`assistant.llm.decoding`, through
`generate(..., guide=...)`) whether a token may come next. It keeps the answer on the
shape the writer's checks demand, so a reply is faithful by construction rather than
rejected after the fact:

* the opening line holds no slot marker and no money;
* line k starts with "[k]", and its reason holds no other slot marker and no money;
* every number in line k is one of item k's own evidence numbers (a number still being
  written must be the start of one), an item with no numbers gets none, and no number is
  written in other signs ("₂", "¼");
* a line may end only once it cites a number of its own (when it has any) and claims
  nothing its evidence does not support (`answer_claims`);
* after the last item's line only the end of the reply may follow.

The model still chooses the words: the guide only removes the tokens that would make the
line fail, and the decoder takes the likeliest token that remains.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.write.answer_checks import MONEY, NUMBER, line_ok, odd_number_sign
from assistant.write.answer_claims import claim_violation

_CURRENCY = frozenset("£$€")


class SlotAnswerGuide:
    """The token guide for an answer of one opening line and one "[n] reason" line per item.

    numbers: per item, the numbers its reason may cite (`writer.numbers_of`).
    claims: per item, the claim classes its evidence supports (`writer.claims_of`); None
        leaves claims unchecked.
    """

    def __init__(self, numbers: Sequence[frozenset[str]], claims: Sequence[frozenset[str]] | None = None) -> None:
        self.numbers = list(numbers)
        self.claims = list(claims) if claims is not None else None
        if self.claims is not None and len(self.claims) != len(self.numbers):
            raise ValueError("SlotAnswerGuide: numbers and claims must have one entry per item")
        self.n_items = len(self.numbers)
        self._finished: dict[str, int | None] = {}

    # -- the decoder's two questions ---------------------------------------------------------
    def allows(self, text: str, piece: str) -> bool:
        """May `piece` follow the reply text so far?"""
        return self._valid(text + piece, final=False)

    def allows_end(self, text: str) -> bool:
        """May the reply end here?"""
        return self._valid(text, final=True)

    # -- rules -------------------------------------------------------------------------------
    def _lines_done(self, finished: str) -> int | None:
        """How many good lines the finished part holds, or None when one of them fails."""
        if finished not in self._finished:
            count: int | None = 0
            for line in finished.split("\n"):
                if not line.strip():
                    continue
                assert count is not None
                if count > self.n_items or not line_ok(line, count, self.numbers, self.claims):
                    count = None
                    break
                count += 1
            if len(self._finished) > 512:
                self._finished.clear()
            self._finished[finished] = count
        return self._finished[finished]

    def _valid(self, text: str, *, final: bool) -> bool:
        if final:
            done = self._lines_done(text)
            return done == self.n_items + 1
        cut = text.rfind("\n")
        finished, current = (text[:cut], text[cut + 1:]) if cut >= 0 else ("", text)
        done = self._lines_done(finished)
        if done is None:
            return False
        if not current.strip():
            return True
        if done > self.n_items:  # text after the last item's line
            return False
        return self._prefix_ok(current, done)

    def _prefix_ok(self, line: str, index: int) -> bool:
        """Can this unfinished line still become a good line number `index` (0 = opening)?"""
        if _CURRENCY.intersection(line) or MONEY.search(line):
            return False
        if index == 0:
            return "[" not in line
        stripped = line.lstrip()
        marker = f"[{index}]"
        if len(stripped) <= len(marker):
            return marker.startswith(stripped)
        if not stripped.startswith(marker):
            return False
        reason = stripped[len(marker):]
        if "[" in reason or odd_number_sign(reason):
            return False
        own = self.numbers[index - 1]
        for match in NUMBER.finditer(reason):
            number = match.group(0).replace(",", "").rstrip(".")
            if match.end() == len(reason):  # may still grow: must start one of its own numbers
                if not any(o.startswith(number) for o in own):
                    return False
            elif number not in own:
                return False
        return self.claims is None or claim_violation(reason, self.claims[index - 1]) is None
