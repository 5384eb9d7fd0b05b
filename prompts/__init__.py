"""Versioned prompt templates, shipped as package data and rendered strictly.

A template is `templates/<name>.<version>.txt` with `{placeholders}`. `render` refuses a
missing or an unexpected value, so a prompt never goes out half-filled. Saved artifacts
(adapters, eval reports) record `prompt_version(name)`.
"""

from __future__ import annotations

import functools
import hashlib
import string
from importlib import resources

from retrieval.errors import CartsmithError

CURRENT = {"parse": "v3", "write": "v1"}


class PromptError(CartsmithError):
    """A template is missing, or was given the wrong values."""


@functools.cache
def template(name: str, version: str | None = None) -> str:
    version = version or CURRENT.get(name)
    if version is None:
        raise PromptError(f"no prompt named {name!r}; known: {', '.join(sorted(CURRENT))}")
    try:
        return resources.files(__package__).joinpath("templates", f"{name}.{version}.txt").read_text("utf-8")
    except FileNotFoundError:
        raise PromptError(f"prompt {name!r} has no version {version!r}") from None


def fields(name: str, version: str | None = None) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template(name, version)) if f}


def render(name: str, version: str | None = None, /, **values: object) -> str:
    expected = fields(name, version)
    missing = sorted(expected - set(values))
    extra = sorted(set(values) - expected)
    if missing or extra:
        raise PromptError(f"prompt {name}: missing {missing or 'nothing'}, unexpected {extra or 'nothing'}")
    return template(name, version).format(**values).strip()


def prompt_version(name: str) -> str:
    """Name, version and content hash: e.g. 'parse.v1.3f2a9c1b'."""
    text = template(name)
    return f"{name}.{CURRENT[name]}.{hashlib.sha256(text.encode()).hexdigest()[:8]}"
