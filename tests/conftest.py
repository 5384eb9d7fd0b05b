"""Shared fixtures: the default shop (loaded once), the real Assistant with the scripted
model (`scripted_model.py`; fast) and its scripted parser and writer, and the real Assistant
with the tuned SmolLM2 (slow tests only, loaded once per run)."""

from __future__ import annotations

import copy
import os

# Offline by design (as the Makefile sets it): nothing may reach a model hub or phone home.
for _key, _value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("ANONYMIZED_TELEMETRY", "False"),
                     ("GRADIO_ANALYTICS_ENABLED", "False"), ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(_key, _value)

from collections.abc import Iterator  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import pytest  # noqa: E402
from scripted_model import (  # noqa: E402
    ScriptedParser,
    ScriptedWriter,
    default_shop_index,
    scripted_parts,
    shared_scripted_assistant,
)

if TYPE_CHECKING:
    from assistant.dialogue.service import Assistant
    from retrieval.shop_index import ShopIndex


@pytest.fixture(scope="session")
def shop_index() -> ShopIndex:
    """The default shop's index. Shared: a test that records orders puts its live rules back."""
    return default_shop_index()


@pytest.fixture(scope="session")
def scripted_assistant(shop_index: ShopIndex) -> Assistant:
    """The real Assistant over the default shop (composer, actions, guards, SQLite sessions
    in a file of its own) with the scripted parser and writer: one for the whole run."""
    return shared_scripted_assistant()


@pytest.fixture
def scripted_parser(scripted_assistant: Assistant) -> Iterator[ScriptedParser]:
    """The shared scripted assistant's parser, fresh for the test and put back after it."""
    parser, _ = scripted_parts(scripted_assistant)
    parser.reset()
    yield parser
    parser.reset()


@pytest.fixture
def scripted_writer(scripted_assistant: Assistant) -> Iterator[ScriptedWriter]:
    """The shared scripted assistant's writer, fresh for the test and put back after it."""
    _, writer = scripted_parts(scripted_assistant)
    writer.reset()
    yield writer
    if writer.release is not None:
        writer.release.set()  # a failed test must not leave a later turn waiting
    writer.reset()


@pytest.fixture(scope="session")
def real_assistant(shop_index: ShopIndex, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The real Assistant: the tuned SmolLM2 parses and writes (loaded once; slow tests)."""
    from assistant.dialogue.service import Assistant, AssistantConfig

    sessions = tmp_path_factory.mktemp("real-model") / "sessions.sqlite3"
    return Assistant(AssistantConfig(sessions=str(sessions), writer="model"), index=shop_index)


@pytest.fixture(scope="session")
def real_parser_assistant(real_assistant: Assistant, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The tuned parser with the template writer, on the model `real_assistant` loaded."""
    from assistant.dialogue.service import Assistant, AssistantConfig

    sessions = tmp_path_factory.mktemp("real-parser") / "sessions.sqlite3"
    return Assistant(AssistantConfig(sessions=str(sessions), writer="template"), index=real_assistant.index,
                     llm=real_assistant.llm)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL server (Debian's binaries, `make postgres`); its URL."""
    from postgres_server import postgres_bindir, postgres_server

    bindir = postgres_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (make postgres)")
        pytest.skip("PostgreSQL is not installed (make postgres)")
    with postgres_server(bindir) as url:
        yield url


@pytest.fixture
def live_rules_put_back(shop_index: ShopIndex) -> Iterator[Any]:
    """The shared index's association rules, restored after the test: orders change them."""
    rules = shop_index.sources["rules"]
    saved = copy.deepcopy(vars(rules))
    yield rules
    vars(rules).clear()
    vars(rules).update(saved)
    shop_index.blend.clear_cache()
