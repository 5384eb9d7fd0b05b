"""Is a message plainly in a language other than English, and what to tell that shopper.

The catalog and the language model are English. A message in French gets, in French, the
honest answer that the assistant works in English with an example request, instead of a
bundle for words the shop cannot read. Read by code, no model: function words for languages
in Latin script (`prompts/templates/languages.v1.yaml`, which also holds the replies), the
script itself for Chinese and for other scripts.

Rule "another language": two or more distinct function words of one language, more than
the English ones, and at least a quarter of the message's words.
  match: "je cherche un cadeau pour ma mère" (fr), "Ein Geschenkset für Ostern bitte" (de),
         "un regalo para una fiesta de té, menos de 20 libras" (es), "给我妈妈的生日礼物" (zh)
  no match: "a tea party for my nan", "as cheap as possible", "£5 per item, party favours",
            "the Fleur de Lys candle", "La Vie en Rose mug for my sister"
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from importlib import resources
from typing import Any

import yaml

from retrieval.errors import ConfigError

__all__ = ["LanguageFileError", "Languages", "other_language_reply"]

LANGUAGES_FILE = "languages.v1.yaml"
_MIN_WORDS = 5
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# scripts that say "not English" on their own (Han is answered in Chinese)
_OTHER_SCRIPTS = ("CYRILLIC", "ARABIC", "GREEK", "HEBREW", "HIRAGANA", "KATAKANA", "HANGUL", "THAI",
                  "DEVANAGARI", "BENGALI", "TAMIL", "GEORGIAN", "ARMENIAN")


class LanguageFileError(ConfigError):
    """The languages file is wrong; the message names the file, the entry and the field."""


@dataclasses.dataclass(frozen=True)
class Language:
    code: str
    name: str
    words: frozenset[str]
    reply: str


@dataclasses.dataclass(frozen=True)
class Languages:
    english: frozenset[str]
    languages: tuple[Language, ...]
    chinese_reply: str
    other_script_reply: str

    @classmethod
    def parse(cls, data: Any, file: str) -> Languages:
        def fail(where: str, message: str) -> LanguageFileError:
            return LanguageFileError(f"languages file {file}, {where}: {message}")

        if not isinstance(data, dict):
            raise fail("top level", "must be a mapping of fields")
        known = {"version", "english", "languages", "chinese_reply", "other_script_reply"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise fail(f"field {unknown[0]!r}", f"unknown field; the fields are {', '.join(sorted(known))}")
        if data.get("version") != 1:
            raise fail("field 'version'", f"must be 1, got {data.get('version')!r}")

        def texts(value: Any, where: str) -> frozenset[str]:
            if not isinstance(value, list) or len(value) < _MIN_WORDS or not all(
                    isinstance(word, str) and word.strip() for word in value):
                raise fail(where, f"must be a list of at least {_MIN_WORDS} words")
            return frozenset(word.strip().casefold() for word in value)

        def text(value: Any, where: str) -> str:
            if not isinstance(value, str) or not value.strip():
                raise fail(where, "must be a non-empty text")
            return value.strip()

        entries = data.get("languages")
        if not isinstance(entries, list) or not entries:
            raise fail("field 'languages'", "must be a non-empty list of languages")
        languages = []
        for index, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict):
                raise fail(f"language {index}", "must be a mapping with code, name, words and reply")
            extra = sorted(set(entry) - {"code", "name", "words", "reply"})
            if extra:
                raise fail(f"language {index}, field {extra[0]!r}", "unknown field; the fields are code, name, words, reply")
            languages.append(Language(text(entry.get("code"), f"language {index}, field 'code'"),
                                      text(entry.get("name"), f"language {index}, field 'name'"),
                                      texts(entry.get("words"), f"language {index}, field 'words'"),
                                      text(entry.get("reply"), f"language {index}, field 'reply'")))
        return cls(texts(data.get("english"), "field 'english'"), tuple(languages),
                   text(data.get("chinese_reply"), "field 'chinese_reply'"),
                   text(data.get("other_script_reply"), "field 'other_script_reply'"))

    def reply_for(self, text: str) -> str | None:
        """The answer for a message plainly not in English (rule "another language"), else None."""
        letters = [ch for ch in text if ch.isalpha()]
        if not letters:
            return None
        han = sum("CJK UNIFIED" in unicodedata.name(ch, "") for ch in letters)
        if han >= 2 and han >= 0.3 * len(letters):
            return self.chinese_reply
        other = sum(unicodedata.name(ch, "").startswith(_OTHER_SCRIPTS) for ch in letters)
        if other >= 0.5 * len(letters):
            return self.other_script_reply
        words = [word.casefold() for word in _WORD.findall(text)]
        if not words:
            return None
        english = len({word for word in words if word in self.english})
        best, hits = None, 0
        for language in self.languages:
            found = len({word for word in words if word in language.words})
            if found > hits:
                best, hits = language, found
        if best is not None and hits >= 2 and hits > english and hits >= 0.25 * len(words):
            return best.reply
        return None


@functools.cache
def shipped_languages() -> Languages:
    path = resources.files("prompts").joinpath("templates", LANGUAGES_FILE)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise LanguageFileError(f"languages file {LANGUAGES_FILE}: not valid YAML: {exc}") from exc
    return Languages.parse(data, LANGUAGES_FILE)


def other_language_reply(text: str) -> str | None:
    """What to answer a message plainly in another language (None for English)."""
    return shipped_languages().reply_for(text)
