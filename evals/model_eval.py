"""`cartsmith eval model`: the language model, base vs the shipped adapter, on held-out data.

Both run on the configuration the product serves by default (the packaged SmolLM2 on NF4).
The held-out split is rebuilt deterministically by `finetune.data.build_dataset` from the
adapter's data configuration: its examples come from invoices that no training example
used, all before 2011-10-01.

Per model (M):
  json_valid        parse replies that validate as a `Request` (after the parser's one retry)
  json_valid_first  ... on the first try
  intent_accuracy   intent equal to the target (an invalid reply counts as wrong)
  served_intent_accuracy  the intent the assistant acts on: the chain's guard (before the
                    parser) and code's reconciliation with the shopper's words applied
  slot_accuracy     per slot (budget, items, exclude, target, need), over cases where the
                    target or the reply sets it; mentions compared case-insensitively
  exact_match       the whole request equal to the target
  grounded_answers  the model's first answer, after code substituted the titles and prices
                    and before any guard, names every bundle item exactly once and no other
                    catalog title or price
  reasons_faithful  the model's answer served after the reason check and one regeneration
                    passes the guard and the reason check (a template fallback counts as a
                    failure here; `served_faithful` counts it as what it is: faithful)
  reasons_faithful_first  the first answer's reasons pass the check
  model_answer_rate answers served from the model (not the template fallback)
  n                 parse cases + write cases
  handwritten       the hand-written parse set (evals/parse/, never generated, never trained on)
                    as served: n, intent_accuracy, exact_match, slot_accuracy per slot
                    (budget, budget_min, item_cap, sort, size, party_size, need, items,
                    exclude, target), slot_cases, parse_seconds_median and every failure;
                    the tuned variant's copy (without failures) is also the report's top-level
                    "handwritten"

tokens_per_s: decode speed of fp32 and NF4 (bench/bench_llm.py's measurement, in-process)
and llama.cpp on the same GGUF when llama-cpp-python is installed (else null), all with the
product's thread count.

The report goes to --json OUT (or stdout); the shipped adapter's manifest and MODEL_CARD.md
are rewritten only with --update-card (`evals.model_card`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
import time
from argparse import Namespace
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from assistant.llm.loading import default_threads
from assistant.records import Bundle, BundleItem, Request
from retrieval.datasets import REPO_ROOT

from .model_card import MANIFEST, update_manifest, write_model_card

ADAPTER_DIR = REPO_ROOT / "finetune" / "adapters" / "cartsmith-smollm2-lora"
INTENT_READER_DIR = REPO_ROOT / "finetune" / "adapters" / "cartsmith-intent-reader"
CONFIG_PATH = REPO_ROOT / "finetune" / "configs" / "default.toml"
N_PARSE = 150
N_WRITE = 60
# The product's own thread count (`AssistantConfig.threads`): float sums can differ with
# the thread count, and the eval measures what the product serves.
EVAL_THREADS = default_threads()

Echo = Callable[[str], None]


# --------------------------------------------------------------------------- cases


@dataclasses.dataclass(frozen=True)
class EvalData:
    parse_cases: list[tuple[str, str, Request]]
    write_cases: list[tuple[Bundle, str]]
    titles: tuple[str, ...]
    data_hash: str


def load_eval_data(n_parse: int = N_PARSE, n_write: int = N_WRITE, config_path: Path = CONFIG_PATH) -> EvalData:
    from finetune.data import build_dataset, data_hash, load_training_shop
    from finetune.run import load_configs
    from retrieval.records import Evidence

    data_config, _, _ = load_configs(config_path)
    shop = load_training_shop(data_config.cutoff)
    dataset = build_dataset(data_config, shop)
    parse_cases: list[Any] = []
    write_cases: list[Any] = []
    for ex in dataset.heldout:
        meta = ex["meta"]
        if meta["kind"] == "parse" and len(parse_cases) < n_parse:
            parse_cases.append((meta["message"], meta["summary"], Request.from_dict(meta["request"])))
        elif meta["kind"] == "write" and len(write_cases) < n_write:
            items = []
            locks = meta.get("locked") or [False] * len(meta["item_ids"])
            for item_id, role, evidence, locked in zip(meta["item_ids"], meta["roles"], meta["evidence"], locks,
                                                       strict=True):
                reasons = tuple(Evidence(e["kind"], e["text"], e["numbers"]) for e in evidence)
                items.append(BundleItem(shop.catalog.get(item_id), reasons, role=role, locked=locked))
            write_cases.append((Bundle(tuple(items), need=meta["need"], budget=meta["budget"]), meta["need"]))
    titles = tuple(item.title for item in shop.catalog.items)
    return EvalData(parse_cases, write_cases, titles, data_hash(dataset.train))


# --------------------------------------------------------------------------- scoring


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.lower().split())
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    return value


SLOTS = ("budget", "items", "exclude", "target", "need", "size", "party_size")


def served_intent(request: Request | None, message: str, sure_intent: str | None = None) -> str | None:
    """The intent the assistant acts on: the chain's guard runs before the parser, and code
    reconciles the parse with the shopper's words (`assistant.dialogue.chain`)."""
    from assistant.dialogue.chain import guarded_reply, served_request

    if guarded_reply(message) is not None:
        return "off_topic"
    if request is None:
        return None
    return served_request(request, message, sure_intent).intent


