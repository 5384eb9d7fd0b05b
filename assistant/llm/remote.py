"""A remote language model: the parse and write calls sent to an OpenAI-compatible server.

A shop with a GPU server (or a larger model of its own) serves the model with llama.cpp's
`llama-server`, vLLM or any server that speaks the OpenAI chat-completions API, and sets
`AssistantConfig.remote_model` to its base URL (docs/REMOTE_MODEL.md says how). The
requests go through LangChain's chat-model interface (`langchain_openai.ChatOpenAI` with
that base URL, imported only when a call is made; `pip install 'cartsmith[remote]'`).

* `RemoteChatModel.parse(messages, schema=...)` asks for a JSON object constrained by the
  server's structured-output support: `response_format={"type": "json_schema", ...}`
  (llama.cpp's server and vLLM turn the schema into a grammar); `structured_output =
  "json_object"` sends `{"type": "json_object", "schema": ...}` instead, for servers that
  only take that form (llama-cpp-python's server).
* `RemoteChatModel.write(messages)` returns plain text.

Both answer a `RemoteReply`; the product's own checks run on it exactly as on a local
reply (`RequestParser` and `BundleWriter` dispatch on the model's type). A connection
refused, a timeout or an HTTP error raises `RemoteModelError` naming the URL and what to
check, never the API key (read from the environment variable `api_key_env` names); the
parser then fails the turn's parse as for a local failure and the writer's caller words
the bundle with the template.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from retrieval.config import Config, check
from retrieval.errors import CartsmithError, ConfigError

__all__ = ["RemoteChatModel", "RemoteModelConfig", "RemoteModelError", "RemoteReply",
           "RemoteTimeoutError", "check_base_url"]

INSTALL_HINT = "install the remote extra: pip install -c constraints.txt 'cartsmith[remote]' (langchain-openai)"
# Sent as the key when no api_key_env is set: the OpenAI client insists on one, and
# llama.cpp's server and vLLM accept any when started without --api-key.
NO_KEY = "no-key"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
StructuredOutput = Literal["json_schema", "json_object"]


class RemoteModelError(CartsmithError):
    """The remote model server could not answer: not reachable, too slow, or it refused."""


class RemoteTimeoutError(RemoteModelError):
    """The remote model server did not answer within the time allowed."""


def check_base_url(url: str, label: str) -> None:
    """An http(s) URL with a host, no credentials, query or fragment (it appears in logs
    and error messages; a key goes in the environment variable api_key_env names)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ConfigError(f"{label}: not a URL: {url!r} ({exc})") from None
    check(parts.scheme in ("http", "https") and bool(parts.hostname), label,
          f"must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080/v1, got {url!r}")
    check(parts.username is None and parts.password is None, label,
          "must not hold credentials; put the API key in an environment variable and name it "
          "in api_key_env")
    check(not parts.query and not parts.fragment, label, f"must have no query or fragment, got {url!r}")
    check(port is None or port > 0, label, f"port must be positive, got {port}")


