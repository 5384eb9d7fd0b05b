"""The server caps glibc's malloc arenas (`assistant/serve/memory.py`), unless the operator
chose a value in the environment; a wrong count is an error that names it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assistant.serve.memory import fix_mmap_threshold, tune_malloc


def _in_a_fresh_process(code: str, env: dict[str, str] | None = None) -> str:
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, **(env or {})}).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_arenas_are_capped_unless_the_environment_says_otherwise() -> None:
    code = "from assistant.serve.memory import tune_malloc; print(tune_malloc())"
    env = {"MALLOC_ARENA_MAX": ""}
    assert _in_a_fresh_process(code, env) == "True"
    assert _in_a_fresh_process(code, {"MALLOC_ARENA_MAX": "4"}) == "False"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_mmap_threshold_is_fixed_unless_the_environment_says_otherwise() -> None:
    code = "from assistant.serve.memory import fix_mmap_threshold; print(fix_mmap_threshold())"
    assert _in_a_fresh_process(code, {"MALLOC_MMAP_THRESHOLD_": ""}) == "True"
    assert _in_a_fresh_process(code, {"MALLOC_MMAP_THRESHOLD_": "131072"}) == "False"
    with pytest.raises(ValueError, match="threshold: must be between 4096 and 33554432 bytes, got 10"):
        fix_mmap_threshold(10)


def test_a_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="arenas: must be at least 1, got 0"):
        tune_malloc(0)


def test_the_api_caps_the_arenas_when_it_is_built(scripted_assistant, monkeypatch) -> None:
    import assistant.serve.api as api

    calls: list[int] = []
    monkeypatch.setattr(api, "tune_malloc", lambda arenas=2: calls.append(arenas) or True)
    api.create_app(scripted_assistant, load_on_startup=False)
    assert calls == [2]
