"""Items the shopper's own words name, found by code whatever the model parsed.

A 135M parser misses stock codes ("do you have 22423?"), keeps only one side of "compare
X and Y", and often leaves out which bundle item a cart request or question points at.
These helpers read them from the text against one shop's catalog and the current bundle:
exact catalog ids, bundle positions and title words (`resolve_target`, as swap/remove use
it), and the two sides of a comparison.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.compose.composer import BundleComposer
from assistant.compose.editor import BundleEditor
from assistant.compose.errors import BundleError
from assistant.compose.targets import resolve_target, title_said_in
from assistant.records import Bundle, Request
from assistant.safety.guard import redact
from assistant.understand.shopper_cues import phrased_as_question
from assistant.understand.slots import (
    comparison_splits,
    mentions_in_text,
    names_whole_bundle,
    need_of_its_clauses,
    positions_in,
    whole_bundle_mention,
)
from assistant.understand.words import ORDINALS, content_stems, mentions_all, stem_set
from retrieval.catalog import Catalog
from retrieval.records import Item

# How sure a mention's item is: exact id/title/bundle position, all words in one title,
# embedding neighbour (>= the composer's resolve_threshold), nothing.
_RANK = {"id": 3, "title": 3, "bundle": 3, "words": 2, "similar": 1, "none": 0}
_CODE_TOKEN = re.compile(r"(?<![£$€\w.,])[A-Za-z0-9][A-Za-z0-9_\-/]*[A-Za-z0-9](?![\w])(?!\s*(?:pounds?|quid|%|gbp))",
                         re.I)
_MIN_CODE_CHARS = 4  # "2" or "12" is a position or an amount, never read as a stock code
_CART_SCAFFOLD = frozenset({
    "add", "put", "pop", "throw", "place", "stick", "move", "buy", "purchase", "get", "take", "want",
    "like", "please", "also", "too", "well", "as", "in", "into", "onto", "to", "my", "our", "your",
    "shopping", "cart", "basket", "trolley", "checkout", "check", "out", "now", "just", "go", "ahead",
    "can", "could", "would", "you", "yes", "yeah", "ok", "okay", "sure", "great", "lovely", "perfect",
    "good", "nice", "fine", "cool", "then", "thanks", "thank", "i'd", "i'll", "i'm", "let's", "lets",
    "me", "for", "item", "items", "one", "ones", "do", "will", "that's", "it's", "there", "those",
    "these", "this", "that", "them", "it", "all", "everything", "whole", "entire", "bundle", "lot",
    "both", "the", "a", "an", "of", "and", "from", "quickly", "right", "away", "some", "number", "no",
    "nr", "num",
})
_POSITION_WORD = re.compile(rf"(?:{'|'.join(ORDINALS)}|middle|\d{{1,2}}(?:st|nd|rd|th)?|number|no|nr|num)")
_POINTERS = re.compile(r"\b(?:it|this|that|these|those|they|them|one|ones)\b", re.I)
# Words that point at the conversation, never at a product: a question "about" them is
# about nothing in the shop ("how old are you?" parsed with target "you").
_NOT_ITEM_WORDS = frozenset({
    "you", "yourself", "yours", "we", "they", "he", "she", "him", "what", "who", "whom", "how", "why",
    "where", "when", "which", "is", "are", "was", "were", "be", "do", "does", "did", "can", "could",
    "would", "will", "should",
})
_PLACEHOLDER = re.compile(r"\[(?:email|phone|card|address|name|dob)\]")
_PII_INTRO = re.compile(r"\b(?:e-?mail|mail|number|phone|mobile|address|card|live|lives|call|text|contact|reach|"
                        r"name|dob|born|i'm|i am|this is)\b",
                        re.I)


def _shopping_words(text: str) -> str:
    """The text redacted, without the clauses that gave PII ("my email is [email]", "address
    [address]"): what is left is what the shopper wants, and may be echoed and stored."""
    kept = []
    for clause in re.split(r"[,;.!?]", redact(text)):
        if not _PLACEHOLDER.search(clause):
            kept.append(clause.strip())
            continue
        for part in re.split(r"\band\b", clause):  # "my email is [email] and I want ..."
            bare = _PLACEHOLDER.sub(" ", part)
            if _PLACEHOLDER.search(part) and (_PII_INTRO.search(bare) or len(bare.split()) < 2):
                continue
            kept.append(bare.strip())
    return need_of_its_clauses(", ".join(c for c in kept if c)) or ""


def code_like(item_id: str) -> bool:
    """Ids that cannot be mistaken for a word or a small number: 4+ characters with a digit."""
    return len(item_id) >= _MIN_CODE_CHARS and any(ch.isdigit() for ch in item_id)


class TextItems:
    """Catalog items and bundle positions named in free text, for one shop."""

    def __init__(self, catalog: Catalog, composer: BundleComposer) -> None:
        self.catalog = catalog
        self.composer = composer
        self.editor = BundleEditor(composer)
        self._codes = {it.item_id.lower(): it.item_id for it in catalog.items if code_like(it.item_id)}
        # Whole titles of three words or more, longest first: typed out in full, they name
        # one item whatever the parser made of them.
        titles: dict[str, str] = {}
        for it in catalog.items:
            key = " ".join(re.findall(r"[a-z0-9]+", it.title.lower()))
            if len(key.split()) >= 3:
                titles.setdefault(key, it.item_id)
        self._titles = sorted(titles.items(), key=lambda kv: -len(kv[0]))

    def ids_in(self, text: str) -> list[str]:
        """Catalog ids typed in the text ("bundle for 85123A", "do you have 22423?"), in order;
        not amounts ("£22423", "22423 pounds")."""
        out: list[str] = []
        for match in _CODE_TOKEN.finditer(text):
            item_id = self._codes.get(match.group().lower())
            if item_id is not None and item_id not in out:
                out.append(item_id)
        return out

    def titles_in(self, text: str) -> list[str]:
        """Items whose whole title (three words or more) the text spells out, in the text's
        order, longer titles first where they overlap: "a bundle around the Jam Making Set
        with Jars" -> its id."""
        words = " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "
        found: list[tuple[int, str]] = []
        for key, item_id in self._titles:
            at = words.find(f" {key} ")
            if at >= 0:
                found.append((at, item_id))
                words = words.replace(f" {key} ", " " + "|" * (len(key)) + " ")  # keep positions
        return [item_id for _, item_id in sorted(found)]

    def in_bundle(self, bundle: Bundle, mention: str) -> int | None:
        """The bundle position a mention names by position ("the second one", "#2"), id or
        all the words of one title. No paraphrase or partial match: "Lunch Bag Woodland"
        must not land on the bundle's "Lunch Bag Red Retrospot"."""
        try:
            pos = resolve_target(bundle, mention, lambda _text, _positions: None)
        except BundleError:
            return None
        item = bundle.items[pos].item
        wanted = content_stems(mention)
        exact = item.item_id.lower() == mention.strip().lower() or mentions_all(stem_set(item.title), wanted)
        return pos if exact or all(_POSITION_WORD.fullmatch(w) for w in wanted) else None

    @staticmethod
    def names_something(mention: str) -> bool:
        """A mention with a word that could be in a product title (not "you", "it", "what")."""
        return any(w not in _NOT_ITEM_WORDS for w in content_stems(mention))

    def item_for(self, mention: str, bundle: Bundle | None) -> tuple[Item | None, str]:
        """The item one mention names, and how: a bundle item first, then the catalog."""
        if bundle is not None and (positions_in(mention) or content_stems(mention)):
            pos = self.in_bundle(bundle, mention)
            if pos is not None:
                return bundle.items[pos].item, "bundle"
        ids = self.ids_in(mention)
        if ids:
            return self.catalog.get(ids[0]), "id"
        match = self.composer.resolve([mention])[0]
        return match.item, match.how if match.item is not None else "none"

    def pair(self, text: str, bundle: Bundle | None) -> tuple[Item, Item] | None:
        """The two items a comparison names. Each cut of the text at "and"/"or"/"vs"/","...
        is resolved on both sides; the cut whose weaker side resolves best wins (a title
        that holds "with" or "and" itself is only whole on the right cut)."""
        best: tuple[tuple[int, int], tuple[Item, Item]] | None = None
        for left, right in comparison_splits(text):
            (a, how_a), (b, how_b) = self.item_for(left, bundle), self.item_for(right, bundle)
            if a is None or b is None or a.item_id == b.item_id:
                continue
            score = (min(_RANK[how_a], _RANK[how_b]), _RANK[how_a] + _RANK[how_b])
            if best is None or score > best[0]:
                best = (score, (a, b))
        return best[1] if best is not None else None

    @staticmethod
    def cart_mentions(text: str) -> list[str]:
        """What a cart request names besides positions and cart wording: "add the lunch bag
        and the jam set to my basket" -> ["lunch bag", "jam set"]."""
        out = []
        for part in re.split(r",|;|&|\band\b|\bplus\b", text, flags=re.I):
            words = [w for w in re.findall(r"[\w'’-]+", part.lower().replace("’", "'"))
                     if w not in _CART_SCAFFOLD and not positions_in(w)]
            if words:
                out.append(" ".join(words))
        return out

    def cart_picks(self, text: str, request: Request, bundle: Bundle | None) -> tuple[list[Item], list[str]]:
        """(items a cart request names, mentions that named nothing). Stock codes and
        positions first; else the parse's mentions that the text holds (the model's own
        inventions are ignored) and the words left after the cart wording, each as a bundle
        item or a whole catalog title. Nothing named: ([], [])."""
        picked = [self.catalog.get(i) for i in self.ids_in(text)]
        positions = positions_in(text)
        if positions and bundle is None:
            raise BundleError("There's no bundle yet, so there is no item at that position.")
        if bundle is not None:
            picked += [bundle.items[self.editor.position(bundle, p)].item for p in positions]
        if picked:
            return picked, []
        parsed = [m for m in (request.target, *request.items)
                  if m and mentions_in_text(m, text) and not whole_bundle_mention(m, text)]
        unresolved = []
        for mention in dict.fromkeys([*parsed, *self.cart_mentions(text)]):
            pos = self.in_bundle(bundle, mention) if bundle is not None else None
            item = bundle.items[pos].item if bundle is not None and pos is not None \
                else self.resolve_exact([mention])[0]
            if item is not None:
                picked.append(item)
            else:
                unresolved.append(mention)
        if not picked and bundle is not None and not names_whole_bundle(text):
            # "mug's gorgeous, put just that in my trolley": the one bundle item whose title
            # words the message says, the cart wording left out ("basket" is a cart here)
            said = title_said_in(bundle, " ".join(self.cart_mentions(text)))
            if said is not None:
                return [bundle.items[said].item], []
        return picked, [] if picked else unresolved

    def resolve_exact(self, mentions: Sequence[str]) -> list[Item | None]:
        """Catalog items for mentions that are an id or a whole title (nothing looser: these
        go in the cart)."""
        out: list[Item | None] = []
        for match in self.composer.resolve(list(mentions)):
            out.append(match.item if match.how in ("id", "title") else None)
        return out

    def need_in(self, text: str) -> str | None:
        """The shopper's words as a need (PII redacted, scaffolding cut) when the shop clearly
        has things for them (`BundleComposer.need_match`), else None."""
        need = _shopping_words(text)
        if not need:
            return None
        # the whole message may fill a kind plan its shortened need does not ("garden party
        # for 12 of us ... want the table to look nice")
        return need if self.composer.need_match(need)[0] or len(self.composer.kinds_for(text, need).kinds) >= 2 \
            else None

    @staticmethod
    def is_question(text: str) -> bool:
        """Phrased as a question ("what is ...", "how much ...", "is there ..."); "can you ..."
        is a request, not counted."""
        return phrased_as_question(text)

    def off_topic(self, text: str, bundle: Bundle | None, *, questions_only: bool = False) -> bool:
        """Words that name no item are off-topic when the shop has nothing for them (the
        composer's need-match calibration, not a keyword list). With a bundle on the table,
        "it", "this one" or a position may point at one of its items: not off-topic.
        `questions_only`: only a message phrased as a question ("what is ...?") counts."""
        if bundle is not None and (positions_in(text) or _POINTERS.search(text)):
            return False
        if questions_only and not self.is_question(text):
            return False
        need = _shopping_words(text)
        return bool(need) and not self.composer.need_match(need)[0]
