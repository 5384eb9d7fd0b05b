"""Which bundle item the shopper's words point at ("2", "the second one", "the candles"),
as edits and the dialogue's cart and question actions read them."""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.compose.errors import TargetNotFoundError
from assistant.records import Bundle
from assistant.understand.words import (
    FILLER,
    ORDINALS,
    content_stems,
    mentions_all,
    one_slip_apart,
    stem_set,
    tokens,
)

_POSITION = re.compile(r"(?:item|number|no\.?|#)?\s*(\d{1,2})(?:st|nd|rd|th)?(?:\s+one)?")


def resolve_target(bundle: Bundle, target: str,
                   similar: Callable[[str, list[int]], tuple[int, float] | None]) -> int:
    """The 0-based position in `bundle` that `target` names: "2", "#2", "the second one",
    "last", an item id, words of a title ("the candles"), or a close paraphrase (via
    `similar(text, positions) -> (position, cosine) | None`). Raises TargetNotFoundError."""
    text = (target or "").strip()
    n = len(bundle.items)
    words = [t for t in tokens(text) if t not in FILLER]
    number = _POSITION.fullmatch(" ".join(words)) if words else None
    if number:
        pos = int(number.group(1))
        if 1 <= pos <= n:
            return pos - 1
        raise TargetNotFoundError(text, bundle)
    if words == ["middle"] and n:
        # the middle of an even bundle is the earlier of the two middle lines
        return (n - 1) // 2
    if len(words) == 1 and words[0] in ORDINALS:
        pos = ORDINALS[words[0]]
        if pos == -1 and n:
            return n - 1
        if 1 <= pos <= n:
            return pos - 1
        raise TargetNotFoundError(text, bundle)
    for pos, bi in enumerate(bundle.items):
        if bi.item.item_id == text or bi.item.item_id.lower() == text.lower():
            return pos
    wanted = content_stems(text)
    if wanted:
        title_stems = [stem_set(bi.item.title) for bi in bundle.items]
        full = [p for p, s in enumerate(title_stems) if mentions_all(s, wanted)]
        if len(full) == 1:
            return full[0]
        overlap = [sum(w in s for w in wanted) for s in title_stems]
        pool = full or [p for p, k in enumerate(overlap) if k and k == max(overlap)]
        if len(pool) == 1 and (full or 2 * overlap[pool[0]] >= len(wanted)):
            return pool[0]
        if not pool:  # no word spelt as in a title: the one title most of them are a slip from
            near = [sum(_near_any(w, s) for w in wanted) for s in title_stems]
            best = max(near)
            if best and near.count(best) == 1 and 2 * best >= len(wanted):
                return near.index(best)
        hit = similar(text, pool or list(range(n)))
        if hit is not None:
            return hit[0]
    raise TargetNotFoundError(text or "(nothing)", bundle)


def _near_any(word: str, stems: frozenset[str] | set[str]) -> bool:
    """Rule "a typo still names it": a word of five letters or more one slip (a letter
    dropped, added, changed or two swapped) from a title word ("candels" -> candles,
    "lanturn" -> lantern; "lantrun" is two slips and is not); shorter words must be spelt."""
    return word in stems or (len(word) >= 5 and any(one_slip_apart(word, s) for s in stems))


def title_said_in(bundle: Bundle, text: str) -> int | None:
    """Rule "title words said": the 0-based position of the one bundle item whose title words
    the message says most ("that vase isn't my style" -> the Ridged Glass Posy Vase), words
    every title shares left out; None when no title word is said or two items tie."""
    if not bundle.items:
        return None
    titles = [set(content_stems(bi.item.title)) for bi in bundle.items]
    shared = set.intersection(*titles) if len(titles) > 1 else set()
    said = set(content_stems(text))
    counts = [len((title - shared) & said) for title in titles]
    best = max(counts)
    return counts.index(best) if best and counts.count(best) == 1 else None


def names_nothing_on_screen(bundle: Bundle, target: str | None) -> bool:
    """Rule "a mention must name something on screen": the model's target is words no title
    of the bundle has ("mantelpiece" in "keep the mosaic one, it'll look gorgeous on the
    mantelpiece"; "pack" for the backpack), so the message's title words decide."""
    if not target or target.strip().isdigit():
        return False
    said = set(content_stems(target))
    return bool(said) and not any(said & set(content_stems(bi.item.title)) for bi in bundle.items)
