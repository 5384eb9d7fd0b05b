"""Decode speed and memory of the assistant's model: transformers fp32, NF4, and llama.cpp.

    .venv/bin/python bench/bench_llm.py [--json reports/bench_llm.json] [--threads 2]

All three read the same GGUF (the packaged SmolLM2-135M-Instruct unless --model names
another .gguf). Each variant runs in its own subprocess, so its load time and RSS growth
are its own. Decoding is greedy from a fixed chat prompt for exactly --new-tokens tokens
(end-of-turn ignored); "decode tok/s" counts the tokens after the first, so prompt
processing is reported separately (prefill_ms). The median of --repeats runs is kept.

The GGUF is converted into a fresh temporary model cache first (the "cold" load: once per
machine in real use; --cache-dir reuses a cache instead), then fp32 and NF4 load from it.

llama.cpp comes from llama-cpp-python, an optional bench-only dependency; without it the
llama.cpp numbers are null and the report says how to install it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = [
    {"role": "system", "content": "You are a helpful shopping assistant."},
    {"role": "user", "content": "I am planning a picnic for four people next weekend. "
                                "Suggest a few things I should buy and explain why."},
]
LLAMA_CPP_INSTALL = (
    "pip install -c constraints.txt llama-cpp-python  "
    "(builds llama.cpp from source: needs cmake and a C++ compiler, and takes many minutes)"
)


def _gguf_path(model: str) -> Path:
    from assistant.llm.loading import resolve_model

    source = resolve_model(model)
    if source.kind != "gguf":
        raise SystemExit(f"--model must be a packaged model or a .gguf file, got {model!r}")
    return Path(source.location)


def _rss() -> int:
    from assistant.llm.loading import process_rss

    return process_rss()


# --------------------------------------------------------------------------- variants


def _bench_transformers(quantization: str, args: argparse.Namespace, fuse: bool = True) -> dict[str, Any]:
    import torch

    from assistant.llm.decoding import _cache_kwarg as cache_kwarg
    from assistant.llm.generation import LLMConfig, build_prompt, load_model

    config = LLMConfig(model=args.model, quantization=quantization, threads=args.threads,
                       cache_dir=args.cache_dir, fuse_projections=fuse)
    rss0 = _rss()
    started = time.perf_counter()
    loaded = load_model(config)
    load_s = time.perf_counter() - started
    rss_loaded = _rss()
    tokenizer, model = loaded.tokenizer, loaded.model
    prompt_ids = tokenizer(build_prompt(tokenizer, PROMPT), add_special_tokens=False)["input_ids"]
    kwarg = cache_kwarg(model)

    def run_once() -> tuple[float, float, list[int]]:
        ids = torch.tensor([prompt_ids])
        with torch.inference_mode():
            t0 = time.perf_counter()
            out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
            token = int(out.logits[0, -1].argmax())
            cache = getattr(out, kwarg)
            t1 = time.perf_counter()
            tokens = [token]
            for _ in range(args.new_tokens - 1):
                out = model(input_ids=torch.tensor([[token]]), use_cache=True, logits_to_keep=1,
                            **{kwarg: cache})
                cache = getattr(out, kwarg)
                token = int(out.logits[0, -1].argmax())
                tokens.append(token)
            t2 = time.perf_counter()
        return t1 - t0, (args.new_tokens - 1) / (t2 - t1), tokens

    started = time.perf_counter()
    run_once()  # warm-up (NF4 repacks its weights for the CPU kernel on the first call)
    warmup_s = time.perf_counter() - started
    runs = [run_once() for _ in range(args.repeats)]
    result = {
        "load_seconds": round(load_s, 3),
        "warmup_seconds": round(warmup_s, 1),
        "param_bytes": loaded.memory_bytes,
        "rss_delta_bytes": max(0, rss_loaded - rss0),
        "rss_after_decode_delta_bytes": max(0, _rss() - rss0),
        "prefill_tokens": len(prompt_ids),
        "prefill_ms": round(statistics.median(r[0] for r in runs) * 1000, 1),
        "decode_tokens_per_s": round(statistics.median(r[1] for r in runs), 2),
        "decode_tokens_per_s_runs": [round(r[1], 2) for r in runs],
        "text": tokenizer.decode(runs[0][2], skip_special_tokens=True),
    }
    lm_head = model.get_output_embeddings()
    hidden = torch.randn(1, 1, lm_head.weight.shape[1])
    with torch.inference_mode():
        for _ in range(3):
            lm_head(hidden)
        t0 = time.perf_counter()
        for _ in range(20):
            lm_head(hidden)
    result["lm_head_ms_per_token"] = round((time.perf_counter() - t0) / 20 * 1000, 2)
    result["lm_head_dtype"] = str(lm_head.weight.dtype).replace("torch.", "")
    return result


def _bench_llama_cpp(args: argparse.Namespace) -> dict[str, Any]:
    try:
        import llama_cpp
    except ImportError as exc:
        return {"error": f"llama_cpp not importable ({exc}); install with: {LLAMA_CPP_INSTALL}"}
    from transformers import AutoTokenizer

    from assistant.llm.generation import LLMConfig, build_prompt
    from assistant.llm.loading import ensure_hf_folder

    folder = ensure_hf_folder(LLMConfig(model=args.model, cache_dir=args.cache_dir))
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    prompt_ids = tokenizer(build_prompt(tokenizer, PROMPT), add_special_tokens=False)["input_ids"]
    rss0 = _rss()
    started = time.perf_counter()
    llm = llama_cpp.Llama(model_path=str(_gguf_path(args.model)), n_threads=args.threads,
                          n_threads_batch=args.threads, n_ctx=512, verbose=False)
    load_s = time.perf_counter() - started
    rss_loaded = _rss()
    same_tokens = llm.tokenize(build_prompt(tokenizer, PROMPT).encode(), add_bos=False, special=True)

    def run_once() -> tuple[float, float, list[int]]:
        llm.reset()
        tokens: list[int] = []
        t0 = time.perf_counter()
        t1 = t0
        for token in llm.generate(prompt_ids, top_k=1, temp=0.0, reset=True):
            tokens.append(int(token))
            if len(tokens) == 1:
                t1 = time.perf_counter()
            if len(tokens) == args.new_tokens:
                break
        t2 = time.perf_counter()
        return t1 - t0, (args.new_tokens - 1) / (t2 - t1), tokens

    run_once()
    runs = [run_once() for _ in range(args.repeats)]
    return {
        "llama_cpp_version": getattr(llama_cpp, "__version__", None),
        "load_seconds": round(load_s, 3),
        "file_bytes": _gguf_path(args.model).stat().st_size,
        "rss_delta_bytes": max(0, rss_loaded - rss0),
        "rss_after_decode_delta_bytes": max(0, _rss() - rss0),
        "prefill_tokens": len(prompt_ids),
        "tokenizer_matches_transformers": list(same_tokens) == list(prompt_ids),
        "prefill_ms": round(statistics.median(r[0] for r in runs) * 1000, 1),
        "decode_tokens_per_s": round(statistics.median(r[1] for r in runs), 2),
        "decode_tokens_per_s_runs": [round(r[1], 2) for r in runs],
        "text": tokenizer.decode(runs[0][2], skip_special_tokens=True),
    }


def _convert(args: argparse.Namespace) -> dict[str, Any]:
    from assistant.llm.generation import LLMConfig
    from assistant.llm.loading import ensure_hf_folder

    started = time.perf_counter()
    folder = ensure_hf_folder(LLMConfig(model=args.model, cache_dir=args.cache_dir))
    return {"seconds": round(time.perf_counter() - started, 3), "folder": str(folder)}


VARIANTS = {
    "convert": _convert,
    "fp32": lambda a: _bench_transformers("none", a),
    "nf4": lambda a: _bench_transformers("nf4", a),
    "nf4_unfused": lambda a: _bench_transformers("nf4", a, fuse=False),  # 5 projection calls a layer
    "llama_cpp": _bench_llama_cpp,
}


# --------------------------------------------------------------------------- driver


def _run_variant(name: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--variant", name,
               "--cache-dir", args.cache_dir, "--model", args.model, "--threads", str(args.threads),
               "--new-tokens", str(args.new_tokens), "--repeats", str(args.repeats)]
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    result = json.loads(lines[-1])
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    return result


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _ratio(a: Any, b: Any) -> float | None:
    return round(a / b, 3) if isinstance(a, int | float) and isinstance(b, int | float) and b else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="packaged:SmolLM2-135M-Instruct",
                        help="packaged model or .gguf file (llama.cpp needs the GGUF)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", default=None,
                        help="model cache to use (default: a fresh temporary one, so the first load is cold)")
    parser.add_argument("--skip", action="append", default=[], choices=sorted(VARIANTS),
                        help="leave a variant out (repeatable)")
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--variant", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.variant:  # child process: one measurement, one JSON line
        print(json.dumps(VARIANTS[args.variant](args)), flush=True)
        return 0

    load_before = _loadavg()
    temp = None
    if args.cache_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="cartsmith-bench-cache-")
        args.cache_dir = temp.name
    try:
        results = {name: (None if name in args.skip else _run_variant(name, args)) for name in VARIANTS}
    finally:
        if temp is not None:
            temp.cleanup()
    fp32, nf4, cpp = results["fp32"] or {}, results["nf4"] or {}, results["llama_cpp"] or {}
    report = {
        "model": args.model,
        "gguf": str(_gguf_path(args.model)),
        "threads": args.threads,
        "new_tokens": args.new_tokens,
        "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(),
                    # other processes' load skews every number (OpenMP threads stall when
                    # cores are oversubscribed): judge the run by these
                    "loadavg_1min_before": load_before, "loadavg_1min_after": _loadavg()},
        "conversion_cold_seconds": (results["convert"] or {}).get("seconds"),
        "results": results,
        "tokens_per_s": {
            "fp32": fp32.get("decode_tokens_per_s"),
            "nf4": nf4.get("decode_tokens_per_s"),
            "llama_cpp": cpp.get("decode_tokens_per_s"),
            "nf4_unfused": (results["nf4_unfused"] or {}).get("decode_tokens_per_s"),
        },
        "nf4_fused_over_unfused": _ratio(nf4.get("decode_tokens_per_s"),
                                         (results["nf4_unfused"] or {}).get("decode_tokens_per_s")),
        "nf4_over_fp32": _ratio(nf4.get("decode_tokens_per_s"), fp32.get("decode_tokens_per_s")),
        "nf4_over_llama_cpp": _ratio(nf4.get("decode_tokens_per_s"), cpp.get("decode_tokens_per_s")),
        "target_nf4_over_llama_cpp": 0.3,
    }
    if "error" in cpp:
        report["llama_cpp_note"] = cpp["error"]
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
