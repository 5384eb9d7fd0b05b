"""The `cartsmith` command. Heavy modules are imported inside each command, so `--help` is instant.

Domain errors (bad files, bad options, unknown items) are printed as one clear line and
exit with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

for _key, _value in (("HF_HUB_OFFLINE", "1"), ("ANONYMIZED_TELEMETRY", "False"),
                     ("GRADIO_ANALYTICS_ENABLED", "False"), ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(_key, _value)

DATASETS = ("online-retail", "instacart", "steam-bundles")


def _add_data_args(parser: argparse.ArgumentParser, *, dataset_default: str | None) -> None:
    parser.add_argument("--dataset", choices=DATASETS, default=dataset_default,
                        help="a built-in shop (default Online Retail when no files are given)")
    parser.add_argument("--items", type=Path, help="items file (CSV/TSV/JSON/JSONL/Parquet, optionally zipped)")
    parser.add_argument("--interactions", type=Path, help="interactions file (basket lines)")
    parser.add_argument("--column", action="append", default=[], metavar="ROLE=NAME",
                        help="map a file column to a role (item_id, title, description, category, price, "
                             "brand, basket_id, user_id, timestamp, quantity); repeatable")
    parser.add_argument("--encoding", default="utf-8", help="text encoding of the files (default utf-8)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cartsmith", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    p_index = sub.add_parser("index", help="build the catalog, Chroma index and CF models for one shop")
    _add_data_args(p_index, dataset_default=None)
    p_index.add_argument("--out", type=Path, help="index folder (default: the shop's folder in the cache)")
    p_index.add_argument("--chroma-server", help="http://host:port of a Chroma server (default: embedded)")
    p_index.add_argument("--sessions", metavar="FILE_OR_URL",
                         help="the session store whose forgotten customers (DELETE /v1/customers/ID) the "
                              "build leaves out (default: the default session file, when there is one)")

    p_rec = sub.add_parser("recommend", help="ranked candidates with scores and evidence")
    p_rec.add_argument("--index", type=Path, help="index folder (default: the default shop's)")
    group = p_rec.add_mutually_exclusive_group()
    group.add_argument("--items", help="comma-separated anchor item ids")
    group.add_argument("--query", help="a free-text need, e.g. 'gift for a tea lover'")
    p_rec.add_argument("--user", help="a known customer id: personalises --items, or alone asks what "
                                      "this customer buys next (from their earlier orders)")
    p_rec.add_argument("--k", type=int, default=10, help="how many (default 10)")
    p_rec.add_argument("--method", default="blend", help="blend (default) or one source's name")
    p_rec.add_argument("--json", action="store_true", help="print JSON")

    p_eval = sub.add_parser("eval", help="measure the recommender")
    eval_sub = p_eval.add_subparsers(dest="eval_command", required=True)
    p_bask = eval_sub.add_parser("baskets", help="basket completion: every source and the blend")
    _add_data_args(p_bask, dataset_default=None)
    p_bask.add_argument("--split", help="time:YYYY-MM-DD or random (default: time:2011-10-01 with "
                                        "timestamps, else random)")
    p_bask.add_argument("--seed-fraction", type=float, default=0.5, help="share of each test basket revealed")
    p_bask.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    p_bask.add_argument("--k", type=int, default=10, help="the cut-off reported first (default 10)")
    p_bask.add_argument("--max-baskets", type=int, help="evaluate on a seeded sample of test baskets")
    p_bask.add_argument("--methods", help="comma-separated subset of sources")
    p_bask.add_argument("--tuning-seconds", type=float, default=None, metavar="S",
                        help="time for choosing each source's settings on the training period's validation "
                             "split (default 60; 0: every source keeps its defaults)")
    p_bask.add_argument("--json", dest="json_out", type=Path, metavar="OUT", help="write results JSON")
    p_bask.add_argument("--report", type=Path, metavar="DIR", help="write JSON, markdown and a bar chart")

    p_model = eval_sub.add_parser("model", help="base vs tuned language model on the held-out split")
    p_model.add_argument("--json", dest="json_out", type=Path, metavar="OUT", help="write results JSON")
    p_model.add_argument("--n-parse", type=int, default=None, help="parse cases per model")
    p_model.add_argument("--n-write", type=int, default=None, help="write cases per model")
    p_model.add_argument("--update-card", action="store_true",
                         help="also write the metrics into the shipped adapter's manifest and MODEL_CARD.md "
                              "(default: only --json OUT, or stdout)")
    p_model.add_argument("--no-handwritten", action="store_true",
                         help="skip the hand-written parse set (evals/parse/)")

    p_dial = eval_sub.add_parser("dialogues", help="scripted dialogues with expectations checked by code")
    p_dial.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="YAML scripts or folders (default: the scripts shipped in evals/dialogues)")
    p_dial.add_argument("--report", type=Path, metavar="DIR", help="write report.json, report.html and charts")
    p_dial.add_argument("--json", dest="json_out", type=Path, metavar="OUT", help="write the summary JSON")
    p_dial.add_argument("--writer", choices=("model", "template"), default="model",
                        help="who words bundles (default: the tuned model, as the product serves)")

    p_sim = eval_sub.add_parser("simulate", help="simulated shoppers with hidden baskets vs a no-LLM baseline")
    p_sim.add_argument("--json", dest="json_out", type=Path, metavar="OUT", help="write results JSON")
    p_sim.add_argument("--n", type=int, default=50, help="simulated shoppers (held-out baskets; default 50)")
    p_sim.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    p_sim.add_argument("--writer", choices=("model", "template"), default="template",
                       help="who words bundles (the simulator reads only the structured bundle)")

    p_bun = eval_sub.add_parser("bundles", help="usefulness of bundles for ordinary requests, before vs after "
                                                "the needs book (kinds, budget use, quantities, filler, reasons)")
    p_bun.add_argument("--json", dest="json_out", type=Path, metavar="OUT", help="write the summary and per-request rows")
    p_bun.add_argument("--report", type=Path, metavar="DIR", help="write report.md, report.html and metrics.png")
    p_bun.add_argument("--writer", choices=("model", "template"), default="model",
                       help="who words the replies (default: the tuned model, as served)")
    p_bun.add_argument("--limit", type=int, metavar="N", help="run N requests, taken in turn from each group")
    p_bun.add_argument("--only", choices=("words", "needs"),
                       help="run one configuration (default: both, the one before #12 first)")
    p_bun.add_argument("--requests", type=Path, metavar="YAML",
                       help="the labelled request set (default: evals/bundle_requests.yaml)")

    p_ft = sub.add_parser("finetune", help="build training data from real baskets and train the LoRA adapter")
    p_ft.add_argument("--config", type=Path, default=Path("finetune/configs/default.toml"))
    p_ft.add_argument("--intent-reader-only", action="store_true",
                      help="fit only the intent reader (about a minute on 2 cores), not the LoRA adapter")

    sub.add_parser("demo", help="build the default shop if needed and complete a few real baskets")
    from assistant.serve.chat_cli import add_parsers as _add_chat_parsers  # chat, ask, serve, ui

    _add_chat_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from retrieval.errors import CartsmithError

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s")
    try:
        if args.command == "index":
            return _cmd_index(args)
        if args.command == "recommend":
            return _cmd_recommend(args)
        if args.command == "eval" and args.eval_command == "baskets":
            return _cmd_eval_baskets(args)
        if args.command == "eval" and args.eval_command == "model":
            return _cmd_eval_model(args)
        if args.command == "eval" and args.eval_command == "dialogues":
            from evals.dialogues import cli_main as _run_dialogues

            return _run_dialogues(args)
        if args.command == "eval" and args.eval_command == "bundles":
            from evals.bundle_eval import cli_main as _run_bundles

            return _run_bundles(args)
        if args.command == "eval" and args.eval_command == "simulate":
            from evals.simulate import cli_main as _run_simulate

            return _run_simulate(args)
        if args.command == "finetune":
            from finetune.run import run_finetune, run_intent_reader

            run = run_intent_reader if args.intent_reader_only else run_finetune
            print(run(args.config, echo=print))
            return 0
        if args.command == "demo":
            return _cmd_demo()
        if args.command in ("chat", "ask", "serve", "ui"):
            from assistant.serve.chat_cli import run as _run_chat_command

            return _run_chat_command(args)
    except CartsmithError as exc:
        print(f"cartsmith: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cartsmith: interrupted", file=sys.stderr)
        return 130
    return 2


def _load_shop(args: argparse.Namespace):
    """(name, catalog, interactions) from --dataset or --items/--interactions."""
    from retrieval.errors import ConfigError

    if args.items or args.interactions:
        if not (args.items and args.interactions):
            raise ConfigError("--items and --interactions go together")
        if args.dataset:
            raise ConfigError("give either --dataset or --items/--interactions, not both")
        from retrieval.ingest import ColumnMap, load_interactions, load_items

        columns = ColumnMap.parse(args.column)
        catalog = load_items(args.items, columns, encoding=args.encoding)
        interactions = load_interactions(args.interactions, catalog, columns, encoding=args.encoding)
        return args.items.stem.split(".")[0], catalog, interactions
    if args.column:
        raise ConfigError("--column applies to --items/--interactions files only")
    from retrieval.datasets import load_instacart, load_online_retail, load_steam_bundles

    if args.dataset == "instacart":
        catalog, interactions = load_instacart()
        return "instacart", catalog, interactions
    if args.dataset == "steam-bundles":
        catalog, interactions = load_steam_bundles()
        return "steam-bundles", catalog, interactions
    catalog, interactions, _ = load_online_retail()
    return "online-retail", catalog, interactions


def _cmd_index(args: argparse.Namespace) -> int:
    from retrieval.shop_index import IndexConfig, build_index, default_index_dir

    name, catalog, interactions = _load_shop(args)
    out = args.out or default_index_dir(name)
    config = IndexConfig(chroma_server=args.chroma_server)
    from assistant.dialogue.session_pg import forgotten_customers_in

    manifest = build_index(catalog, interactions, out, config, echo=print,
                           leave_out_users=forgotten_customers_in(args.sessions, must_exist=True))
    print(f"index for {name}: {manifest['items']:,} items, {manifest['baskets']:,} baskets -> {out}")
    return 0


def _cmd_recommend(args: argparse.Namespace) -> int:
    from retrieval.errors import ConfigError
    from retrieval.records import Query
    from retrieval.shop_index import ShopIndex, default_index_dir

    if args.k < 1 or args.k > 1000:
        raise ConfigError(f"--k must be between 1 and 1000, got {args.k}")
    if args.items is None and args.query is None and not args.user:
        raise ConfigError("recommend needs --items, --query or --user (a known customer's id)")
    index = ShopIndex.load(args.index or default_index_dir("online-retail"))
    seeds = tuple(s.strip() for s in (args.items or "").split(",") if s.strip())
    if args.items is not None and not seeds:
        raise ConfigError("--items needs at least one item id")
    index.catalog.indices(seeds)  # raises UnknownItemError naming unknown ids
    query = Query(seed_items=seeds, text=args.query, user_id=args.user)
    candidates = index.recommend(query, k=args.k, method=args.method)
    if args.json:
        rows = [{**c.to_dict(), "title": index.catalog.get(c.item_id).title,
                 "price": index.catalog.get(c.item_id).price} for c in candidates]
        print(json.dumps({"query": {"items": list(seeds), "text": args.query, "user": args.user},
                          "method": args.method, "candidates": rows}, indent=2))
        return 0
    if not candidates and args.items is None and args.query is None:
        print(f"no candidates: customer {args.user!r} has no orders in this shop's history")
    elif not candidates:
        print("no candidates: nothing in this shop relates to that query")
    for rank, cand in enumerate(candidates, start=1):
        item = index.catalog.get(cand.item_id)
        price = "" if item.price is None else f"  £{item.price:.2f}"
        print(f"{rank:>2}. {item.title} [{item.item_id}]{price}  score {cand.score:.3f}")
        for ev in cand.evidence:
            print(f"      - {ev.text}")
    return 0


def _cmd_eval_baskets(args: argparse.Namespace) -> int:
    from retrieval.benchmark import (
        DEFAULT_SOURCES,
        KNOWN_SOURCES,
        run_basket_benchmark,
        write_reports,
    )
    from retrieval.errors import ConfigError
    from retrieval.evaluate import SplitConfig

    name, catalog, interactions = _load_shop(args)
    if args.split:
        spec = args.split
    else:
        spec = "time:2011-10-01" if interactions.frame["timestamp"].notna().any() else "random"
    split = SplitConfig.parse(spec, seed_fraction=args.seed_fraction, seed=args.seed,
                              max_test_baskets=args.max_baskets)
    methods = DEFAULT_SOURCES
    if args.methods:
        methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
        unknown = sorted(set(methods) - set(KNOWN_SOURCES))
        if unknown:
            raise ConfigError(f"--methods: unknown {', '.join(unknown)}; known: {', '.join(KNOWN_SOURCES)}")
    if args.k != 10:
        raise ConfigError("--k: the benchmark reports @10 and @20; other cut-offs are not supported yet")
    from retrieval.tuning import TuningConfig

    tuning = TuningConfig() if args.tuning_seconds is None else TuningConfig(budget_seconds=args.tuning_seconds)
    result = run_basket_benchmark(name, catalog, interactions, split, methods=methods, tuning=tuning)
    write_reports(result, args.json_out, args.report)
    return 0


def _cmd_eval_model(args: argparse.Namespace) -> int:
    from evals.model_eval import run_model_eval

    sizes = {k: v for k, v in (("n_parse", args.n_parse), ("n_write", args.n_write)) if v is not None}
    # Without --json the report is the command's output, so progress goes to stderr.
    echo = print if args.json_out else lambda line: print(line, file=sys.stderr, flush=True)
    report = run_model_eval(args.json_out, echo=echo, update_card=args.update_card,
                            with_handwritten=not args.no_handwritten, **sizes)
    if not args.json_out:
        print(json.dumps({k: v for k, v in report.items() if k != "examples"}, indent=2))
    return 0


def _cmd_demo() -> int:
    from retrieval.shop_index import demo

    return demo(print)


if __name__ == "__main__":
    sys.exit(main())
