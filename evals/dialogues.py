"""Scripted dialogue evaluations: `cartsmith eval dialogues [PATH...] [--report DIR] [--json OUT]`.

A script (YAML, see docs/EVALS.md and `evals.dialogue_format`) names a catalog and a list of turns: what the shopper
says (or a restart of the assistant, or a cart button press), each with expectations that
code checks (`evals.expectations`). The runner drives the real `Assistant` (the tuned
parser, the composer, the writer chosen with --writer, SQLite sessions) one script after
another, records every turn and every expectation's outcome, and never stops at a failing
turn: a rejected input is an outcome, and an unexpected exception is recorded as one too.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from assistant.records import Bundle
from assistant.safety.guard import InputRejected
from retrieval.errors import CartsmithError, ConfigError

from .dialogue_format import SHIPPED_DIR, Script, ScriptError, ScriptTurn, load_scripts, where
from .expectations import EXPECTATIONS, CheckContext, Observation, Rejection, evaluate
from .judge import CatalogFile, PromptTemplates
from .report import format_summary, summarize, write_json, write_report
from .run_records import RunResult, ScriptResult

__all__ = ["SHIPPED_DIR", "DialogueRunner", "RunResult", "Script", "ScriptError", "ScriptResult", "cli_main",
           "load_scripts"]

log = logging.getLogger(__name__)
Echo = Callable[[str], None]
WARMUP_TEXT = "hello"


# --------------------------------------------------------------------------- the runner


@dataclasses.dataclass
class _Shop:
    folder: Path  # the index folder: the runner loads the index from it, the judge its items file
    context: CheckContext
    sessions: Path
    index: Any = None  # ShopIndex, loaded when the first script of this catalog runs
    assistant: Any = None


class DialogueRunner:
    """Runs scripts through real `Assistant`s: one per catalog, shared by the scripts (a new
    session each), replaced by a fresh one (same SQLite file, same loaded index) on `restart`."""

    def __init__(self, writer: Literal["model", "template"] = "model", *, workdir: Path,
                 echo: Echo = print) -> None:
        if writer not in ("model", "template"):
            raise ConfigError(f"writer: expected model or template, got {writer!r}")
        self.writer = writer
        self.workdir = workdir
        self.echo = echo
        self._shops: dict[str, _Shop] = {}
        self._templates = PromptTemplates.load()
        self.warmups_s: list[float] = []

    def shop(self, catalog: str | None) -> _Shop:
        """A catalog's folder and what the checkers judge against (its items file, read by
        `evals.judge`); the index itself is loaded only when a script runs."""
        key = catalog or "default"
        if key not in self._shops:
            from retrieval.shop_index import ensure_default_index

            folder = Path(catalog) if catalog else ensure_default_index()
            context = CheckContext(CatalogFile.load(folder), self._templates)
            self._shops[key] = _Shop(folder, context, self.workdir / f"sessions-{len(self._shops)}.sqlite3")
        return self._shops[key]

    def _new_assistant(self, shop: _Shop, llm: Any = None) -> Any:
        from assistant.dialogue.service import Assistant, AssistantConfig
        from retrieval.shop_index import ShopIndex

        if shop.index is None:
            self.echo(f"loading the shop index ({shop.folder}) ...")
            shop.index = ShopIndex.load(shop.folder)
        assistant = Assistant(AssistantConfig(sessions=str(shop.sessions), writer=self.writer), index=shop.index,
                              llm=llm)
        # A served assistant is warm before its first shopper; so is this one, so that the
        # first scripted turn's latency does not include lazy loading.
        start = time.perf_counter()
        session = assistant.open_session()
        assistant.turn(session, WARMUP_TEXT)
        assistant.delete_session(session)
        self.warmups_s.append(round(time.perf_counter() - start, 3))
        return assistant

    def check_references(self, script: Script) -> None:
        """Items and categories a script names must exist in its catalog (typos fail early)."""
        catalog = self.shop(script.catalog).context.catalog
        categories = catalog.categories
        for n, turn in enumerate(script.turns, start=1):
            refs = [("cart_add", turn.item)] if turn.item else []
            for e in turn.expect:
                refs += [(f"expect.{e.kind}", r) for r in EXPECTATIONS[e.kind].item_refs(e.value)]
                for cat in EXPECTATIONS[e.kind].category_refs(e.value):
                    if cat.lower() not in categories:
                        raise ScriptError(f"{where(script.path, n, f'expect.{e.kind}')}: no category {cat!r} "
                                          f"in this catalog; known: {', '.join(sorted(categories))}")
            for key, ref in refs:
                if not catalog.resolve(ref):
                    raise ScriptError(f"{where(script.path, n, key)}: no item {ref!r} (id or title) in this catalog")

    def _say(self, shop: _Shop, session: str, obs: Observation) -> None:
        try:
            obs.reply = shop.assistant.turn(session, obs.user_text)
        except InputRejected as exc:
            obs.rejected = Rejection(exc.field, exc.limit, str(exc))
        except Exception as exc:  # a bug in the product: record it, keep evaluating the rest
            log.exception("turn %d failed", obs.turn)
            obs.error = f"{type(exc).__name__}: {exc}"

    def _turn(self, shop: _Shop, session: str, n: int, turn: ScriptTurn) -> Observation:
        obs = Observation(n, turn.action, user_text=turn.text)
        start = time.perf_counter()
        if turn.action == "say":
            self._say(shop, session, obs)
        elif turn.action == "restart":
            old = shop.assistant
            shop.assistant = None
            old.store.close()  # nothing of the old process survives but the SQLite file
            # ... and the loaded model, which holds no session: reloading it here would leave
            # the later scripts decoding in a thread that is not the first with a team of
            # threads (assistant/llm/thread_team.py), slower than a fresh process would be
            shop.assistant = self._new_assistant(shop, llm=old.llm)
        else:
            obs.user_text = f"(cart button: {turn.item})"
            try:
                shop.assistant.add_to_cart(session, str(turn.item))
            except CartsmithError as exc:
                obs.error = f"{type(exc).__name__}: {exc}"
        obs.latency_s = round(time.perf_counter() - start, 4)
        state = shop.assistant.state(session)
        obs.cart, obs.constraints = state.cart_lines(), dict(state.constraints)
        return obs

    def run_script(self, script: Script) -> ScriptResult:
        shop = self.shop(script.catalog)
        if shop.assistant is None:  # created on first use: checking references needs no model
            shop.assistant = self._new_assistant(shop)
        start = time.perf_counter()
        session = shop.assistant.open_session(script.user_id)
        observations: list[Observation] = []
        previous: Bundle | None = None
        for n, turn in enumerate(script.turns, start=1):
            obs = self._turn(shop, session, n, turn)
            ctx = dataclasses.replace(shop.context, previous_bundle=previous)
            obs.outcomes = [evaluate(e.kind, e.value, e.raw, obs, ctx) for e in turn.expect]
            if obs.reply is not None and obs.reply.bundle is not None:
                previous = obs.reply.bundle
            observations.append(obs)
        shop.assistant.delete_session(session)
        return ScriptResult(script, observations, round(time.perf_counter() - start, 3))

    def run(self, scripts: Sequence[Script]) -> RunResult:
        for script in scripts:
            self.check_references(script)
        start = time.perf_counter()
        results = []
        for i, script in enumerate(scripts, start=1):
            result = self.run_script(script)
            failed = sorted({o.kind for o in result.outcomes if not o.passed})
            self.echo(f"[{i}/{len(scripts)}] {script.name}: {result.passed}/{len(result.outcomes)} passed, "
                      f"{len(script.turns)} turns, {result.seconds:.1f} s"
                      + (f" (failed: {', '.join(failed)})" if failed else ""))
            results.append(result)
        return RunResult(results, self.writer, round(time.perf_counter() - start, 2), list(self.warmups_s))


# --------------------------------------------------------------------------- the command


def cli_main(args: Any) -> int:
    """`cartsmith eval dialogues`: 0 when the scripts ran (failing expectations included), 2 on a bad script."""
    writer: Literal["model", "template"] = "template" if getattr(args, "writer", None) == "template" else "model"
    try:
        scripts = load_scripts(list(getattr(args, "paths", None) or []))
        print(f"{len(scripts)} scripts, {sum(s.expectations for s in scripts)} expectations, writer {writer}",
              flush=True)
        with tempfile.TemporaryDirectory(prefix="cartsmith-dialogues-") as tmp:
            run = DialogueRunner(writer, workdir=Path(tmp), echo=lambda line: print(line, flush=True)).run(scripts)
    except ScriptError as exc:
        print(f"cartsmith eval dialogues: bad script: {exc}", file=sys.stderr)
        return 2
    summary = summarize(run)
    print(format_summary(summary))
    if getattr(args, "json_out", None):
        write_json(summary, args.json_out)
        print(f"summary -> {args.json_out}")
    if getattr(args, "report", None):
        html = write_report(run, args.report)
        print(f"report -> {html}")
    return 0
