"""Schema fuzzing of the HTTP API with schemathesis (in process, over ASGI).

Every operation of the OpenAPI spec gets generated requests, valid and invalid; a response
must never be a 5xx, and must match the status codes, content types and schemas the spec
documents. The bulk runs over the real Assistant with the scripted model
(`scripted_model.py`: the real composer, session store, records and guard), with half the
cases sent to a session that exists so the routes' real work runs, not only their 404s; a
bounded run goes over the tuned SmolLM2 parser (slow). `test_the_fuzzer_finds_a_planted_5xx`
shows the harness would catch a server error.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from scripted_model import shared_scripted_assistant

from assistant.dialogue.service import Assistant
from assistant.serve.api import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Seconds one generated request may take: a turn on a long message takes a few on a busy machine.
REQUEST_TIMEOUT_S = 60
FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=40, database=None)


def aim_at_a_real_session(case: Any, assistant: Any) -> None:
    """Half the generated session ids (chosen by their own hash) become an open session."""
    path = case.path_parameters or {}
    generated = path.get("session_id")
    if isinstance(generated, str) and zlib.crc32(generated.encode()) % 2 == 0:
        path["session_id"] = assistant.open_session()
        case.path_parameters = path


def scripted_app(wrap: Callable[[Assistant], Any] = lambda assistant: assistant) -> Any:
    """The app over the shared scripted assistant (`wrap`ped), fetched on its first request:
    collecting this module loads no index."""
    return create_app(lambda: wrap(shared_scripted_assistant()), rate_limit_per_minute=None, load_on_startup=False)


app = scripted_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@FUZZ
def test_no_5xx_and_the_spec_holds(case: Any) -> None:
    aim_at_a_real_session(case, app.state.assistant_holder.get())
    case.call_and_validate(checks=CHECKS, timeout=REQUEST_TIMEOUT_S)


# ------------------------------------------------------------------------------------------
# the tuned parser, bounded
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_no_5xx_over_the_tuned_parser(real_parser_assistant: Assistant) -> None:
    """Every operation, 15 generated cases each, valid or not (schemathesis' lazy pytest
    fixture does not run under pytest 9, so the cases are drawn with hypothesis here)."""
    from hypothesis import given
    from hypothesis import strategies as st
    from schemathesis.core.result import Ok
    from schemathesis.generation.modes import GenerationMode

    real_app = create_app(real_parser_assistant, rate_limit_per_minute=None)
    results = list(schemathesis.openapi.from_asgi("/openapi.json", real_app).get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 10
    for operation in operations:
        valid_or_not = st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode))

        @given(case=valid_or_not)
        @settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=15, database=None)
        def fuzz(case: Any) -> None:
            aim_at_a_real_session(case, real_parser_assistant)
            case.call_and_validate(checks=CHECKS, timeout=REQUEST_TIMEOUT_S)

        fuzz()


# ------------------------------------------------------------------------------------------
# the harness itself
# ------------------------------------------------------------------------------------------
class PlantedBug:
    """The assistant with a planted server error: a non-ASCII user id breaks opening a session."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def __getattr__(self, name: str) -> Any:
        return getattr(self.assistant, name)

    def open_session(self, user_id: str | None = None) -> str:
        if user_id is not None and not user_id.isascii():
            raise RuntimeError("planted: a non-ASCII user id breaks this assistant")
        return self.assistant.open_session(user_id)


planted = schemathesis.openapi.from_asgi("/openapi.json", scripted_app(PlantedBug))


def test_the_fuzzer_finds_a_planted_5xx() -> None:
    from hypothesis import given

    server_errors: list[tuple[Any, Any]] = []

    @given(case=planted["/v1/sessions"]["POST"].as_strategy())
    # the body has two optional fields (user_id, shopper_token): enough examples to reach the one
    @settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=400, database=None)
    def probe(case: Any) -> None:
        response = case.call()
        if response.status_code >= 500:
            server_errors.append((case, response))

    probe()
    assert server_errors, "400 generated requests never reached the planted bug"
    case, response = server_errors[0]
    with pytest.raises(BaseExceptionGroup, match="Server error"):
        case.validate_response(response, checks=CHECKS)
