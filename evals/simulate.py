"""`cartsmith eval simulate`: simulated shoppers with hidden baskets, the assistant against a
no-LLM baseline, in one run.

Each shopper (`evals.shopper`) holds a real held-out basket of the benchmark's time split
(invoices from 2011-10-01 on, 4-20 catalog items) and talks to two systems with the same
policy and seed:

* the assistant, the real product (`Assistant`: tuned model parser, composer, sessions),
  reading only the structured reply (`Reply.bundle`, or `Reply.alternatives` when it found
  no match); the shopper's accepted items go into the session cart with
  `Assistant.add_to_cart`, the path the UI's and the API's "add to cart" take;
* the baseline, the best classical candidate source of the basket benchmark (the blend,
  1.25 x the best single source): each turn it answers with its top `bundle_size` items for
  the named and accepted items as seeds and the turn's hint words as text, excluding
  everything already shown.

Both use one index fitted on the training period only (invoices before the split date),
built once and cached next to the default index; the default index is fitted on every
invoice, the test period included, so it would have seen the hidden baskets.
"""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import pandas as pd

from retrieval.catalog import Catalog
from retrieval.config import Config, check
from retrieval.datasets import REPO_ROOT
from retrieval.errors import IndexStateError
from retrieval.evaluate import Split, SplitConfig, split_interactions
from retrieval.records import Query
from retrieval.shop_index import ShopIndex, ensure_index, read_manifest
from retrieval.storage import atomic_write_bytes, cache_dir

from .shopper import ShopperConfig, ShopperItem, SimulatedShopper, TextStats, Utterance
from .sim_metrics import VIOLATIONS, Transcript, TurnLog, paired_recall, report_lines, summarise

Echo = Callable[[str], None]
TRANSCRIPTS = REPO_ROOT / "reports" / "simulate" / "transcripts.jsonl"


@dataclasses.dataclass(frozen=True)
class SimConfig(Config):
    section = "simulate"
    n: int = 50
    seed: int = 13
    writer: Literal["template", "model"] = "template"
    split_date: str = "2011-10-01"
    min_items: int = 4
    max_items: int = 20  # a 200-line wholesale order is no conversation
    bundle_size: int = 4
    baseline: str = "blend"

    def validate(self) -> None:
        check(self.n >= 1, "simulate.n", "must be at least 1")
        check(self.writer in ("template", "model"), "simulate.writer", "must be 'template' or 'model'")
        check(4 <= self.min_items <= self.max_items, "simulate.min_items",
              "must be at least 4 and at most max_items")
        check(1 <= self.bundle_size <= 10, "simulate.bundle_size", "must be between 1 and 10")


# -- the held-out baskets and the training-period index -------------------------------------
@dataclasses.dataclass(frozen=True)
class HiddenBasket:
    basket_id: str
    items: tuple[ShopperItem, ...]
    user_id: str | None = None


def training_index(config: SimConfig, echo: Echo = print) -> tuple[Path, Split]:
    """The Online Retail index fitted on invoices before `split_date` (built once, cached;
    its manifest holds the data hash, so a change of data or split rebuilds it)."""
    from retrieval.datasets import load_online_retail

    catalog, interactions, _ = load_online_retail()
    split = split_interactions(catalog, interactions, SplitConfig(date=config.split_date))
    folder = cache_dir() / "index" / f"online-retail-train-{config.split_date}"
    ensure_index(catalog, split.train, folder, echo=echo)
    period = folder / "training_period.json"
    if not period.exists():
        last = split.train.frame["timestamp"].max()
        note = {"shop": "online-retail", "split": split.description, "fitted_on": f"invoices before "
                f"{config.split_date} (last {last})", "train_lines": len(split.train),
                "data_hash": (read_manifest(folder) or {}).get("data_hash")}
        atomic_write_bytes(period, (json.dumps(note, indent=2) + "\n").encode())
    return folder, split


def check_training_only(index: ShopIndex, split_date: str) -> str:
    """Refuse an index that holds any invoice of the test period; describe it otherwise."""
    stamps = index.interactions.frame["timestamp"]
    last = stamps.max()
    if pd.notna(last) and last >= pd.Timestamp(split_date):
        raise IndexStateError(f"{index.folder}: holds invoices up to {last}, on or after the split "
                              f"date {split_date}: the hidden baskets would leak")
    return (f"{index.folder} ({index.manifest.get('baskets', 0):,} training invoices up to {last}; "
            f"blend validation NDCG@10 {index.manifest.get('blend_validation_ndcg@10', 0):.3f})")


def held_out_baskets(split: Split, catalog: Catalog, config: SimConfig) -> list[HiddenBasket]:
    eligible = []
    for case in sorted(split.cases, key=lambda c: c.basket_id):
        ids = sorted({*case.query.seed_items, *case.hidden} & catalog.index_of.keys())
        if config.min_items <= len(ids) <= config.max_items:
            items = tuple(ShopperItem(i, (it := catalog.get(i)).title, it.category, it.price) for i in ids)
            eligible.append(HiddenBasket(case.basket_id, items, case.query.user_id))
    rng = random.Random(config.seed)
    picked = rng.sample(eligible, min(config.n, len(eligible)))
    return sorted(picked, key=lambda b: b.basket_id)