@dataclasses.dataclass(frozen=True)
class RemoteModelConfig(Config):
    """Where the remote model is served and how long to wait for it.

    base_url: the server's OpenAI API root, e.g. "http://127.0.0.1:8080/v1" (llama.cpp's
        llama-server, vLLM's `vllm serve`); "/chat/completions" is appended to it.
    model: the served model's name (vLLM: --served-model-name or a --lora-modules name;
        llama-server answers with its one model whatever is asked).
    api_key_env: name of the environment variable that holds the server's API key (the key
        itself is never stored, logged or shown); None sends a placeholder key.
    timeout_s: seconds one request may take (the writer also keeps to its own deadline).
    max_retries: re-sends of a request that failed on the way (not of a finished reply).
    structured_output: how the parse call's JSON schema is sent: "json_schema" (OpenAI's
        form: llama.cpp server, vLLM) or "json_object" ({"type": "json_object", "schema":
        ...}: llama.cpp server, llama-cpp-python's server).
    """

    section = "remote_model"

    base_url: str
    model: str = "cartsmith"
    api_key_env: str | None = None
    timeout_s: float = 30.0
    max_retries: int = 1
    structured_output: StructuredOutput = "json_schema"

    def validate(self) -> None:
        check_base_url(self.base_url, "remote_model.base_url")
        check(bool(self.model.strip()), "remote_model.model", "must name the served model")
        check(self.api_key_env is None or bool(_ENV_NAME.fullmatch(self.api_key_env)),
              "remote_model.api_key_env",
              f"must be an environment variable's name (letters, digits, _), got {self.api_key_env!r}")
        check(0 < self.timeout_s <= 600, "remote_model.timeout_s",
              f"must be between 0 and 600 seconds, got {self.timeout_s}")
        check(0 <= self.max_retries <= 10, "remote_model.max_retries",
              f"must be within 0..10, got {self.max_retries}")

    def api_key(self) -> str:
        """The key from the environment (or the placeholder): for the client only."""
        if self.api_key_env is None:
            return NO_KEY
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise ConfigError(f"remote_model.api_key_env: the environment variable {self.api_key_env} "
                              "is unset or empty; export the server's API key in it")
        return key


@dataclasses.dataclass(frozen=True)
class RemoteReply:
    """One finished remote reply. finish_reason as the server gave it ("stop", "length")."""

    text: str
    tokens: int
    seconds: float
    finish_reason: str = "stop"
    prompt_tokens: int = 0  # as the server counted them


