"""The remote model (assistant/llm/remote.py): its config, the request's JSON schema, the
request/response plumbing against a test double of an OpenAI-compatible server (a fake,
named as such: it checks what is sent and how replies and failures are handled, nothing
about a model), and, when one is installed, a real llama.cpp server end to end."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from assistant.dialogue.service import Assistant, AssistantConfig
from assistant.llm.remote import (
    RemoteChatModel,
    RemoteModelConfig,
    RemoteModelError,
    RemoteTimeoutError,
)
from assistant.records import INTENTS, Bundle, BundleItem, Request
from assistant.understand.parser import RequestParser, remote_guide_error, request_json_schema
from assistant.write.writer import BundleWriter, is_grounded, replay_checks
from retrieval.errors import ConfigError
from retrieval.records import Evidence, Item

ROOT = Path(__file__).resolve().parent.parent
jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("langchain_openai", reason="the remote extra is not installed (pip install 'cartsmith[remote]')")


# --------------------------------------------------------------------------- config


def test_config_refuses_unknown_keys_and_bad_values():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) modle"):
        RemoteModelConfig.from_dict({"base_url": "http://127.0.0.1:8080/v1", "modle": "x"})
    for url in ("127.0.0.1:8080/v1", "ftp://host/v1", "http:///v1", "", "http://user:secret@host/v1",
                "http://host/v1?key=abc", "http://host:port/v1"):
        with pytest.raises(ConfigError, match=r"remote_model\.base_url"):
            RemoteModelConfig(base_url=url)
    with pytest.raises(ConfigError, match="timeout_s"):
        RemoteModelConfig(base_url="http://h/v1", timeout_s=0)
    with pytest.raises(ConfigError, match="max_retries"):
        RemoteModelConfig(base_url="http://h/v1", max_retries=-1)
    with pytest.raises(ConfigError, match="api_key_env"):
        RemoteModelConfig(base_url="http://h/v1", api_key_env="MY KEY")
    with pytest.raises(ConfigError, match="structured_output"):
        RemoteModelConfig(base_url="http://h/v1", structured_output="grammar")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="timeout_s: expected float"):
        RemoteModelConfig.from_dict({"base_url": "http://h/v1", "timeout_s": "30"})
    ok = RemoteModelConfig.from_dict({"base_url": "https://gpu.shop.example:8443/v1", "timeout_s": 5})
    assert ok.timeout_s == 5.0 and ok.model == "cartsmith"


def test_assistant_config_names_its_own_remote_fields():
    with pytest.raises(ConfigError, match=r"assistant\.remote_model:"):
        AssistantConfig(remote_model="localhost:8080")
    with pytest.raises(ConfigError, match=r"assistant\.remote_model_name"):
        AssistantConfig(remote_model="http://127.0.0.1:8080/v1", remote_model_name=" ")
    with pytest.raises(ConfigError, match=r"assistant\.remote_api_key_env"):
        AssistantConfig(remote_model="http://127.0.0.1:8080/v1", remote_api_key_env="1X")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) remote_url"):
        AssistantConfig.from_dict({"remote_url": "http://127.0.0.1:8080/v1"})
    config = AssistantConfig.from_dict({"remote_model": "http://127.0.0.1:8080/v1", "remote_model_name": "tuned"})
    remote = config.remote_config()
    assert remote is not None and remote.base_url == "http://127.0.0.1:8080/v1" and remote.model == "tuned"
    assert AssistantConfig().remote_config() is None
    with pytest.raises(ConfigError, match="remote_structured_output"):
        AssistantConfig(remote_model="http://h/v1", remote_structured_output="gbnf")  # type: ignore[arg-type]


def test_cli_flags_reach_the_assistant_config(monkeypatch):
    import assistant.dialogue.service as service
    from assistant.serve.chat_cli import build_assistant
    from assistant.serve.cli import build_parser

    built: list[AssistantConfig] = []
    monkeypatch.setattr(service, "Assistant", lambda config: built.append(config))
    args = build_parser().parse_args(["serve", "--remote-model", "http://10.0.0.5:8000/v1", "--remote-model-name",
                                      "tuned", "--remote-api-key-env", "SHOP_LLM_KEY",
                                      "--remote-structured-output", "json_object"])
    build_assistant(args)
    remote = built[0].remote_config()
    assert remote == RemoteModelConfig(base_url="http://10.0.0.5:8000/v1", model="tuned", api_key_env="SHOP_LLM_KEY",
                                       structured_output="json_object")
    build_assistant(build_parser().parse_args(["chat"]))
    assert built[1].remote_model is None


def test_api_key_comes_from_the_environment_and_is_never_shown(monkeypatch):
    config = RemoteModelConfig(base_url="http://127.0.0.1:9/v1", api_key_env="CARTSMITH_TEST_REMOTE_KEY")
    monkeypatch.delenv("CARTSMITH_TEST_REMOTE_KEY", raising=False)
    with pytest.raises(ConfigError, match="CARTSMITH_TEST_REMOTE_KEY is unset"):
        config.api_key()
    monkeypatch.setenv("CARTSMITH_TEST_REMOTE_KEY", "sk-very-secret")
    assert config.api_key() == "sk-very-secret"
    model = RemoteChatModel(config)
    assert "sk-very-secret" not in repr(model) + repr(config) + str(config.to_dict())


# --------------------------------------------------------------------------- schema


def _tuned_parses() -> list[dict[str, Any]]:
    """Requests the tuned parser really produced (bench/results/eval_model.json)."""
    report = json.loads((ROOT / "bench" / "results" / "eval_model.json").read_text())
    return [json.loads(ex["raw"]) for ex in report["examples"]
            if ex.get("kind") == "parse" and ex.get("variant") == "tuned" and ex.get("got")]


def test_schema_accepts_real_parsed_requests_and_refuses_malformed_ones():
    schema = request_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    parses = _tuned_parses()
    assert len(parses) >= 10
    for data in parses:
        validator.validate(data)
        Request.from_dict(data)  # and they are requests
    full = Request("bundle", need="tea party", items=("teapot",), budget=25.5, exclude=("pink",), size=4,
                   party_size=6, target="2")
    validator.validate(full.to_dict())
    assert list(schema["properties"]) == list(full.to_dict())  # the order the adapter was trained on
    assert schema["properties"]["intent"]["enum"] == list(INTENTS)
    for bad in ({"need": "x"}, {"intent": "dance"}, {"intent": "bundle", "colour": "red"},
                {"intent": "bundle", "size": 0}, {"intent": "bundle", "budget": 0},
                {"intent": "bundle", "items": ["a"] * 9}, {"intent": "bundle", "need": "x" * 121}):
        assert not validator.is_valid(bad), bad


def test_remote_parse_goes_through_the_request_guide():
    message = "a gift for my tea loving nan under £30"
    assert remote_guide_error('{\n  "intent": "bundle",\n  "need": "tea loving nan",\n  "budget": 30\n}',
                              message) is None
    assert remote_guide_error('{"budget": 30.0, "intent": "bundle"}', message) is None  # any key order
    assert "not copied" in (remote_guide_error('{"intent": "bundle", "need": "a present for a tea lover"}',
                                               message) or "")
    assert remote_guide_error("sorry, I cannot", message) is not None


# --------------------------------------------------------------------------- test double server


class FakeOpenAIServer:
    """A TEST DOUBLE of an OpenAI-compatible server (plumbing only): it records each
    request and answers from `script`, a list of (status, content | error body, delay_s)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, str, float]] = []
        self.default: tuple[int, str, float] = (200, "{}", 0.0)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}})
                status, content, delay = fake.script.pop(0) if fake.script else fake.default
                time.sleep(delay)
                if status == 200:
                    payload = {"id": "fake", "object": "chat.completion", "created": 0, "model": body["model"],
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": content}}],
                               "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57}}
                else:
                    payload = {"error": {"message": content, "type": "error", "code": status}}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting (the timeout tests)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer()
    yield server
    server.close()


def _remote(url: str, **changes: Any) -> RemoteChatModel:
    return RemoteChatModel(RemoteModelConfig(base_url=url, model="cartsmith-test", timeout_s=5, max_retries=0,
                                             **changes))


def _closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_parse_call_sends_the_schema_as_structured_output(fake_server, monkeypatch):
    monkeypatch.setenv("CARTSMITH_TEST_REMOTE_KEY", "sk-abc")
    fake_server.script = [(200, '{"intent": "bundle", "need": "tea party"}', 0.0)]
    remote = _remote(fake_server.url, api_key_env="CARTSMITH_TEST_REMOTE_KEY")
    result = RequestParser(remote).parse("things for a tea party")
    assert result.request == Request("bundle", need="tea party") and result.tokens == 7
    sent = fake_server.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer sk-abc"
    body = sent["body"]
    assert body["model"] == "cartsmith-test" and body["temperature"] == 0.0 and body["max_tokens"] == 56
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "request", "schema": request_json_schema()}}
    assert body["messages"][0]["role"] == "user" and "things for a tea party" in body["messages"][0]["content"]

    fake_server.script = [(200, '{"intent": "smalltalk"}', 0.0)]
    RequestParser(_remote(fake_server.url, structured_output="json_object")).parse("hello")
    assert fake_server.requests[-1]["body"]["response_format"] == {"type": "json_object",
                                                                  "schema": request_json_schema()}


