"""The OpenAI-compatible endpoint says what it cannot do instead of ignoring it: sampling
parameters it cannot honour are a 400 that names them, `max_tokens` cuts the answer (finish
reason "length", streamed or not), and `usage` counts the tokens fed to the model and made by it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.dialogue.service import Assistant
from assistant.serve.api import create_app
from assistant.serve.openai_compat import cut_to_tokens, token_counter


@pytest.fixture
def client(scripted_assistant: Assistant) -> Iterator[TestClient]:
    with TestClient(create_app(scripted_assistant, rate_limit_per_minute=None)) as c:
        yield c


def _ask(client: TestClient, text: str = "a tea party under £20", **extra: Any) -> Any:
    return client.post("/v1/chat/completions", json={
        "model": "cartsmith", "messages": [{"role": "user", "content": text}], **extra})


@pytest.mark.parametrize(("extra", "named"), [
    ({"temperature": 0.7}, ["temperature=0.7"]),
    ({"top_p": 0.5, "n": 2}, ["top_p=0.5", "n=2"]),
    ({"stop": ["\n"]}, ["stop="]),
    ({"logit_bias": {"50256": -100}, "presence_penalty": 1.5}, ["presence_penalty=1.5", "logit_bias="]),
    ({"tools": [{"type": "function", "function": {"name": "f"}}]}, ["tools="]),
    ({"response_format": {"type": "json_object"}}, ["response_format="]),
    ({"max_tokens": 0}, ["max_tokens"]),
    ({"max_completion_tokens": "ten"}, ["max_completion_tokens"]),
])
def test_what_cannot_be_honoured_is_a_400_that_names_it(client: TestClient, extra: dict[str, Any],
                                                       named: list[str]) -> None:
    answer = _ask(client, **extra)
    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]["message"]
    assert all(name in message for name in named), message


def test_what_it_does_anyway_passes(client: TestClient) -> None:
    answer = _ask(client, temperature=0, top_p=1, n=1, seed=7, presence_penalty=0,
                  response_format={"type": "text"}, logprobs=False)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["finish_reason"] == "stop"


def test_max_tokens_cuts_the_answer(client: TestClient) -> None:
    whole = _ask(client).json()
    text = whole["choices"][0]["message"]["content"]
    short = _ask(client, max_tokens=5).json()
    content = short["choices"][0]["message"]["content"]
    assert short["choices"][0]["finish_reason"] == "length"
    assert text.startswith(content) and len(content.split()) == 5  # the scripted assistant has no tokenizer: words
    assert short["bundle"] == whole["bundle"] or short["bundle"] is not None  # the cards are whole
    roomy = _ask(client, max_tokens=10_000).json()
    assert roomy["choices"][0]["finish_reason"] == "stop" and roomy["choices"][0]["message"]["content"] == text


def test_a_streamed_answer_stops_at_max_tokens(client: TestClient) -> None:
    with client.stream("POST", "/v1/chat/completions", json={
            "model": "cartsmith", "stream": True, "max_tokens": 4,
            "messages": [{"role": "user", "content": "a tea party under £20"}]}) as response:
        assert response.status_code == 200
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
    assert len(text.split()) == 4 and events[-1]["choices"][0]["finish_reason"] == "length"
    usage = events[-1]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] and usage["prompt_tokens"] > 0


def test_usage_counts_what_the_model_was_fed_and_made(client: TestClient) -> None:
    usage = _ask(client).json()["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


class _Tokenizer:
    """Two characters a token: enough to see the tokenizer, not the words, decide the cut."""

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": [ord(c) for c in text[::2]]}

    def decode(self, ids: list[int]) -> str:
        return "".join(chr(i) + "·" for i in ids)


def test_a_loaded_model_counts_with_its_tokenizer() -> None:
    class Model:
        tokenizer = _Tokenizer()

    class Served:
        llm = Model()

    cut = token_counter(Served())
    assert cut_to_tokens("abcdef", 3, cut) == ("abcdef", "stop")
    assert cut_to_tokens("abcdefgh", 3, cut) == ("a·c·e·", "length")
    assert cut_to_tokens("one two three", None, cut) == ("one two three", "stop")