class RemoteChatModel:
    """The parse and write calls against an OpenAI-compatible server, via LangChain.

    chat_model: a ready LangChain chat model to use instead of building `ChatOpenAI`
    (tests); it receives the same keyword arguments.
    """

    def __init__(self, config: RemoteModelConfig, *, chat_model: Any | None = None) -> None:
        self.config = config
        self._given = chat_model
        self._clients: dict[int, Any] = {}

    def __repr__(self) -> str:  # the URL and model only: never the key
        return f"RemoteChatModel({self.config.base_url!r}, model={self.config.model!r})"

    @property
    def url(self) -> str:
        return self.config.base_url

    # -- the two calls -------------------------------------------------------------------
    def parse(self, messages: Sequence[Mapping[str, str]], *, schema: Mapping[str, Any],
              max_tokens: int, temperature: float = 0.0, name: str = "request") -> RemoteReply:
        """A reply constrained to one JSON object of `schema` by the server's grammar."""
        schema = dict(schema)
        if self.config.structured_output == "json_schema":
            response_format: dict[str, Any] = {"type": "json_schema",
                                               "json_schema": {"name": name, "schema": schema}}
        else:
            response_format = {"type": "json_object", "schema": schema}
        return self._call(messages, max_tokens=max_tokens, temperature=temperature,
                          response_format=response_format, timeout_s=None)

    def write(self, messages: Sequence[Mapping[str, str]], *, max_tokens: int, temperature: float = 0.0,
              timeout_s: float | None = None) -> RemoteReply:
        """A plain-text reply. timeout_s: a tighter limit than the config's for this call
        (the writer's deadline); the request is then sent once, without retries."""
        return self._call(messages, max_tokens=max_tokens, temperature=temperature,
                          response_format=None, timeout_s=timeout_s)

    # -- plumbing ------------------------------------------------------------------------
    def _client(self, retries: int) -> Any:
        if self._given is not None:
            return self._given
        if retries not in self._clients:
            try:
                from langchain_openai import ChatOpenAI
            except ImportError as exc:
                raise RemoteModelError(f"remote model at {self.url}: langchain-openai is not installed; "
                                       f"{INSTALL_HINT}") from exc
            from pydantic import SecretStr

            self._clients[retries] = ChatOpenAI(
                base_url=self.config.base_url, model=self.config.model,
                api_key=SecretStr(self.config.api_key()), timeout=self.config.timeout_s,
                max_retries=retries, temperature=0.0, use_responses_api=False)
        return self._clients[retries]

    def _call(self, messages: Sequence[Mapping[str, str]], *, max_tokens: int, temperature: float,
              response_format: dict[str, Any] | None, timeout_s: float | None) -> RemoteReply:
        if max_tokens < 1:
            raise CartsmithError(f"max_tokens must be >= 1, got {max_tokens}")
        timeout = self.config.timeout_s if timeout_s is None else min(timeout_s, self.config.timeout_s)
        if timeout <= 0:
            raise RemoteTimeoutError(f"remote model at {self.url}: no time left for the request")
        client = self._client(self.config.max_retries if timeout_s is None else 0)
        # Sent in the body as written: ChatOpenAI would rename max_tokens (which every
        # OpenAI-compatible server takes) to max_completion_tokens (which some do not), and
        # would route a response_format through the SDK's parse helper for OpenAI's own models.
        body: dict[str, Any] = {"max_tokens": max_tokens}
        if response_format is not None:
            body["response_format"] = response_format
        started = time.perf_counter()
        try:
            message = client.invoke([dict(m) for m in messages], temperature=temperature,
                                    timeout=timeout, extra_body=body)
        except CartsmithError:
            raise
        except Exception as exc:
            raise self._error(exc, timeout) from None
        seconds = time.perf_counter() - started
        content = getattr(message, "content", "")
        text = content if isinstance(content, str) else "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
        usage = getattr(message, "usage_metadata", None) or {}
        finish = (getattr(message, "response_metadata", None) or {}).get("finish_reason") or "stop"
        return RemoteReply(text=text, tokens=int(usage.get("output_tokens", 0) or 0),
                           seconds=seconds, finish_reason=str(finish),
                           prompt_tokens=int(usage.get("input_tokens", 0) or 0))

    def _error(self, exc: Exception, timeout: float) -> RemoteModelError:
        """A domain error naming the URL and what to check (never the key)."""
        where = f"remote model at {self.url}"
        detail = self._scrub(str(exc))[:300]
        status = getattr(exc, "status_code", None)
        kind = type(exc).__name__
        if "Timeout" in kind or isinstance(exc, TimeoutError):
            return RemoteTimeoutError(f"{where}: no reply within {timeout:g} s; check the server's load "
                                      "and that it serves this model, or raise remote_model.timeout_s")
        if "Connection" in kind or isinstance(exc, ConnectionError | OSError):
            return RemoteModelError(f"{where}: cannot connect ({detail}); check that the server is running "
                                    "and listening at that host and port, and that the URL ends in /v1")
        if status in (401, 403):
            key_from = self.config.api_key_env or "(none set)"
            return RemoteModelError(f"{where}: the server refused the API key (HTTP {status}); check the "
                                    f"key in the environment variable named by api_key_env: {key_from}")
        if status == 404:
            return RemoteModelError(f"{where}: not found (HTTP 404: {detail}); check that the URL ends in "
                                    f"/v1 and that the server serves a model named {self.config.model!r} "
                                    "(GET <base_url>/models lists them)")
        if status in (400, 422):
            return RemoteModelError(f"{where}: the server rejected the request (HTTP {status}: {detail}); check "
                                    "that it supports structured output (structured_output = "
                                    f"{self.config.structured_output!r}) and that the prompt fits its context")
        if status is not None:
            return RemoteModelError(f"{where}: HTTP {status} ({detail}); check the server's log")
        return RemoteModelError(f"{where}: the request failed ({kind}: {detail}); check the server's log")

    def _scrub(self, text: str) -> str:
        if self.config.api_key_env:
            key = os.environ.get(self.config.api_key_env, "")
            if key:
                text = text.replace(key, "***")
        return text