def test_parse_retries_a_reply_the_guide_refuses_then_fails_like_a_local_parse(fake_server):
    fake_server.script = [(200, '{"intent": "bundle", "need": "garden party"}', 0.0),
                          (200, '{"intent": "bundle", "need": "tea party"}', 0.0)]
    result = RequestParser(_remote(fake_server.url)).parse("things for a tea party")
    assert result.request == Request("bundle", need="tea party") and result.attempts == 2
    assert [r["body"]["temperature"] for r in fake_server.requests] == [0.0, 0.3]
    fake_server.script = [(200, '{"intent": "bundle", "need": "garden party"}', 0.0)] * 2
    failed = RequestParser(_remote(fake_server.url)).parse("things for a tea party")
    assert failed.request is None and "not copied" in (failed.error or "")


def test_unreachable_or_failing_server_fails_the_parse_with_the_url(fake_server):
    url = _closed_port_url()
    result = RequestParser(_remote(url)).parse("a teapot please")
    assert result.request is None and url in (result.error or "") and "running" in (result.error or "")
    assert result.attempts == 1  # a dead server is not asked twice
    for status, expect in ((500, "HTTP 500"), (404, "cartsmith-test"), (401, "API key"), (400, "structured output")):
        fake_server.script = [(status, "boom", 0.0)]
        with pytest.raises(RemoteModelError, match=expect) as caught:
            _remote(fake_server.url).write([{"role": "user", "content": "hi"}], max_tokens=8)
        assert fake_server.url in str(caught.value)
    fake_server.script = [(200, "{}", 2.0)]
    slow = RemoteChatModel(RemoteModelConfig(base_url=fake_server.url, timeout_s=0.5, max_retries=0))
    with pytest.raises(RemoteTimeoutError, match=r"no reply within 0\.5 s"):
        slow.write([{"role": "user", "content": "hi"}], max_tokens=8)