def score_parse(results: Sequence[Any], cases: Sequence[tuple[str, str, Request]]) -> dict[str, Any]:
    n = len(cases)
    valid = sum(r.request is not None for r in results)
    first = sum(r.request is not None and r.attempts == 1 for r in results)
    intent = sum(r.request is not None and r.request.intent == c[2].intent for r, c in zip(results, cases, strict=True))
    served = sum(served_intent(r.request, c[0], r.sure_intent) == c[2].intent
                 for r, c in zip(results, cases, strict=True))
    exact = 0
    slot_hits = dict.fromkeys(SLOTS, 0)
    slot_n = dict.fromkeys(SLOTS, 0)
    for r, (_, _, want) in zip(results, cases, strict=True):
        got = r.request.to_dict() if r.request is not None else {}
        wanted = want.to_dict()
        if r.request is not None and _norm(got) == _norm(wanted):
            exact += 1
        for slot in SLOTS:
            if slot in wanted or slot in got:
                slot_n[slot] += 1
                slot_hits[slot] += _norm(got.get(slot)) == _norm(wanted.get(slot))
    return {
        "json_valid": round(valid / n, 4) if n else None,
        "json_valid_first": round(first / n, 4) if n else None,
        "intent_accuracy": round(intent / n, 4) if n else None,
        "served_intent_accuracy": round(served / n, 4) if n else None,
        "exact_match": round(exact / n, 4) if n else None,
        "slot_accuracy": {s: round(slot_hits[s] / slot_n[s], 4) for s in SLOTS if slot_n[s]},
        "slot_cases": {s: slot_n[s] for s in SLOTS if slot_n[s]},
        "n_parse": n,
    }


def score_write(replies: Sequence[Any]) -> dict[str, Any]:
    n = len(replies)
    if not n:
        return {"n_write": 0}
    return {
        "grounded_answers": round(sum(bool(r.raw_grounded) for r in replies) / n, 4),
        "reasons_faithful": round(sum(r.writer == "model" and r.reasons_ok and not r.mended for r in replies) / n, 4),
        "reasons_faithful_first": round(sum(bool(r.raw_reasons_ok) for r in replies) / n, 4),
        "served_faithful": round(sum(bool(r.reasons_ok) for r in replies) / n, 4),
        "model_answer_rate": round(sum(r.writer == "model" and not r.mended for r in replies) / n, 4),
        # model replies with some lines worded by the template (`writer.mend`)
        "mended_answer_rate": round(sum(r.writer == "model" and bool(r.mended) for r in replies) / n, 4),
        "mean_attempts": round(sum(r.attempts for r in replies) / n, 3),
        "n_write": n,
    }


# --------------------------------------------------------------------------- running


