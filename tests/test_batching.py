"""Continuous batching (`assistant.llm.batching`): concurrent generations share decoding steps.

Fast tests run a tiny random Llama in float64, where a batched matrix product and a single
row's differ by ~1e-16, far below any gap between two tokens' logits: there the batch must
give every generation exactly the tokens it gets alone, whatever joins or leaves around it
(rows of different lengths, shared prompt prefixes, token guides, early stops). The slow
test runs 16 conversations through the real Assistant at once and compares them with the
same conversations one by one.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from assistant.llm.batching import DecodeScheduler, Overloaded, disable_batching, enable_batching  # noqa: E402
from assistant.llm.config import BatchingConfig  # noqa: E402
from assistant.llm.generation import LLMConfig, generate, load_model  # noqa: E402
from retrieval.errors import ConfigError  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_llm import tiny_model_dir  # noqa: E402,F401  (the tiny Llama fixture)

PROMPTS = [
    "find a picnic blanket and a cooler for four people",
    "add two mugs to my cart please, and a teapot",
    "checkout remove basket gift bundle candles under 30 pounds",
    "picnic blanket",
    "a gift bundle of candles and mugs under 30 pounds for my sister who likes tea and picnics",
    "two mugs",
    "find a picnic blanket and a cooler for six people",   # shares a long prefix with the first
    "remove the teapot",
]


class OnlyLetters:
    """A token guide: pieces of lower-case letters and spaces only (or the end)."""

    def allows(self, text: str, piece: str) -> bool:
        return all(ch.islower() or ch == " " for ch in piece)

    def allows_end(self, text: str) -> bool:
        return len(text) > 3


class Gate(OnlyLetters):
    """A guide that holds the decoding loop at its first question until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def allows(self, text: str, piece: str) -> bool:
        self.entered.set()
        self.release.wait(10)
        return super().allows(text, piece)


@pytest.fixture
def tiny64(tiny_model_dir: Path):  # noqa: F811
    config = LLMConfig(model=str(tiny_model_dir), quantization="none", threads=1, max_new_tokens=24,
                       cache_dir=str(tiny_model_dir.parent / "cache"), prompt_cache=True, prompt_lookup=3)
    loaded = load_model(config)
    loaded.model.to(torch.float64)
    yield loaded
    disable_batching(loaded)


def _calls() -> list[dict]:
    """Greedy and guided generations of different lengths; some end at a stop string."""
    calls = []
    for i, prompt in enumerate(PROMPTS * 2):
        calls.append({"messages": [{"role": "user", "content": prompt}], "max_new_tokens": 6 + (i * 7) % 23,
                      "guide": OnlyLetters() if i % 3 == 1 else None,
                      "stop": [" a"] if i % 4 == 3 else None})
    return calls


def _run(loaded, call: dict) -> str:
    gen = generate(loaded, call["messages"], max_new_tokens=call["max_new_tokens"], stop=call["stop"],
                   guide=call["guide"])
    return f"{gen.text}|{gen.finish_reason}|{gen.n_new_tokens}"


def test_batched_generations_equal_each_one_alone(tiny64) -> None:
    calls = _calls()
    alone = [_run(tiny64, call) for call in calls]           # no scheduler: the caller decodes
    scheduler = enable_batching(tiny64, BatchingConfig(max_batch=4, max_queue=64))
    with ThreadPoolExecutor(len(calls)) as pool:
        together = list(pool.map(lambda call: _run(tiny64, call), calls))
    assert together == alone
    assert scheduler.steps > 0
    assert scheduler.batched_rows / scheduler.steps > 1.5, "the generations did not share steps"
    assert scheduler.load() == {"decoding": 0, "waiting": 0}
    # one at a time through the scheduler: each row alone, prompt-lookup drafts included
    assert [_run(tiny64, call) for call in calls] == alone


def test_rows_join_and_leave_a_running_batch(tiny64) -> None:
    """Late arrivals join between steps; short rows leave while long ones go on."""
    scheduler = enable_batching(tiny64, BatchingConfig(max_batch=8))
    calls = _calls()
    alone = [_run(tiny64, call) for call in calls]  # through the scheduler, one by one

    def staggered(i: int) -> str:
        time.sleep(0.003 * i)
        return _run(tiny64, calls[i])

    steps, rows = scheduler.steps, scheduler.batched_rows
    with ThreadPoolExecutor(len(calls)) as pool:
        assert list(pool.map(staggered, range(len(calls)))) == alone
    assert (scheduler.batched_rows - rows) / (scheduler.steps - steps) > 1.2, "no row joined a running batch"


