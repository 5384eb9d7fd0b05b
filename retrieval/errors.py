"""Domain errors raised by the core; surfaces turn them into friendly messages."""

from __future__ import annotations


class CartsmithError(Exception):
    """Base of every error a user can act on. The message says what to change."""


class ConfigError(CartsmithError):
    """A configuration value or key is wrong."""


class DataValidationError(CartsmithError):
    """A data file has a bad value; the message names the file, row and field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.field = field
        where = []
        if file is not None:
            where.append(f"file {file}")
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class IndexStateError(CartsmithError):
    """A saved index is missing, stale or does not match what was asked for."""


class UnknownItemError(CartsmithError):
    """An item id is not in the catalog."""

    def __init__(self, item_ids: list[str]) -> None:
        self.item_ids = item_ids
        shown = ", ".join(item_ids[:5]) + (" ..." if len(item_ids) > 5 else "")
        super().__init__(f"unknown item id(s): {shown}")
