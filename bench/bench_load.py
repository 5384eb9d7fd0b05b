"""Load: many concurrent shopper sessions over loopback HTTP against a real uvicorn server.

The server (127.0.0.1, a free port) serves the real Assistant (NF4 + adapter: the model
parses and, by default, writes; `--writer template` words with the template). Each session has its own conversation: its own anchor item,
put in its cart with its own quantity, and its own budget in pennies no other session
uses; every session's client starts at once and sends its turns one after another.
Checked on every reply: HTTP 200, the reply is for this session, its cart holds only this
session's items, no other session's budget, anchor title or id appears in it. Checked
after the run, from the session store: every session has exactly its turns, its own
messages in order, and only its own items in its cart.

    python bench/bench_load.py [--sessions 32] [--turns 20] [--writer model|template] \\
        [--mode both|batched|unbatched] [--curve 1,4,8,16,32] [--curve-turns N] \\
        [--parse-prompt v1] [--busy-rows N] [--json bench/results/bench_load.json] [--chart docs/images/load_curve.png]

By default two runs side by side, each in a process of its own started by this one:
unbatched (one turn holds the model at a time, so latencies include the wait for it) and
batched (`assistant.llm.batching`: concurrent turns share decoding steps), then the batched
curve at 1, 4, 8, 16 and 32 sessions in the batched process (table in the JSON, chart in
docs/images/load_curve.png). Own processes because only the first thread that decodes with
two torch threads gets a team that helps (`assistant/llm/thread_team.py`): a run after
another in one process would decode in a thread that is not the first, and its RSS would
hold the other run's sessions and caches. The batched runs share one scheduler thread.
The JSON holds {"batched": R, "unbatched": R, "curve": [R, ...]} with R = {"sessions",
"turns_sent", "turns_answered", "errors", "leaks", "throughput_turns_per_s",
"latency_s": {"p50", "p95"}, "rss_mb", "writer"} (+ the full report under "detail").
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx
from load_report import each_mode_in_its_own_process, write_chart

FOLLOW_UPS = ["make it cheaper", "swap the second one", "set the budget to £{budget}", "what's in my cart?",
              "add it all to my cart", "something to go with {anchor}, max £{budget}", "remove the first one",
              "lock the first one", "more like the second one", "a gift set around {anchor} for under £{budget}",
              "compare the first and second", "thanks!", "hello", "make it cheaper",
              "I need {anchor} and a few things that go with it, £{budget} max", "swap the third one",
              "add the first one to my cart", "what is the second one?", "one more bundle with {anchor}, budget £{budget}"]


@dataclasses.dataclass(frozen=True)
class Plan:
    """One session's conversation."""

    index: int
    anchor_id: str
    anchor_title: str
    budget: float
    quantity: int
    texts: tuple[str, ...]


@dataclasses.dataclass
class Outcome:
    plan: Plan
    session_id: str = ""
    latencies: list[float] = dataclasses.field(default_factory=list)
    kinds: list[str] = dataclasses.field(default_factory=list)
    writers: list[str] = dataclasses.field(default_factory=list)  # who worded each bundle reply
    readers: list[str] = dataclasses.field(default_factory=list)  # who read each message (Reply.read_by)
    errors: list[str] = dataclasses.field(default_factory=list)
    leaks: list[str] = dataclasses.field(default_factory=list)
    own_items: set[str] = dataclasses.field(default_factory=set)
    own_words: list[str] = dataclasses.field(default_factory=list)  # titles and evidence it was shown


def make_plans(catalog_items: list[Any], sessions: int, turns: int) -> list[Plan]:
    """Distinct anchors (cheap enough for the budget, no title inside another) and budgets."""
    anchors: list[Any] = []
    for item in catalog_items:
        if item.price is None or not 0.5 <= item.price <= 5 or len(item.title) < 12:
            continue
        if any(item.title.lower() in a.title.lower() or a.title.lower() in item.title.lower() for a in anchors):
            continue
        anchors.append(item)
        if len(anchors) == sessions:
            break
    if len(anchors) < sessions:
        raise ValueError(f"the catalog has only {len(anchors)} usable anchor items for {sessions} sessions")
    plans = []
    for i, item in enumerate(anchors):
        budget = round(12.37 + 1.13 * i, 2)  # pennies no other session (and no round guess) has
        opener = f"a bundle with {item.title} under £{budget:.2f}"
        texts = [opener, *(FOLLOW_UPS[n % len(FOLLOW_UPS)] for n in range(turns - 1))]
        plans.append(Plan(i, item.item_id, item.title, budget, i + 1,
                          tuple(t.format(anchor=item.title, budget=f"{budget:.2f}") for t in texts[:turns])))
    return plans