def _bundle() -> Bundle:
    anchor = BundleItem(Item("A", "Lunch Bag Red Retrospot", 1.65), (Evidence("anchor", "you asked for this"),),
                        role="anchor")
    apple = BundleItem(Item("B", "Lunch Bag Apple Design", 1.65), (Evidence(
        "association_rule", "bought together with Lunch Bag Red Retrospot in 441 of 1,036 baskets that had it "
        "(confidence 43%, lift 5.1)", {"support": 441.0, "seed_baskets": 1036.0}),))
    mug = BundleItem(Item("C", "Ceramic Strawberry Design Mug", 1.25), (Evidence(
        "co_purchase", "often in the same basket as Lunch Bag Red Retrospot (87 baskets, similarity 0.21)",
        {"co_baskets": 87.0}),))
    return Bundle((anchor, apple, mug), need="a picnic")


GOOD = ("Here are a few ideas for a picnic:\n[1] your pick, the heart of the bundle.\n"
        "[2] a favourite pairing: 441 of 1,036 shoppers who bought your pick took this too.\n"
        "[3] often in the same basket as your pick (87 baskets).")


def test_remote_writer_reply_passes_the_same_checks(fake_server):
    fake_server.script = [(200, GOOD, 0.0)]
    written = BundleWriter(_remote(fake_server.url), other_titles=["Jumbo Bag Red Retrospot"]).write(_bundle(), "a picnic")
    assert written.writer == "model" and written.grounded and written.attempts == 1
    assert "Lunch Bag Apple Design (£1.65)" in written.text
    # an invented price, then a number the evidence lacks: both refused; the second reply's
    # good lines stay and the template words the faulty one (`mend`)
    fake_server.script = [(200, GOOD.replace("the heart", "only £3.99, the heart"), 0.0),
                          (200, GOOD.replace("(87 baskets)", "(90 baskets)"), 0.0)]
    written = BundleWriter(_remote(fake_server.url)).write(_bundle(), "a picnic")
    assert written.writer == "model" and written.mended == 1 and written.attempts == 2
    assert "90 baskets" not in written.text and "441 of 1,036 shoppers" in written.text
    assert [r["body"]["temperature"] for r in fake_server.requests[1:]] == [0.0, 0.3]
    assert "response_format" not in fake_server.requests[-1]["body"]


