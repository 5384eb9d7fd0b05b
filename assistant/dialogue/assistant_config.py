"""`AssistantConfig`: how the assistant is served (the shop index, the session database, the
model, its adapter and intent reader, batching, limits); every field validated, unknown keys
refused. `assistant.dialogue.service` builds the `Assistant` from it."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any, Literal

from assistant.compose.needs_book import NeedsBook, shipped_needs_path
from assistant.dialogue.session import DEFAULT_IDLE_EXPIRY_S, default_sessions_path
from assistant.llm.config import BatchingConfig
from assistant.llm.loading import default_threads
from assistant.llm.model_files import ADAPTER_MANIFEST
from assistant.llm.remote import RemoteModelConfig, check_base_url
from assistant.understand.intent_reader import SHIPPED_INTENT_READER, SHORTLIST_MASS, IntentReader
from assistant.understand.words_first import BUSY_WORDS_INTENTS, WORDS_INTENTS, WordsFirstConfig
from retrieval.config import Config, check
from retrieval.datasets import REPO_ROOT
from retrieval.errors import ConfigError
from retrieval.shop_index import default_index_dir

SHIPPED_ADAPTER = REPO_ROOT / "finetune" / "adapters" / "cartsmith-smollm2-lora"
SHIPPED = "shipped"
NO_ADAPTER = "none"


@dataclasses.dataclass(frozen=True)
class AssistantConfig(Config):
    """How the assistant is served: the shop index, the session database, the model.

    adapter: "shipped" (the tuned LoRA adapter in finetune/adapters/cartsmith-smollm2-lora;
        its absence is an error, never a silent fall-back to the untuned model), "none" to
        serve the bare base model on purpose (None from Python means the same), or the
        folder of another adapter written by `cartsmith finetune`.
    needs: the needs book (occasions, persons, themes -> the kinds of things that serve
        them; docs/NEEDS.md): "shipped" (data/needs/gift_and_home.yaml, written for a gift
        and homeware shop), a path to the shop's own file, or "none" (every need matched by
        its words against item texts only).
    remote_model: the base URL of an OpenAI-compatible server that serves the model
        (llama.cpp's llama-server or vLLM with the same GGUF and adapter, or a shop's
        own model; e.g. "http://127.0.0.1:8080/v1"; docs/REMOTE_MODEL.md): the parse and
        write calls go there and the local model is not loaded. None (the default) loads
        `model` in this process. Every remote reply passes the same checks and guards.
    remote_model_name: the model name sent to that server (vLLM: the served or LoRA name).
    remote_api_key_env: the environment variable holding that server's API key, if any.
    remote_structured_output: how the parse call's JSON schema is sent: "json_schema"
        (llama.cpp's llama-server, vLLM) or "json_object" (llama-cpp-python's server).
    intent_reader: "shipped" (finetune/adapters/cartsmith-intent-reader), a folder written by
        `cartsmith finetune --intent-reader-only`, or "none": the model's intent is then
        chosen from all intents. The reader shortlists the intents that hold
        `intent_shortlist_mass` of its probability (assistant/understand/intent_reader.py).
    """

    index: str | None = None
    sessions: str | None = None
    model: str = "packaged:SmolLM2-135M-Instruct"
    adapter: str | None = SHIPPED
    quantization: Literal["nf4", "none"] = "nf4"
    # torch threads for the model: the cores this process may use, at most 4 (a 135M model
    # gains nothing past that). On 2 quiet cores a decoding step is 1.22 x faster with 2
    # threads than with 1 (bench/bench_serving.py). On a machine shared with other busy
    # jobs use 1: OpenMP threads stall when the cores are oversubscribed.
    threads: int = dataclasses.field(default_factory=default_threads)
    writer: Literal["model", "template"] = "model"
    bundle_size: int = 4
    # Seconds the model may spend writing one answer before the template answers instead
    # (the turn target is p95 <= 4 s; parsing takes up to about 1 s of it).
    write_deadline_s: float = 2.5
    # Continuous batching (assistant/llm/batching.py): concurrent conversations share the
    # model's decoding steps, up to max_batch replies at once and max_queue waiting (one
    # more gets a 503 with Retry-After). False: one turn holds the model at a time.
    batching: bool = True
    max_batch: int = 8
    max_queue: int = 64
    # How the shopper's words find items (retrieval/vector_search.py): "auto" asks the index's
    # Chroma server when it was built with one (`cartsmith index --chroma-server`), else
    # searches in process; "exact" or "chroma" force one.
    vector_search: Literal["auto", "exact", "chroma"] = "auto"
    max_input_chars: int = 2_000
    max_turns_per_session: int = 200
    # A session with no turn for this long expires and is purged (the shopper's redacted
    # words, bundle and cart go with it); 0 keeps sessions until they are deleted.
    session_idle_minutes: float = DEFAULT_IDLE_EXPIRY_S / 60
    # the shop's currency (ISO 4217), written on every order a checkout hands over
    currency: str = "GBP"
    needs: str = SHIPPED
    remote_model: str | None = None
    remote_model_name: str = "cartsmith"
    remote_api_key_env: str | None = None
    remote_structured_output: Literal["json_schema", "json_object"] = "json_schema"
    intent_reader: str = SHIPPED
    intent_shortlist_mass: float = SHORTLIST_MASS
    # Turns read from the shopper's words without the model (assistant/understand/words_first.py):
    # turns whose intent shortlist is one of these intents always, one of the busy ones too
    # while the model has at least busy_rows generations decoding or waiting (then bundle
    # answers are worded by the template as well); busy_rows = 0: never busy.
    words_first_intents: tuple[str, ...] = WORDS_INTENTS
    busy_words_intents: tuple[str, ...] = BUSY_WORDS_INTENTS
    busy_rows: int = 4
    # while busy, a shortlist of several intents, each one the words read while busy, is
    # read with its most likely intent (False: such a turn always waits for the model)
    busy_words_shortlists: bool = True

    def validate(self) -> None:
        check(1 <= self.bundle_size <= 10, "assistant.bundle_size", "must be between 1 and 10")
        check(self.max_input_chars >= 16, "assistant.max_input_chars", "must be at least 16")
        check(self.max_turns_per_session >= 1, "assistant.max_turns_per_session", "must be at least 1")
        check(isinstance(self.currency, str) and re.fullmatch(r"[A-Z]{3}", self.currency) is not None,
              "assistant.currency", f"must be a three-letter ISO 4217 code such as GBP or EUR, got {self.currency!r}")
        check(self.session_idle_minutes >= 0 and math.isfinite(self.session_idle_minutes),
              "assistant.session_idle_minutes", "must be 0 (never expire) or a positive number of minutes")
        check(self.threads >= 1, "assistant.threads", "must be at least 1")
        check(self.write_deadline_s > 0, "assistant.write_deadline_s", "must be a positive number of seconds")
        self.batching_config()  # its checks name the range
        self.words_first_config()
        check(self.vector_search in ("auto", "exact", "chroma"), "assistant.vector_search",
              f"must be 'auto', 'exact' or 'chroma', got {self.vector_search!r}")
        if self.remote_model is not None:
            self.remote_config()  # its checks name the assistant's fields
        check(0 < self.intent_shortlist_mass <= 1, "assistant.intent_shortlist_mass",
              f"must be above 0 and at most 1, got {self.intent_shortlist_mass!r}")

    def remote_config(self) -> RemoteModelConfig | None:
        """The remote model's config when `remote_model` is set, else None."""
        if self.remote_model is None:
            return None
        check_base_url(self.remote_model, "assistant.remote_model")
        try:
            return RemoteModelConfig(base_url=self.remote_model, model=self.remote_model_name,
                                     api_key_env=self.remote_api_key_env,
                                     structured_output=self.remote_structured_output)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("remote_model.model", "assistant.remote_model_name")
                              .replace("remote_model.api_key_env", "assistant.remote_api_key_env")) from None

    def index_path(self) -> Path:
        return Path(self.index) if self.index else default_index_dir("online-retail")

    def idle_expiry_s(self) -> float | None:
        return self.session_idle_minutes * 60 if self.session_idle_minutes > 0 else None

    def sessions_path(self) -> Path:
        return Path(self.sessions) if self.sessions else default_sessions_path()

    def needs_book(self) -> NeedsBook | None:
        """The needs book to compose with (None for "none"); a bad file is an error that
        names the file, the need and the field."""
        if self.needs == NO_ADAPTER:
            return None
        return NeedsBook.load(shipped_needs_path() if self.needs == SHIPPED else self.needs)

    def load_intent_reader(self, embedder: Any) -> IntentReader | None:
        """The intent reader over the shop index's embedder, or None for "none"."""
        if self.intent_reader == NO_ADAPTER:
            return None
        folder = SHIPPED_INTENT_READER if self.intent_reader == SHIPPED else Path(self.intent_reader)
        return IntentReader.load(folder, embedder.encode, embedder.model_id)

    def words_first_config(self) -> WordsFirstConfig:
        try:
            return WordsFirstConfig(intents=tuple(self.words_first_intents),
                                    busy_intents=tuple(self.busy_words_intents), busy_rows=self.busy_rows,
                                    busy_shortlists=self.busy_words_shortlists)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("words_first.intents", "assistant.words_first_intents")
                              .replace("words_first.busy_intents", "assistant.busy_words_intents")
                              .replace("words_first.busy_rows", "assistant.busy_rows")) from None

    def batching_config(self) -> BatchingConfig:
        return BatchingConfig(max_batch=self.max_batch, max_queue=self.max_queue)

    def adapter_path(self) -> str | None:
        """The adapter folder to serve, or None for the bare base model (adapter "none")."""
        if self.adapter is None or self.adapter == NO_ADAPTER:
            return None
        if self.adapter == SHIPPED:
            if not (SHIPPED_ADAPTER / ADAPTER_MANIFEST).exists():
                raise ConfigError(
                    f"assistant.adapter: the shipped adapter is missing (no {ADAPTER_MANIFEST} in "
                    f"{SHIPPED_ADAPTER}); restore it (`cartsmith finetune` writes it), or set "
                    f"adapter = \"{NO_ADAPTER}\" to serve the untuned base model on purpose")
            return str(SHIPPED_ADAPTER)
        if self.adapter and not Path(self.adapter).exists():
            raise ConfigError(f"assistant.adapter: no adapter folder at {self.adapter}")
        return self.adapter