def reply_problems(outcome: Outcome, body: dict[str, Any], others: list[Plan]) -> list[str]:
    plan = outcome.plan
    bundle = body.get("bundle") or {}
    outcome.own_items |= {item["item_id"] for item in bundle.get("items", [])}
    outcome.own_words += [item["title"] for item in bundle.get("items", [])]
    outcome.own_words += [reason for item in bundle.get("items", []) for reason in item.get("reasons", [])]
    outcome.own_words += [*(bundle.get("diff") or {}).get("removed", []), *(bundle.get("diff") or {}).get("added", [])]
    outcome.own_words += [a["title"] for a in body.get("alternatives", [])]
    own_text = "\n".join(outcome.own_words)
    problems = []
    if body.get("session_id") != outcome.session_id:
        problems.append(f"reply for session {body.get('session_id')!r}")
    cart = {line["item_id"]: line["quantity"] for line in body.get("cart", [])}
    if cart.get(plan.anchor_id, 0) < plan.quantity:
        problems.append(f"own anchor {plan.anchor_id} missing from the cart {cart}")
    problems += [f"item {i} in the cart was never this session's" for i in cart if i not in outcome.own_items]
    text = body.get("reply", "")
    budgets = {(body.get("request") or {}).get("budget"), bundle.get("budget")}
    for other in others:
        if other.index == plan.index:
            continue
        if other.budget in budgets:
            problems.append(f"session {other.index}'s budget £{other.budget:.2f}")
        if other.anchor_title in text and other.anchor_title not in own_text:
            problems.append(f"session {other.index}'s anchor {other.anchor_title!r} named")
    return problems


def run_session(base_url: str, outcome: Outcome, plans: list[Plan], start: threading.Barrier,
                timeout_s: float) -> None:
    plan = outcome.plan
    with httpx.Client(base_url=base_url, timeout=timeout_s) as http:
        try:
            outcome.session_id = http.post("/v1/sessions").json()["session_id"]
            outcome.own_items.add(plan.anchor_id)
            cart = http.post(f"/v1/sessions/{outcome.session_id}/cart",
                             json={"item_id": plan.anchor_id, "quantity": plan.quantity})
            cart.raise_for_status()
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            outcome.errors.append(f"set-up: {type(exc).__name__}: {exc}")
            start.abort()  # the others must not wait for this one
            return
        with contextlib.suppress(threading.BrokenBarrierError):  # another one failed its set-up: run anyway
            start.wait(timeout=timeout_s)
        for n, text in enumerate(plan.texts):
            began = time.perf_counter()
            try:
                response = http.post(f"/v1/sessions/{outcome.session_id}/messages", json={"text": text})
            except httpx.HTTPError as exc:
                outcome.errors.append(f"turn {n}: {type(exc).__name__}")
                continue
            outcome.latencies.append(time.perf_counter() - began)
            if response.status_code != 200:
                outcome.errors.append(f"turn {n}: HTTP {response.status_code} {response.text[:200]}")
                outcome.readers.append("error")  # one reader per latency
                continue
            body = response.json()
            outcome.kinds.append(body["kind"])
            outcome.readers.append(str(body.get("read_by")))
            if body["kind"] == "bundle":
                outcome.writers.append(str(body.get("writer")))
            outcome.leaks += [f"session {plan.index} turn {n}: {p}" for p in reply_problems(outcome, body, plans)]