# -- the two systems ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Answer:
    shown: tuple[str, ...]
    total: float | None
    kind: str
    seconds: float
    request: dict[str, Any] | None = None


class System(Protocol):
    name: str

    def start(self, basket: HiddenBasket) -> None: ...
    def respond(self, utterance: Utterance, shopper: SimulatedShopper) -> Answer: ...
    def accept(self, item_ids: Sequence[str]) -> None: ...  # into the cart
    def finish(self) -> None: ...


class AssistantSystem:
    name = "assistant"

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant
        self.session = ""

    def start(self, basket: HiddenBasket) -> None:
        self.session = self.assistant.open_session(basket.user_id)

    def respond(self, utterance: Utterance, shopper: SimulatedShopper) -> Answer:
        started = time.perf_counter()
        reply = self.assistant.turn(self.session, utterance.text)
        seconds = time.perf_counter() - started
        request = reply.request.to_dict() if reply.request else None
        if reply.kind == "bundle" and reply.bundle is not None:
            return Answer(reply.bundle.item_ids, reply.bundle.total, reply.kind, seconds, request)
        if reply.kind == "no_match":  # the nearest items, listed in the reply
            return Answer(tuple(it.item_id for it in reply.alternatives), None, reply.kind, seconds, request)
        return Answer((), None, reply.kind, seconds, request)

    def accept(self, item_ids: Sequence[str]) -> None:
        for item_id in item_ids:
            self.assistant.add_to_cart(self.session, item_id)

    def finish(self) -> None:
        self.assistant.delete_session(self.session)


class BaselineSystem:
    """Top-k of one classical source; no language model, no composer."""

    def __init__(self, index: ShopIndex, method: str = "blend", k: int = 4) -> None:
        self.index, self.method, self.k = index, method, k
        self.name = "baseline"
        self.user_id: str | None = None

    def start(self, basket: HiddenBasket) -> None:
        self.user_id = basket.user_id

    def respond(self, utterance: Utterance, shopper: SimulatedShopper) -> Answer:
        query = Query(seed_items=tuple(dict.fromkeys([*shopper.named, *shopper.accepted])),
                      text=utterance.query, user_id=self.user_id, exclude=frozenset(shopper.seen))
        started = time.perf_counter()
        shown = tuple(c.item_id for c in self.index.recommend(query, self.k, method=self.method))
        seconds = time.perf_counter() - started
        prices = [self.index.catalog.get(i).price for i in shown if i in self.index.catalog]
        return Answer(shown, round(sum(p or 0.0 for p in prices), 2), "bundle" if shown else "empty", seconds)

    def accept(self, item_ids: Sequence[str]) -> None:  # the next query seeds on shopper.accepted
        return None

    def finish(self) -> None:
        return None


# -- one conversation -----------------------------------------------------------------------
def violations_of(shopper: SimulatedShopper, answer: Answer, catalog: Catalog) -> dict[str, int]:
    found = dict.fromkeys(VIOLATIONS, 0)
    known = [i for i in answer.shown if i in catalog]
    found["unknown_ids"] = len(answer.shown) - len(known)
    if shopper.budget is not None and answer.total is not None and answer.total > shopper.budget + 1e-9:
        found["over_budget"] = 1
    for item_id in known:
        if shopper.refuses(catalog.get(item_id).title):
            found["reshown_rejected" if item_id in shopper.seen else "excluded_shown"] += 1
    return found


def converse(system: System, basket: HiddenBasket, stats: TextStats, catalog: Catalog,
             shopper_config: ShopperConfig, seed: int) -> Transcript:
    shopper = SimulatedShopper(basket.basket_id, basket.items, stats, shopper_config, seed)
    system.start(basket)
    turns: list[TurnLog] = []
    try:
        utterance: Utterance | None = shopper.opening()
        while utterance is not None:
            answer = system.respond(utterance, shopper)
            violations = violations_of(shopper, answer, catalog)
            # a suggestion is an item the shopper has neither seen nor named (a bundle around a
            # named item shows that item too; it is no suggestion)
            new = sum(1 for i in dict.fromkeys(answer.shown) if i not in shopper.seen and i not in shopper.named)
            again = sum(1 for i in dict.fromkeys(answer.shown) if i in shopper.accepted)
            accepted = shopper.react(answer.shown)
            if accepted:
                system.accept(accepted)
            turns.append(TurnLog(utterance.turn, utterance.text, answer.kind, answer.shown, new, accepted,
                                 again, answer.total, round(answer.seconds, 4), violations, answer.request))
            titles = {i: catalog.get(i).title for i in shopper.rejected if i in catalog}
            utterance = shopper.next_utterance(titles)
    finally:
        system.finish()
    return Transcript(system.name, basket.basket_id, basket.user_id, shopper.opening_kind,
                      tuple(shopper.named), shopper.targets, shopper.budget, turns)


