"""The benchmark scripts' last step: print the report as JSON and, with --json, save it."""
from __future__ import annotations

import json
from pathlib import Path


def emit(report: dict[str, object], path: Path | None) -> None:
    text = json.dumps(report, indent=2)
    print(text)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
