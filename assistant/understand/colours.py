"""The colours a shopper wants, read from their words (the kind planner ranks titles in
those colours first: "the red polka dot range" is red retrospot, not blue polkadot)."""

from __future__ import annotations

from assistant.understand.exclusions import strip_exclusions
from assistant.understand.words import tokens
from retrieval.categories import COLOUR_WORDS

__all__ = ["colours_in"]

# colour words a shopper says for what they want ("the red polka dot range", "something in
# navy"); words that are also a print, a flavour or a finish ("rose", "natural", "clear",
# "bright") say too little to rank titles by
_SAID_COLOURS = COLOUR_WORDS - frozenset({
    "rose", "natural", "clear", "bright", "dark", "light", "multi", "multicolour", "multicolor", "colour",
    "colours", "color", "colors", "tan", "peach", "light-blue", "light-pink"})


def colours_in(text: str) -> tuple[str, ...]:
    """The colours the shopper wants, in the order said; a colour ruled out ("no pink",
    "not a fan of red") is not wanted."""
    wanted = tokens(strip_exclusions(text))
    return tuple(dict.fromkeys(word for word in wanted if word in _SAID_COLOURS))