def stored_problems(assistant: Any, outcome: Outcome) -> list[str]:
    """After the run, the store must hold exactly this session's conversation."""
    plan = outcome.plan
    state = assistant.state(outcome.session_id)
    problems = []
    if state.turns != len(plan.texts):
        problems.append(f"session {plan.index}: {state.turns} turns stored, {len(plan.texts)} sent")
    said = [turn["user"] for turn in state.history]
    if said != list(plan.texts)[-len(said):] or not said:
        problems.append(f"session {plan.index}: the stored messages are not its own")
    problems += [f"session {plan.index}: stored cart has {line['item_id']}" for line in state.cart
                 if line["item_id"] not in outcome.own_items]
    return problems


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """uvicorn on 127.0.0.1 and a free port, in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def run_load(assistant: Any, sessions: int, turns: int, timeout_s: float = 900.0) -> dict[str, Any]:
    """Serve `assistant`, run the sessions concurrently, check them; a JSON-able report."""
    from assistant.serve.api import create_app

    plans = make_plans(list(assistant.index.catalog.items), sessions, turns)
    outcomes = [Outcome(plan) for plan in plans]
    start = threading.Barrier(sessions)
    with serve(create_app(assistant, rate_limit_per_minute=None)) as base:
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=sessions) as pool:
            futures = [pool.submit(run_session, base, o, plans, start, timeout_s) for o in outcomes]
            for future in futures:
                future.result()
        wall = time.perf_counter() - began
    latencies = [s for o in outcomes for s in o.latencies]
    errors = [e for o in outcomes for e in o.errors]
    leaks = [leak for o in outcomes for leak in o.leaks]
    leaks += [p for o in outcomes if o.session_id for p in stored_problems(assistant, o)]
    kinds = [k for o in outcomes for k in o.kinds]
    writers = [w for o in outcomes for w in o.writers]
    readers = [r for o in outcomes for r in o.readers]
    # latency by who read the turn (answered turns only: readers and latencies pair up)
    by_reader = {r: [s for o in outcomes for s, who in zip(o.latencies, o.readers, strict=True) if who == r]
                 for r in sorted(set(readers))}
    return {
        "sessions": sessions, "turns_per_session": turns, "turns_sent": sessions * turns,
        "turns_answered": len(latencies), "errors": len(errors), "error_examples": errors[:5],
        "leaks": len(leaks), "leak_examples": leaks[:10], "wall_s": round(wall, 2),
        "throughput_turns_per_s": round(len(latencies) / wall, 3) if wall else None,
        "latency_s": {"p50": round(percentile(latencies, 0.5), 3), "p95": round(percentile(latencies, 0.95), 3),
                      "p99": round(percentile(latencies, 0.99), 3), "max": round(max(latencies, default=0.0), 3),
                      "mean": round(statistics.fmean(latencies), 3) if latencies else None},
        "kinds": {k: kinds.count(k) for k in sorted(set(kinds))},
        "bundle_writers": {w: writers.count(w) for w in sorted(set(writers))},
        "read_by": {r: readers.count(r) for r in sorted(set(readers))},
        "latency_s_by_reader": {r: {"p50": round(percentile(v, 0.5), 3), "p95": round(percentile(v, 0.95), 3)}
                                for r, v in by_reader.items() if v},
    }


def summary(report: dict[str, Any], writer: str, rss_mb: float) -> dict[str, Any]:
    """The issue's R record of one run (the full report stays under "detail")."""
    return {"sessions": report["sessions"], "turns_sent": report["turns_sent"],
            "turns_answered": report["turns_answered"], "errors": report["errors"], "leaks": report["leaks"],
            "throughput_turns_per_s": report["throughput_turns_per_s"],
            "latency_s": {"p50": report["latency_s"]["p50"], "p95": report["latency_s"]["p95"]},
            "rss_mb": round(rss_mb, 1), "writer": writer, "detail": report}


