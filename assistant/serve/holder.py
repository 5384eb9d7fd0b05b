"""The one Assistant behind the HTTP API, built once: at startup, on first use, or given ready."""

from __future__ import annotations

import threading
from typing import Any


class AssistantHolder:
    """The Assistant, built once (lazily, or at startup) from a factory, or given ready.
    `failed` says the last build raised; the next `get` tries again."""

    def __init__(self, assistant_or_factory: Any) -> None:
        if hasattr(assistant_or_factory, "turn"):
            self._assistant, self._factory = assistant_or_factory, None
        elif callable(assistant_or_factory):
            self._assistant, self._factory = None, assistant_or_factory
        else:
            raise TypeError("create_app needs an Assistant or a callable that returns one")
        self._lock = threading.Lock()
        self.failed = False

    @property
    def ready(self) -> bool:
        return self._assistant is not None

    def get(self) -> Any:
        if self._assistant is None:
            with self._lock:
                if self._assistant is None:
                    assert self._factory is not None
                    try:
                        self._assistant = self._factory()
                    except Exception:
                        self.failed = True
                        raise
                    self.failed = False
        return self._assistant
