"""An answer's lines released to the shopper while the model is still writing.

A streamed answer must never show an unchecked word. So a line goes out only once it is
finished (its newline decoded) and passes the same checks the whole answer will (`line_ok`:
its slot number in order, no price, numbers and claims its item has, words of its own item;
and no title of another catalog item), with the item's name and price written by code
(`substitute`) and its need named (`name_the_needs`). Lines go out in order: after a line
that fails, nothing more is released while decoding; the answer's remaining lines, as the
writer finally words them (repaired, or by the template), follow when it is done
(`merge_released`). A released line is never taken back: the final answer keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from assistant.records import Bundle
from assistant.write.answer_checks import SLOT_LINE, line_ok, substitute
from assistant.write.item_facts import claims_of, name_the_needs, numbers_of, words_of

_NUMBERED = re.compile(r"^(\d+)\. ")


class LineRelease:
    """Feed it the text decoded so far (`seen`); it calls `on_line` with each line that is
    ready to show, in order, once. `released` is what went out."""

    def __init__(self, bundle: Bundle, need: str | None, other_titles: Iterable[str],
                 on_line: Callable[[str], None]) -> None:
        self.bundle = bundle
        self.facts, self.claims, self.words = numbers_of(bundle), claims_of(bundle), words_of(bundle, need)
        own = {bi.item.title.lower() for bi in bundle.items}
        self.other_titles = tuple(t.lower() for t in other_titles if len(t) >= 6 and t.lower() not in own)
        self.on_line = on_line
        self.released: list[str] = []

    def seen(self, text: str) -> None:
        finished = [line for line in text.split("\n")[:-1] if line.strip()]
        while len(self.released) < len(finished) and len(self.released) <= len(self.bundle.items):
            index = len(self.released)
            line = finished[index]
            if not self._ready(line, index):
                return
            shown = line.strip() if index == 0 else substitute(name_the_needs(line, self.bundle), self.bundle)
            self.released.append(shown)
            self.on_line(shown)

    def _ready(self, line: str, index: int) -> bool:
        if not line_ok(line, index, self.facts, self.claims, self.words):
            return False
        slot = SLOT_LINE.match(line)
        said = (slot.group(2) if slot else line).lower()
        return not any(title in said for title in self.other_titles)


def merge_released(released: list[str], final: str) -> list[str]:
    """The answer's lines: those already released, then the final answer's lines they do
    not cover (its opening when none went out; its item lines past the last released one)."""
    if not released:
        return [line for line in final.split("\n") if line.strip()]
    slots_out = len(released) - 1  # released[0] is the opening
    rest = []
    for line in final.split("\n")[1:]:
        numbered = _NUMBERED.match(line)
        if numbered is None or int(numbered.group(1)) > slots_out:
            rest.append(line)
    return [*released, *(line for line in rest if line.strip())]