def measured_run(llm: Any, folder: str, name: str, batching: bool, writer: str, sessions: int,
                 turns: int, busy_rows: int | None = None) -> dict[str, Any]:
    """One load run on a fresh session store, with or without batched decoding."""
    from assistant.dialogue.service import Assistant, AssistantConfig
    from assistant.llm.batching import disable_batching
    from assistant.llm.loading import process_rss

    if not batching:
        disable_batching(llm)  # decode in the server's threads; batched runs share one scheduler
    settings: dict[str, Any] = {"sessions": str(Path(folder) / f"{name}.sqlite3"), "writer": writer,
                                "batching": batching}
    if busy_rows is not None:
        settings["busy_rows"] = busy_rows
    assistant = Assistant(AssistantConfig.from_dict(settings), llm=llm)
    scheduler = assistant.scheduler
    steps_before, rows_before = (scheduler.steps, scheduler.batched_rows) if scheduler is not None else (0, 0)
    peak = [process_rss()]
    done = threading.Event()

    def sample_rss() -> None:  # the peak under load, besides the RSS after it
        while not done.wait(0.25):
            peak[0] = max(peak[0], process_rss())

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    try:
        report = run_load(assistant, sessions, turns)
    finally:
        done.set()
        sampler.join()
    result = summary(report, writer, process_rss() / 2**20)
    result["rss_peak_mb"] = round(max(peak[0], process_rss()) / 2**20, 1)
    result["busy_rows"] = assistant.config.busy_rows
    if scheduler is not None:
        result["mean_rows_per_step"] = round((scheduler.batched_rows - rows_before)
                                             / max(1, scheduler.steps - steps_before), 2)
    print(f"{name}: {sessions} sessions x {turns} turns: {result['throughput_turns_per_s']} turns/s, "
          f"p50 {result['latency_s']['p50']} s, p95 {result['latency_s']['p95']} s, errors {result['errors']}, "
          f"leaks {result['leaks']}, RSS {result['rss_mb']} MB (peak {result['rss_peak_mb']} MB)", file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--writer", choices=("template", "model"), default="model")
    parser.add_argument("--mode", choices=("both", "batched", "unbatched"), default="both",
                        help="batched and unbatched side by side, each in its own process (default), or one of them")
    parser.add_argument("--curve", default="1,4,8,16,32",
                        help="session counts for the batched curve ('' for none; the --sessions run is reused)")
    parser.add_argument("--curve-turns", type=int, default=None, help="turns per session on the curve (default --turns)")
    parser.add_argument("--json", type=Path, default=Path("bench/results/bench_load.json"))
    parser.add_argument("--chart", type=Path, default=Path("docs/images/load_curve.png"))
    parser.add_argument("--parse-prompt", help="parse prompt version to serve with (default: the current one)")
    parser.add_argument("--busy-rows", type=int, default=None,
                        help="the assistant's busy_rows (default: its config's; 0: never busy, every turn decoded)")
    args = parser.parse_args(argv)
    if args.mode == "both":
        return each_mode_in_its_own_process(args, argv if argv is not None else sys.argv[1:], Path(__file__))
    import prompts

    if args.parse_prompt:
        prompts.template("parse", args.parse_prompt)  # fails early, naming the version, if it is missing
        prompts.CURRENT["parse"] = args.parse_prompt

    import tempfile

    from assistant.dialogue.service import AssistantConfig
    from assistant.llm.generation import LLMConfig, load_model
    from assistant.serve.memory import tune_malloc

    tune_malloc()  # first, as `cartsmith serve` does: before any thread allocates
    config = AssistantConfig()
    loaded_at = time.perf_counter()
    llm = load_model(LLMConfig(model=config.model, quantization=config.quantization,
                               adapter=config.adapter_path(), threads=config.threads))
    load_s = time.perf_counter() - loaded_at
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        if args.mode in ("both", "unbatched"):
            report["unbatched"] = measured_run(llm, folder, "unbatched", False, args.writer, args.sessions, args.turns,
                                              args.busy_rows)
        if args.mode in ("both", "batched"):
            report["batched"] = measured_run(llm, folder, "batched", True, args.writer, args.sessions, args.turns,
                                            args.busy_rows)
            curve = []
            for n in [int(x) for x in args.curve.split(",") if x.strip()]:
                if n == args.sessions and (args.curve_turns or args.turns) == args.turns:
                    curve.append({k: v for k, v in report["batched"].items() if k != "detail"})
                    continue
                point = measured_run(llm, folder, f"curve-{n}", True, args.writer, n, args.curve_turns or args.turns,
                                     args.busy_rows)
                curve.append({k: v for k, v in point.items() if k != "detail"})
            report["curve"] = curve
            if curve:
                write_chart(curve, report.get("unbatched"), args.chart)
    if "batched" in report and "unbatched" in report:
        ratio = report["batched"]["throughput_turns_per_s"] / report["unbatched"]["throughput_turns_per_s"]
        report["throughput_ratio_batched_over_unbatched"] = round(ratio, 2)
    report.update({"writer": args.writer, "model_load_s": round(load_s, 1), "parse_prompt": prompts.prompt_version("parse"),
                   "command": " ".join(["python bench/bench_load.py", *(argv if argv is not None else sys.argv[1:])]),
                   "machine": {"cpus": os.cpu_count(), "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
                               "python": platform.python_version()},
                   "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")})
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(text + "\n", encoding="utf-8")
    runs = [r for key in ("unbatched", "batched") if (r := report.get(key))] + report.get("curve", [])
    return 0 if all(r["errors"] == 0 and r["leaks"] == 0 for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
