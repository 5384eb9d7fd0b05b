"""`cartsmith eval bundles`: how useful are the bundles the assistant composes?

Every labelled request of evals/bundle_requests.yaml is sent as the first turn of a fresh
session through the real `Assistant` (`assistant.turn(session_id, text)`); the reply's
bundle and text are judged by `evals.bundle_judge` (the eval's own reading of titles,
prices and held-out invoices; see its docstring for every metric) and summarised as

    {"requests": n, "no_bundle": n, "kinds_covered": x, "budget_use_median": x,
     "over_budget": n, "item_cap_respected": x, "filler_share": x, "quantity_ok": x,
     "coherence_lift": x, "specific_reasons": x, "cheapest_price_rank": x, "by_group": {...},
     "by_request": [...]}

A run may compare labelled configurations of the assistant ("variants", in order: the first
is "before", the last "after"); `compare_report` writes report.md and report.html with a
chart of every metric, before vs after, and the per-request table.

    python -m evals.bundle_eval [--json OUT] [--report DIR] [--writer template|model] [--limit N]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from .bundle_judge import CatalogFacts, judge, summarise
from .bundle_labels import REQUESTS_PATH, BundleRequest, load_requests
from .bundle_report import compare_report, write_json

__all__ = ["compare_report", "default_variants", "main", "pick_requests", "run_bundle_eval", "run_variants"]

log = logging.getLogger(__name__)
Echo = Callable[[str], None]
# Builds one configuration of the assistant to measure; called once, when its turn comes.
AssistantFactory = Callable[[], Any]
SUMMARY_KEYS = ("kinds_covered", "budget_use_median", "over_budget", "item_cap_respected", "filler_share",
                "quantity_ok", "coherence_lift", "specific_reasons", "cheapest_price_rank", "no_bundle")


def _silent(_: str) -> None:
    return None


def ask(assistant: Any, text: str) -> tuple[Any, str | None, float]:
    """(reply or None, error or None, seconds) for one first turn in a fresh session."""
    session = assistant.open_session()
    start = time.perf_counter()
    try:
        reply, error = assistant.turn(session, text), None
    except Exception as exc:  # a bug or a refusal in the product: recorded, the run goes on
        log.exception("turn failed: %r", text)
        reply, error = None, f"{type(exc).__name__}: {exc}"
    seconds = round(time.perf_counter() - start, 3)
    assistant.delete_session(session)
    return reply, error, seconds


def run_bundle_eval(assistant: Any, requests: Sequence[BundleRequest], catalog_dir: Path, *, label: str,
                    facts: CatalogFacts | None = None, echo: Echo = _silent) -> dict[str, Any]:
    """Send each request to `assistant`, judge the replies, and summarise (see the module doc)."""
    facts = facts or CatalogFacts.load(catalog_dir)
    rows = []
    start = time.perf_counter()
    for n, request in enumerate(requests, 1):
        reply, error, seconds = ask(assistant, request.text)
        bundle = reply.bundle.to_dict() if reply is not None and reply.bundle is not None else None
        row = judge(request, bundle, reply.text if reply is not None else "", facts)
        row.update(reply_kind=reply.kind if reply is not None else None, reply=reply.text if reply else None,
                   parsed=reply.request.to_dict() if reply is not None and reply.request else None,
                   error=error, latency_s=seconds)
        rows.append(row)
        echo(f"[{label} {n}/{len(requests)}] {request.id}: {row['reply_kind']}, kinds "
             f"{len(row['kinds_found'])}/{len(request.kinds)}, total {row['total']}, {seconds:.1f} s")
    return {"label": label, **summarise(rows), "seconds": round(time.perf_counter() - start, 2),
            "by_request": rows}


def run_variants(variants: Mapping[str, AssistantFactory], requests: Sequence[BundleRequest], catalog_dir: Path,
                 *, echo: Echo = _silent) -> dict[str, dict[str, Any]]:
    """Each variant in order on the same requests and the same catalog facts."""
    facts = CatalogFacts.load(catalog_dir)
    results = {}
    for label, build in variants.items():
        echo(f"variant {label}: building the assistant ...")
        assistant = build()
        try:
            results[label] = run_bundle_eval(assistant, requests, catalog_dir, label=label, facts=facts, echo=echo)
        finally:
            assistant.store.close()
    return results


def default_variants(writer: Literal["template", "model"], index: Any, workdir: Path) -> dict[str, AssistantFactory]:
    """The configurations one run compares, "before" first and "after" last: "words" (no
    needs book: every need matched by its words against item texts, the composer before
    #12) and "needs" (the shipped needs book, as served). The variants share the loaded
    index and language model.
    """
    from assistant.dialogue.service import Assistant, AssistantConfig

    shared: dict[str, Any] = {}

    def builder(name: str, **overrides: Any) -> AssistantFactory:
        def build() -> Any:
            config = AssistantConfig(sessions=str(workdir / f"sessions-{name}.sqlite3"), writer=writer, **overrides)
            assistant = Assistant(config, index=index, llm=shared.get("llm"))
            shared.setdefault("llm", assistant.llm)
            return assistant
        return build

    return {"words": builder("words", needs="none"), "needs": builder("needs")}


def pick_requests(requests: Sequence[BundleRequest], limit: int | None) -> list[BundleRequest]:
    """The first `limit` requests taken in turn from each group (file order within a group),
    so that a short run still meets every kind of request."""
    if limit is None or limit >= len(requests):
        return list(requests)
    by_group: dict[str, list[BundleRequest]] = {}
    for request in requests:
        by_group.setdefault(request.group, []).append(request)
    picked: list[BundleRequest] = []
    while len(picked) < limit:
        for queue in by_group.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return picked


def format_summary(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    labels = list(results)
    lines = [f"{'metric':<22}" + "".join(f"{label:>12}" for label in labels)]
    for key in ("requests", *SUMMARY_KEYS):
        cells = []
        for label in labels:
            value = results[label].get(key)
            cells.append(f"{'-' if value is None else format(value, '.3f') if isinstance(value, float) else value:>12}")
        lines.append(f"{key:<22}" + "".join(cells))
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cartsmith eval bundles", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sub-command's options (for `assistant/serve/cli.py` to reuse)."""
    parser.add_argument("--json", dest="json_out", type=Path, metavar="OUT",
                        help="write the summary and per-request rows here")
    parser.add_argument("--report", type=Path, metavar="DIR", help="write report.md, report.html and metrics.png here")
    parser.add_argument("--writer", choices=("template", "model"), default="model",
                        help="who words the replies (default: model, as served; template skips model writing)")
    parser.add_argument("--limit", type=int, metavar="N", help="run N requests, taken in turn from each group")
    parser.add_argument("--only", choices=("words", "needs"),
                        help="run one configuration (default: both, the one before #12 first)")
    parser.add_argument("--requests", type=Path, default=REQUESTS_PATH, metavar="YAML",
                        help="the labelled request set (default: evals/bundle_requests.yaml)")


def cli_main(args: argparse.Namespace) -> int:
    """Run the set; `args` holds json_out, report, writer and optionally limit, only and
    requests (the names `add_arguments` gives them)."""
    from retrieval.shop_index import ShopIndex, ensure_default_index

    requests = pick_requests(load_requests(getattr(args, "requests", None) or REQUESTS_PATH),
                             getattr(args, "limit", None))
    echo = lambda line: print(line, flush=True)  # noqa: E731
    echo(f"{len(requests)} requests, writer {args.writer}; loading the shop index ...")
    folder = ensure_default_index(echo)
    index = ShopIndex.load(folder)
    with tempfile.TemporaryDirectory(prefix="cartsmith-bundles-") as tmp:
        variants = default_variants(args.writer, index, Path(tmp))
        if getattr(args, "only", None):
            variants = {args.only: variants[args.only]}
        results = run_variants(variants, requests, folder, echo=echo)
    for result in results.values():
        result["writer"] = args.writer
    for line in format_summary(results):
        print(line)
    labels = list(results)
    after = results[labels[-1]]
    before = results[labels[0]] if len(labels) > 1 else None
    if args.json_out:
        others = {label: {k: v for k, v in r.items() if k != "by_request"} for label, r in results.items()
                  if label != labels[-1]}
        write_json({**after, "compared_with": others}, args.json_out)
        print(f"summary -> {args.json_out}")
    if args.report:
        print(f"report -> {compare_report(before, after, args.report)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