def evaluate_handwritten(name: str, parser: Any, cases: Sequence[Any], echo: Echo,
                         need_judge: Any = None, shop: Any = None) -> dict[str, Any]:
    """The hand-written set as served: the guard's typography, the redacted text parsed with
    the bundle on screen, then the product's reconciliation and, with the default `shop`,
    the compose action's reading of items and need and the editor's positions
    (`evals.parse_set`, read as served by `evals.served_reading`)."""
    from assistant.safety.guard import check_input, redact

    from .parse_set import score_by_file, score_parse_set
    from .served_reading import served_reading

    readings, seconds = [], []
    for i, case in enumerate(cases, 1):
        started = time.perf_counter()
        parsed = parser.parse(redact(check_input(case.say)), case.summary)
        seconds.append(time.perf_counter() - started)
        readings.append(served_reading(case, parsed.request, parsed.sure_intent, shop))
        if i % 50 == 0:
            echo(f"[eval] {name}: hand-written {i}/{len(cases)} ({sum(seconds):.0f}s)")
    report = score_parse_set(cases, readings, need_judge)
    report["by_file"] = score_by_file(cases, readings, need_judge)
    report["parse_seconds_median"] = round(sorted(seconds)[len(seconds) // 2], 3) if seconds else None
    echo(f"[eval] {name}: hand-written {json.dumps({k: v for k, v in report.items() if k != 'failures'})}")
    for failure in report["failures"]:
        echo(f"[eval] {name}: hand-written miss {failure['id']} ({', '.join(failure['wrong'])}): {failure['say']!r}")
    return report


def evaluate_variant(name: str, adapter: Path | None, data: EvalData, echo: Echo,
                     examples_out: list[dict[str, Any]] | None = None, handwritten: Sequence[Any] = (),
                     need_judge: Any = None, intent_reader: Any = None, shop: Any = None) -> dict[str, Any]:
    from assistant.llm.generation import LLMConfig, load_model
    from assistant.understand.parser import RequestParser
    from assistant.understand.words_first import WordsFirstConfig
    from assistant.write.writer import BundleWriter

    config = LLMConfig(adapter=str(adapter) if adapter else None, threads=EVAL_THREADS)
    loaded = load_model(config)
    echo(f"[eval] {name}: {loaded.model_id} ({loaded.quantization}) loaded in {loaded.load_seconds:.1f}s")
    # as served: with the reader, turns whose one shortlisted intent the words read are not decoded
    parser = RequestParser(loaded, intent_reader=intent_reader,
                           words_first=WordsFirstConfig() if intent_reader is not None else None)
    started = time.perf_counter()
    parse_results = []
    for i, (message, summary, _) in enumerate(data.parse_cases, 1):
        parse_results.append(parser.parse(message, summary))
        if i % 25 == 0:
            echo(f"[eval] {name}: parsed {i}/{len(data.parse_cases)} ({time.perf_counter() - started:.0f}s)")
    parse_s = time.perf_counter() - started
    if handwritten:
        metrics_hw = evaluate_handwritten(name, parser, handwritten, echo, need_judge, shop)
    writer = BundleWriter(loaded, other_titles=data.titles, check_while_decoding=False)
    started = time.perf_counter()
    replies = []
    for i, (bundle, need) in enumerate(data.write_cases, 1):
        replies.append(writer.write(bundle, need))
        if i % 10 == 0:
            echo(f"[eval] {name}: wrote {i}/{len(data.write_cases)} ({time.perf_counter() - started:.0f}s)")
    write_s = time.perf_counter() - started
    metrics = {**score_parse(parse_results, data.parse_cases), **score_write(replies)}
    metrics["n"] = len(data.parse_cases) + len(data.write_cases)
    metrics["data_hash"] = data.data_hash
    metrics["seconds"] = {"parse": round(parse_s, 1), "write": round(write_s, 1)}
    metrics["memory_bytes"] = loaded.memory_bytes
    if handwritten:
        metrics["handwritten"] = metrics_hw
    if examples_out is not None:
        for (message, summary, want), r in list(zip(data.parse_cases, parse_results, strict=True))[:20]:
            examples_out.append({"variant": name, "kind": "parse", "message": message, "summary": summary,
                                 "want": want.to_dict(), "raw": r.raw_text,
                                 "got": r.request.to_dict() if r.request else None})
        for (bundle, need), w in list(zip(data.write_cases, replies, strict=True))[:8]:
            examples_out.append({"variant": name, "kind": "write", "need": need,
                                 "items": [bi.item.title for bi in bundle.items], "raw": w.raw_text,
                                 "final": w.text, "writer": w.writer})
    echo(f"[eval] {name}: {json.dumps({k: v for k, v in metrics.items() if not isinstance(v, dict)})}")
    return metrics


def _bench_module() -> Any | None:
    path = REPO_ROOT / "bench" / "bench_llm.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("cartsmith_bench_llm", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:
        return None
    return module


def measure_tokens_per_s(echo: Echo, new_tokens: int = 48, repeats: int = 2) -> dict[str, Any]:
    """Decode tok/s for fp32, NF4 and llama.cpp (None when not installed), one thread each."""
    from assistant.llm.loading import DEFAULT_MODEL, default_cache_dir

    bench = _bench_module()
    args = Namespace(model=DEFAULT_MODEL, threads=EVAL_THREADS, new_tokens=new_tokens, repeats=repeats,
                     cache_dir=default_cache_dir())
    out: dict[str, Any] = {"fp32": None, "nf4": None, "llama_cpp": None, "threads": EVAL_THREADS,
                           "new_tokens": new_tokens}
    pairs: tuple[tuple[str, Literal["nf4", "none"]], ...] = (("fp32", "none"), ("nf4", "nf4"))
    for key, quantization in pairs:
        try:
            if bench is not None:
                result = bench._bench_transformers(quantization, args)
                out[key] = result["decode_tokens_per_s"]
            else:
                out[key] = _own_decode_speed(quantization, new_tokens)
        except Exception as exc:
            echo(f"[eval] tokens/s {key}: {exc}")
    if importlib.util.find_spec("llama_cpp") is not None and bench is not None:
        try:
            result = bench._bench_llama_cpp(args)
            out["llama_cpp"] = result.get("decode_tokens_per_s")
        except Exception as exc:
            echo(f"[eval] tokens/s llama_cpp: {exc}")
    echo(f"[eval] tokens/s: {out}")
    return out


def _own_decode_speed(quantization: Literal["nf4", "none"], new_tokens: int) -> float:
    from assistant.llm.generation import LLMConfig, generate, load_model

    loaded = load_model(LLMConfig(quantization=quantization, threads=EVAL_THREADS))
    messages = [{"role": "user", "content": "Suggest a few things for a picnic and say why."}]
    generate(loaded, messages, max_new_tokens=4)
    gen = generate(loaded, messages, max_new_tokens=new_tokens)
    return round(gen.tokens_per_second, 2)


def run_model_eval(json_out: str | Path | None = None, echo: Echo = print, n_parse: int = N_PARSE,
                   n_write: int = N_WRITE, *, variants: Sequence[str] = ("base", "tuned"),
                   adapter: str | Path = ADAPTER_DIR, reuse: str | Path | None = None,
                   speed: bool = True, update_card: bool = False,
                   with_handwritten: bool = True, intent_reader: str | Path | None = INTENT_READER_DIR,
                   ) -> dict[str, Any]:
    """Base vs tuned on the held-out split; returns (and with json_out writes) the report.

    Variants: "base" (the bare model), "tuned" (the adapter with the intent reader, as served),
    "tuned_model_only" (the adapter choosing among all intents: the reader's baseline).
    intent_reader: the reader's folder for "tuned" (None: the tuned variant has none either).

    reuse: JSON report(s) (a path, or several joined by ",") whose results are copied in
    before `variants` run (e.g. a base measured earlier in another process).
    update_card: also write the metrics into the adapter's manifest and MODEL_CARD.md;
    without it no file of the adapter changes.
    with_handwritten: also read the hand-written parse set (`evals/parse/`) as served.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    adapter = Path(adapter)
    data = load_eval_data(n_parse, n_write)
    echo(f"[eval] held-out: {len(data.parse_cases)} parse + {len(data.write_cases)} write cases "
         f"(train data hash {data.data_hash})")
    report: dict[str, Any] = {}
    examples: list[dict[str, Any]] = []
    for part in str(reuse or "").split(","):
        if part and Path(part).is_file():
            previous = json.loads(Path(part).read_text(encoding="utf-8"))
            for name in ("base", "tuned"):
                if name in previous:  # which held-out set it was measured on
                    report[name] = {"data_hash": previous.get("config", {}).get("data_hash"), **previous[name]}
            if "tokens_per_s" in previous and any(previous["tokens_per_s"].values()):
                report["tokens_per_s"] = previous["tokens_per_s"]
            examples += previous.get("examples", [])
    manifest: dict[str, Any] | None = None
    if "tuned" in variants or "tuned" in report:
        from assistant.llm.loading import read_adapter_manifest

        manifest = read_adapter_manifest(adapter)
        if manifest.get("data_hash") != data.data_hash:
            echo(f"[eval] warning: adapter data hash {manifest.get('data_hash')} != rebuilt {data.data_hash}")
    handwritten: list[Any] = []
    need_judge = shop = None
    if with_handwritten:
        from .parse_set import load_parse_set, needs_book_judge
        from .served_reading import ServingShop

        handwritten = load_parse_set()
        need_judge = needs_book_judge()
        shop = ServingShop()
        echo(f"[eval] hand-written parse set: {len(handwritten)} messages (evals/parse/)")
    reader = None
    if intent_reader is not None and "tuned" in variants:
        from assistant.understand.intent_reader import IntentReader
        from retrieval.embeddings import Embedder

        embedder = Embedder()
        reader = IntentReader.load(intent_reader, embedder.encode, embedder.model_id)
        echo(f"[eval] tuned: intent reader {intent_reader} (held-out accuracy {reader.manifest.get('heldout_accuracy')})")
    for name in variants:
        report[name] = evaluate_variant(name, adapter if name.startswith("tuned") else None, data, echo, examples,
                                        handwritten, need_judge, reader if name == "tuned" else None, shop)
    if "handwritten" in report.get("tuned", {}):
        report["handwritten"] = {k: v for k, v in report["tuned"]["handwritten"].items() if k != "failures"}
    if speed:
        report["tokens_per_s"] = measure_tokens_per_s(echo)
    report.setdefault("tokens_per_s", {"fp32": None, "nf4": None, "llama_cpp": None})
    from assistant.llm.loading import LLMConfig, resolved_head_dtype

    report["config"] = {"model": "packaged:SmolLM2-135M-Instruct", "quantization": "nf4",
                        "head_dtype": resolved_head_dtype(LLMConfig()),
                        "adapter": str(adapter.relative_to(REPO_ROOT)) if adapter.is_relative_to(REPO_ROOT)
                        else str(adapter), "threads": EVAL_THREADS, "data_hash": data.data_hash,
                        "minutes": round((time.perf_counter() - started) / 60, 2)}
    report["examples"] = examples
    publish(report, adapter, json_out, echo, update_card=update_card and manifest is not None)
    return report


def publish(report: dict[str, Any], adapter: Path, json_out: str | Path | None, echo: Echo, *,
            update_card: bool = False) -> None:
    """The report to `json_out`; the adapter's manifest and card only with `update_card`
    (and a tuned result to write)."""
    if json_out is not None:
        path = Path(json_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        echo(f"[eval] wrote {path}")
    if update_card and "tuned" in report:
        update_manifest(adapter, report)
        card = write_model_card(adapter, report)
        echo(f"[eval] updated {adapter / MANIFEST} and {card}")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Evaluate the language model, base vs tuned")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--variants", default="base,tuned")
    parser.add_argument("--reuse")
    parser.add_argument("--n-parse", type=int, default=N_PARSE)
    parser.add_argument("--n-write", type=int, default=N_WRITE)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--no-handwritten", action="store_true", help="skip the hand-written parse set")
    parser.add_argument("--adapter", default=str(ADAPTER_DIR), help="the tuned adapter's folder")
    parser.add_argument("--intent-reader", default=str(INTENT_READER_DIR),
                        help="the intent reader the tuned variant is served with ('none': without)")
    parser.add_argument("--update-card", action="store_true",
                        help="write the metrics into the adapter's manifest and MODEL_CARD.md")
    args = parser.parse_args(argv)
    report = run_model_eval(args.json_out, lambda s: print(s, file=sys.stderr, flush=True), args.n_parse,
                            args.n_write, variants=tuple(v for v in args.variants.split(",") if v),
                            adapter=args.adapter, reuse=args.reuse, speed=not args.no_speed,
                            update_card=args.update_card, with_handwritten=not args.no_handwritten,
                            intent_reader=None if args.intent_reader == "none" else args.intent_reader)
    print(json.dumps({k: v for k, v in report.items() if k != "examples"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