def test_replay_checks_cut_where_local_decoding_would_stop():
    lines = ["Opening:\n", "[1] fine.\n", "[2] bad.\n", "[3] never read.\n"]
    assert replay_checks("".join(lines), lambda text: "bad" in text, None) == "".join(lines[:3])

    class RefuseSecond:
        def allows(self, text: str, piece: str) -> bool:
            return not piece.startswith("[2]")

    assert replay_checks("".join(lines), lambda text: False, RefuseSecond()) == "".join(lines[:2])


def test_remote_writer_deadline_gives_the_template_not_an_error(fake_server):
    fake_server.default = (200, GOOD, 1.5)
    started = time.perf_counter()
    written = BundleWriter(_remote(fake_server.url), deadline_s=0.4).write(_bundle(), "a picnic")
    assert written.writer == "template" and time.perf_counter() - started < 1.4
    with pytest.raises(RemoteModelError, match="cannot connect"):  # the dialogue's fallback catches it
        BundleWriter(_remote(_closed_port_url())).write(_bundle(), "a picnic")


def _assistant(shop_index: Any, tmp_path: Path, url: str) -> Assistant:
    config = AssistantConfig(sessions=str(tmp_path / "s.sqlite3"), remote_model=url,
                             remote_model_name="cartsmith-test", needs="none")
    return Assistant(config, index=shop_index)


def test_assistant_with_a_remote_model_loads_none_and_falls_back_when_it_is_down(shop_index, tmp_path):
    assistant = _assistant(shop_index, tmp_path, _closed_port_url())
    assert isinstance(assistant.llm, RemoteChatModel)  # the local model was not loaded
    reply = assistant.turn(assistant.open_session(), "a teapot and some mugs for a tea party")
    assert reply.kind in ("bundle", "clarify")  # the unparseable-turn path served it
    if reply.kind == "bundle":
        assert reply.writer == "template"


def test_assistant_turn_through_a_remote_model(shop_index, tmp_path, fake_server):
    fake_server.script = [(200, '{"intent": "bundle", "need": "tea party"}', 0.0)]
    fake_server.default = (200, "Nothing useful", 0.0)  # the writer's reply: refused, the template answers
    assistant = _assistant(shop_index, tmp_path, fake_server.url)
    reply = assistant.turn(assistant.open_session(), "things for a tea party")
    assert reply.request is not None and reply.request.need == "tea party"
    assert reply.kind == "bundle" and reply.writer == "template"
    assert fake_server.requests[0]["body"]["response_format"]["type"] == "json_schema"
    assert len(fake_server.requests) == 3  # a parse, then the writer's two tries


# --------------------------------------------------------------------------- real server

ORDINARY = ("a gift for my tea loving nan under £30", "something for a picnic for four people",
            "hi there!", "make it cheaper")


@pytest.fixture(scope="module")
def real_server() -> Iterator[Any]:
    import remote_server

    kind = remote_server.find_server()
    if kind is None:
        pytest.skip(remote_server.INSTALL)
    with remote_server.openai_server(kind, lora=remote_server.lora_gguf(), threads=1) as server:
        yield server


@pytest.mark.slow
def test_real_llama_cpp_server_parses_and_writes_through_the_checks(real_server):
    remote = RemoteChatModel(RemoteModelConfig(base_url=real_server.url, timeout_s=120, max_retries=0,
                                               structured_output=real_server.kind.structured_output))
    validator = jsonschema.Draft202012Validator(request_json_schema())
    parser = RequestParser(remote)
    for message in ORDINARY:
        reply = remote.parse([{"role": "user", "content": message}], schema=request_json_schema(),
                             max_tokens=64)
        validator.validate(json.loads(reply.text))  # the server's grammar kept the schema
        result = parser.parse(message)
        assert result.request is not None or result.error, message
    bundle = _bundle()
    written = BundleWriter(remote).write(bundle, "a picnic")
    # the model's words passed the same checks as a local reply's, or the template answered
    assert written.grounded and written.reasons_ok and written.writer in ("model", "template")
    assert is_grounded(written.text, bundle, ())


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback requests go straight to the server even where a proxy is configured."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost," + os.environ.get("NO_PROXY", ""))