def test_a_full_queue_is_refused_at_once_and_the_rest_finish(tiny64) -> None:
    scheduler = enable_batching(tiny64, BatchingConfig(max_batch=1, max_queue=1, retry_after_s=3))
    gate = Gate()
    results: dict[str, str] = {}
    first = threading.Thread(target=lambda: results.setdefault("first", generate(
        tiny64, [{"role": "user", "content": PROMPTS[0]}], max_new_tokens=4, guide=gate).text))
    first.start()
    assert gate.entered.wait(10)          # the first row holds the only place in the batch
    second = threading.Thread(target=lambda: results.setdefault("second", generate(
        tiny64, [{"role": "user", "content": PROMPTS[1]}], max_new_tokens=4).text))
    second.start()
    deadline = time.monotonic() + 10
    while scheduler.load()["waiting"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.perf_counter()
    with pytest.raises(Overloaded, match="max_queue = 1") as refused:
        generate(tiny64, [{"role": "user", "content": PROMPTS[2]}], max_new_tokens=4)
    assert time.perf_counter() - started < 1.0   # refused, not left waiting
    assert refused.value.retry_after_s == 3
    gate.release.set()
    first.join(10)
    second.join(10)
    assert set(results) == {"first", "second"}


def test_a_failing_step_fails_its_rows_and_the_loop_goes_on(tiny64, monkeypatch: pytest.MonkeyPatch) -> None:
    scheduler = enable_batching(tiny64, BatchingConfig(max_batch=4))
    expected = _run(tiny64, _calls()[0])
    original = DecodeScheduler._step_alone

    def broken(self, row):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(DecodeScheduler, "_step_alone", broken)
    with pytest.raises(Exception, match="decoding failed: out of memory"):
        _run(tiny64, _calls()[0])
    monkeypatch.setattr(DecodeScheduler, "_step_alone", original)
    assert _run(tiny64, _calls()[0]) == expected
    assert scheduler.load() == {"decoding": 0, "waiting": 0}


def test_batching_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="max_batch"):
        BatchingConfig(max_batch=0)
    with pytest.raises(ConfigError, match="unknown key"):
        BatchingConfig.from_dict({"max_batch": 4, "batch": 2})
    from assistant.dialogue.service import AssistantConfig

    with pytest.raises(ConfigError, match="max_queue"):
        AssistantConfig(max_queue=-1)


# ------------------------------------------------------------------------- the real model
MESSAGES = [
    ["I'm hosting a tea party for six friends, budget 40 pounds", "make it cheaper"],
    ["something for a cat lover", "swap the second one"],
    ["a present for my nan who loves gardening", "what's in my cart?"],
    ["picnic hamper for two please", "add it all to my cart"],
    ["a baby shower bundle, 50 max", "remove the first one"],
    ["a leaving gift for a colleague, £10 max", "thanks!"],
    ["retro kitchen things under 40 quid", "more like the second one"],
    ["thank you gift for a teacher around £12", "make it cheaper"],
    ["stuff for my kid's school bake sale", "swap the third one"],
    ["get well soon present for my grandad", "hello"],
    ["christmas stocking fillers, £5 each", "set the budget to £20"],
    ["a wedding present, about £35", "lock the first one"],
    ["candles for a cosy night in", "make it cheaper"],
    ["hen party supplies please, but no pink", "what is the second one?"],
    ["a housewarming gift under £25", "remove the second one"],
    ["birthday party for a 7 year old, about thirty quid", "add the first one to my cart"],
]


def _conversation(assistant, messages: list[str]) -> list[str]:
    session = assistant.open_session()
    return [assistant.turn(session, text).text for text in messages]


@pytest.fixture(scope="module")
def greedy_assistant(real_assistant, tmp_path_factory: pytest.TempPathFactory):
    """The real model parsing and writing with every choice greedy and no deadline: its
    replies depend on nothing but the words (the served writer's deadline and sampled
    retries would make a busy run differ from a quiet one by design). Prompt-lookup drafts
    are off: a conversation alone verifies several drafted tokens per pass, which rounds
    differently from one token per pass, so a near-tie in free text could go the other way
    for a reason that has nothing to do with batching (drafting's own check, same text with
    and without it, is bench/bench_drafting.py)."""
    import dataclasses

    from assistant.dialogue.service import Assistant, AssistantConfig
    from assistant.understand.parser import RequestParser
    from assistant.write.writer import BundleWriter

    llm = real_assistant.llm
    served = llm.config
    llm.config = dataclasses.replace(served, prompt_lookup=0)
    titles = [item.title for item in real_assistant.index.catalog.items]
    # never busy: under load the template would word answers one by one gets from the model
    config = AssistantConfig(sessions=str(tmp_path_factory.mktemp("greedy") / "sessions.sqlite3"), writer="model",
                             busy_rows=0)
    try:
        yield Assistant(config, index=real_assistant.index, llm=llm,
                        parser=RequestParser(llm, retry_temperature=0.0),
                        writer=BundleWriter(llm, other_titles=titles, deadline_s=None, retry_temperature=0.0))
    finally:
        llm.config = served


@pytest.mark.slow
def test_sixteen_conversations_at_once_get_the_replies_they_get_one_by_one(greedy_assistant) -> None:
    assistant = greedy_assistant
    assert assistant.scheduler is not None, "the served assistant batches by default"
    one_by_one = [_conversation(assistant, messages) for messages in MESSAGES]
    scheduler = assistant.scheduler
    steps, rows = scheduler.steps, scheduler.batched_rows
    with ThreadPoolExecutor(len(MESSAGES)) as pool:
        together = list(pool.map(lambda messages: _conversation(assistant, messages), MESSAGES))
    assert (scheduler.batched_rows - rows) / (scheduler.steps - steps) > 2, "the turns did not share steps"
    # each batched step computes a row bit for bit as alone (row-wise LoRA and attention;
    # tests above and docs/ARCHITECTURE.md), so every reply is the same
    different = [(a, b) for a, b in zip(one_by_one, together, strict=True) if a != b]
    assert not different, different
    for replies in together:
        assert all(reply.strip() for reply in replies)