# -- the command ----------------------------------------------------------------------------
def model_setup(assistant: Any, echo: Echo) -> dict[str, Any]:
    """Which parse prompt the assistant renders and which one its adapter was trained on: a
    mismatch makes the parser leave most requests empty, so the run says so up front."""
    from prompts import prompt_version

    adapter = assistant.config.adapter_path()
    manifest = Path(adapter) / "cartsmith-adapter.json" if adapter else None
    trained = json.loads(manifest.read_text("utf-8")).get("prompt_version") if manifest and manifest.exists() else None
    current = prompt_version("parse")
    if trained and current not in str(trained):
        echo(f"warning: the parser renders {current}, but the adapter {adapter} was trained on {trained}")
    return {"parse_prompt": current, "adapter": adapter, "adapter_trained_on": trained,
            "code": code_state()}


def code_state() -> str | None:
    """The commit measured, and how many files differed from it (read-only git calls)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}" + (f" + {len(dirty)} modified files" if dirty else "")


@dataclasses.dataclass
class SimResult:
    results: dict[str, Any]  # {"assistant": R, "baseline": R}
    transcripts: dict[str, list[Transcript]]


def run(config: SimConfig, echo: Echo = print, assistant: Any = None) -> SimResult:
    folder, split = training_index(config, echo)
    index = assistant.index if assistant is not None else ShopIndex.load(folder)
    described = check_training_only(index, config.split_date)
    baskets = held_out_baskets(split, index.catalog, config)
    shopper_config = ShopperConfig(bundle_size=config.bundle_size)
    stats = TextStats.from_catalog(index.catalog, shopper_config)
    with tempfile.TemporaryDirectory(prefix="cartsmith-simulate-") as tmp:
        if assistant is None:
            from assistant.dialogue.service import Assistant, AssistantConfig

            assistant = Assistant(AssistantConfig(sessions=str(Path(tmp) / "sessions.sqlite3"),
                                                  writer=config.writer, bundle_size=config.bundle_size),
                                  index=index)
        model = model_setup(assistant, echo)
        systems: list[System] = [AssistantSystem(assistant),
                                 BaselineSystem(index, config.baseline, config.bundle_size)]
        echo(f"{len(baskets)} simulated shoppers (held-out invoices from {config.split_date}, "
             f"{config.min_items}-{config.max_items} items, seed {config.seed}); index {described}")
        transcripts: dict[str, list[Transcript]] = {s.name: [] for s in systems}
        for n, basket in enumerate(baskets, 1):
            for system in systems:
                transcripts[system.name].append(
                    converse(system, basket, stats, index.catalog, shopper_config, config.seed))
            if n % 10 == 0 or n == len(baskets):
                echo(f"  {n}/{len(baskets)} shoppers")
    setup = {"shoppers": len(baskets), "seed": config.seed, "writer": config.writer,
             "index": str(folder), "fitted_on": f"invoices before {config.split_date}",
             "baskets": f"held-out invoices from {config.split_date} with {config.min_items}-"
                        f"{config.max_items} catalog items",
             "baseline": f"{config.baseline} top-{config.bundle_size} (seeds: named + accepted items; "
                         "text: the turn's hints; excludes everything shown)",
             "cart": "Assistant.add_to_cart (the UI/API add-to-cart path)", "model": model}
    results = {name: {**summarise(ts, shopper_config.max_turns), "setup": setup}
               for name, ts in transcripts.items()}
    results["assistant"]["recall_vs_baseline"] = paired_recall(transcripts["assistant"], transcripts["baseline"])
    return SimResult(results, transcripts)


def write_outputs(results: dict[str, Any], transcripts: dict[str, list[Transcript]], json_out: Path | None,
                  transcripts_out: Path | None = TRANSCRIPTS) -> None:
    """`json_out`: {"assistant": R, "baseline": R}; `transcripts_out`: one JSON line per conversation."""
    if transcripts_out is not None:
        transcripts_out.parent.mkdir(parents=True, exist_ok=True)
        transcripts_out.write_text("".join(json.dumps(t.to_dict()) + "\n" for ts in transcripts.values()
                                           for t in ts), encoding="utf-8")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def cli_main(args: Any) -> int:
    config = SimConfig(n=args.n, seed=args.seed, writer=args.writer)
    outcome = run(config)
    for line in report_lines(outcome.results):
        print(line)
    json_out = Path(args.json_out) if args.json_out is not None else None
    write_outputs(outcome.results, outcome.transcripts, json_out)
    print(f"transcripts: {TRANSCRIPTS}" + (f"; results: {json_out}" if json_out else ""))
    return 0
