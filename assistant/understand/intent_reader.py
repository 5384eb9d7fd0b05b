"""What the shopper wants done, read from the meaning of the whole message: a linear model
over the message's sentence embedding (the shop index's own embedder) and whether a bundle
is on screen, trained by `cartsmith finetune` on the same generated data as the adapter
plus everyday phrasings of each intent (`finetune/intent_data.py`).

The reader gives the parser a shortlist, the fewest intents that hold `mass` of its
probability (by default half: one intent when the reader gives it the majority), and the
tuned model's guided decoding may only spell an intent of that list (`RequestParser`), so
the model fills the slots of an intent the reader finds likely and chooses between two or
three when the reader is torn. A paraphrase the model never saw ("chuck some bunting in
too") lands near the phrasings it did see in embedding space, where a 135M model's reading
of the words alone often fails.

The artifact is a folder with `intent_reader.npz` (coef, intercept, classes) and
`intent-reader.json` (the embedding model, the features, the data hash, held-out accuracy);
the words are hashed, so the reader keeps no vocabulary;
loading checks that the embedder is the one it was trained with.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.records import INTENTS
from retrieval.datasets import REPO_ROOT
from retrieval.errors import ConfigError

SHIPPED_INTENT_READER = REPO_ROOT / "finetune" / "adapters" / "cartsmith-intent-reader"
WEIGHTS_FILE = "intent_reader.npz"
MANIFEST_FILE = "intent-reader.json"
FEATURES = "embedding+embedding*bundle+bundle+words(1-2,2^14)*(1,bundle)/v2"
WORD_BITS = 14  # hashed word unigrams and bigrams: 16,384 buckets, each also with a bundle on screen
SURE = 0.9
# The reader alone decides when it gives one intent the majority: on shoppers' own words
# (the hand-written set) it read 88.8% of intents right, the tuned 135M model 69.7%.
SHORTLIST_MASS = 0.5
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})

Encode = Callable[[Sequence[str]], np.ndarray]


def reader_text(text: str) -> str:
    """The form a message is embedded in, in training and when served."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold().split())


_WORD = re.compile(r"[a-z0-9']+")


def word_features(texts: Sequence[str], has_bundle: Sequence[bool]) -> np.ndarray:
    """The message's words and word pairs, hashed (crc32, stable across processes) into
    2^WORD_BITS buckets, again in a second block when a bundle is on screen; each row of unit
    length. A sentence embedding blurs the small words that decide an edit ("instead",
    "off", "keep", "rather"); these keep them."""
    size = 1 << WORD_BITS
    out = np.zeros((len(texts), 2 * size), dtype=np.float32)
    for row, (text, on) in enumerate(zip(texts, has_bundle, strict=True)):
        words = _WORD.findall(reader_text(text))
        for gram in {*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))}:
            bucket = zlib.crc32(gram.encode()) & (size - 1)
            out[row, bucket] = 1.0
            if on:
                out[row, size + bucket] = 1.0
        norm = float(np.linalg.norm(out[row]))
        if norm:
            out[row] /= norm
    return out


def features(vectors: np.ndarray, has_bundle: Sequence[bool], texts: Sequence[str]) -> np.ndarray:
    """[embedding, embedding x bundle on screen, bundle on screen, hashed words (x bundle)]:
    the same words mean another thing with a bundle on screen ("bunting" asks for bunting,
    or adds it)."""
    on = np.asarray(has_bundle, dtype=np.float32)[:, None]
    return np.hstack([vectors, vectors * on, on, word_features(texts, has_bundle)]).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class IntentReader:
    classes: tuple[str, ...]
    coef: np.ndarray  # (classes, features)
    intercept: np.ndarray  # (classes,)
    encode: Encode
    manifest: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def load(cls, folder: str | Path, encode: Encode, embedder_id: str | None = None) -> IntentReader:
        """The reader saved in `folder`; `embedder_id` (the embedder's `model_id`) must be the
        one it was trained with, or the vectors would mean something else."""
        folder = Path(folder)
        manifest_path = folder / MANIFEST_FILE
        if not manifest_path.exists() or not (folder / WEIGHTS_FILE).exists():
            raise ConfigError(f"assistant.intent_reader: no intent reader in {folder} (needs {WEIGHTS_FILE} and "
                              f"{MANIFEST_FILE}; `cartsmith finetune --intent-reader-only` writes them), or set "
                              "intent_reader = \"none\"")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("features") != FEATURES:
            raise ConfigError(f"assistant.intent_reader: {manifest_path} has features {manifest.get('features')!r}; "
                              f"this version reads {FEATURES!r}: refit it with `cartsmith finetune --intent-reader-only`")
        if embedder_id is not None and manifest.get("embedding_model") != embedder_id:
            raise ConfigError(f"assistant.intent_reader: {manifest_path} was trained on embeddings of "
                              f"{manifest.get('embedding_model')!r}, the shop index embeds with {embedder_id!r}; "
                              "refit it with `cartsmith finetune --intent-reader-only` or set intent_reader = \"none\"")
        with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as weights:
            classes = tuple(str(c) for c in weights["classes"])
            coef, intercept = weights["coef"].astype(np.float32), weights["intercept"].astype(np.float32)
        unknown = sorted(set(classes) - set(INTENTS))
        if unknown or coef.ndim != 2 or coef.shape[0] != len(classes) or intercept.shape != (len(classes),):
            raise ConfigError(f"assistant.intent_reader: {folder / WEIGHTS_FILE} is not a reader of this version "
                              f"(classes {list(classes)}, weights {coef.shape})")
        return cls(classes, coef, intercept, encode, manifest)

    def probabilities(self, message: str, has_bundle: bool) -> dict[str, float]:
        vector = np.asarray(self.encode([reader_text(message)]), dtype=np.float32)
        x = features(vector, [has_bundle], [message])
        if x.shape[1] != self.coef.shape[1]:
            raise ConfigError(f"assistant.intent_reader: the embedder gives {vector.shape[1]} numbers, the reader "
                              f"was trained on {(self.coef.shape[1] - 1 - (2 << WORD_BITS)) // 2}")
        logits = x @ self.coef.T + self.intercept
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return {c: float(v) for c, v in zip(self.classes, p[0], strict=True)}

    def shortlist(self, message: str, has_bundle: bool, mass: float = SHORTLIST_MASS, most: int = 3) -> tuple[str, ...]:
        return shortlist_of(self.probabilities(message, has_bundle), mass, most)


def shortlist_of(probabilities: dict[str, float], mass: float = SHORTLIST_MASS, most: int = 3) -> tuple[str, ...]:
    """The fewest intents, most likely first, that hold `mass` of the probability (at most `most`)."""
    ranked = sorted(probabilities.items(), key=lambda kv: -kv[1])
    out: list[str] = []
    held = 0.0
    for intent, p in ranked[:most]:
        out.append(intent)
        held += p
        if held >= mass:
            break
    return tuple(out)


def sure_intent(probabilities: dict[str, float], at_least: float = SURE) -> str | None:
    """The intent the reader gives `at_least` of its probability, if any: sure enough for
    the code's word rules to defer to it (`slots.reconcile_intent`)."""
    intent, p = max(probabilities.items(), key=lambda kv: kv[1])
    return intent if p >= at_least else None
