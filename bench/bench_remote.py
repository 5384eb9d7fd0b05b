"""The remote model against the in-process one: parse and write latency, JSON validity.

    .venv/bin/python bench/bench_remote.py [--n-parse 12] [--n-write 6] [--threads 1]
        [--lora auto|none|FILE.gguf] [--llama-cpp-src DIR] [--json bench/results/bench_remote.json]

Starts a real OpenAI-compatible server on loopback (llama.cpp's `llama-server` from
$LLAMA_SERVER or PATH, else llama-cpp-python's server; tests/remote_server.py) with the
packaged GGUF and, when it can be had, the shipped adapter as a GGUF LoRA: --lora FILE, or
(auto) converted once with llama.cpp's convert_lora_to_gguf.py from --llama-cpp-src /
$LLAMA_CPP_SRC into the model cache. Then the product's own `RequestParser` and
`BundleWriter` run over `RemoteChatModel` (every reply through the same checks), and
afterwards over the model loaded in this process (NF4, the same adapter or none, the same
threads), on the same ordinary shopper messages (evals/parse/handwritten_requests.yaml) and
bundles composed from the default shop. Reported per side: the median and p90 seconds of
a parse and of a write, the share of parse replies that are valid JSON of the request
schema, the share that became a request (the guide's checks included), the share of
answers the model's words passed the writer's checks with. No deadline: a write takes as
long as it takes.
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
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

NEEDS = [("a tea party", 20.0), ("a picnic for four", None), ("christmas decorations for the tree", 15.0),
         ("a gift for a girl who likes unicorns", None), ("a garden party", 30.0),
         ("a present for my mum who loves baking", 25.0), ("a new baby", 20.0), ("a housewarming", 20.0)]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def messages(n: int) -> list[str]:
    import yaml

    data = yaml.safe_load((ROOT / "evals" / "parse" / "handwritten_requests.yaml").read_text(encoding="utf-8"))
    return [case["say"] for case in data["cases"][:n]]


def write_cases(n: int) -> tuple[list[tuple[Any, str]], tuple[str, ...]]:
    """Bundles the product composes for ordinary needs (no model involved), and the shop's titles."""
    from scripted_model import ScriptedParser, default_shop_index

    from assistant.dialogue.service import Assistant, AssistantConfig
    from assistant.records import Request
    from assistant.write.writer import TemplateWriter

    folder = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    assistant = Assistant(AssistantConfig(sessions=str(folder / "s.sqlite3"), writer="template"),
                          index=default_shop_index(), parser=ScriptedParser(), writer=TemplateWriter())
    cases = []
    for need, budget in NEEDS[:n]:
        state = assistant.state(assistant.open_session())
        result = assistant.actions.run(Request("bundle", need=need, budget=budget), state, need)
        if result.bundle is not None and result.bundle.items:
            cases.append((result.bundle, result.need_text or need))
    return cases, tuple(item.title for item in assistant.index.catalog.items)


def lora_gguf(choice: str, src: str | None, echo: Any) -> tuple[Path | None, str]:
    """(the shipped adapter as a GGUF LoRA, or None; how it was had or why not)."""
    import remote_server

    if choice == "none":
        return None, "not asked for (--lora none)"
    if choice != "auto":
        path = Path(choice)
        if not path.is_file():
            raise SystemExit(f"--lora: no file {path}")
        return path, f"given: {path}"
    given = remote_server.lora_gguf()
    if given is not None:
        return given, f"${remote_server.LORA_GGUF_ENV}: {given}"
    from assistant.dialogue.assistant_config import SHIPPED_ADAPTER
    from assistant.llm.generation import LLMConfig, ensure_hf_folder
    from assistant.llm.model_files import file_sha256

    src = src or os.environ.get("LLAMA_CPP_SRC")
    script = Path(src) / "convert_lora_to_gguf.py" if src else None
    if script is None or not script.is_file():
        return None, ("no llama.cpp source with convert_lora_to_gguf.py (--llama-cpp-src or $LLAMA_CPP_SRC): "
                      "the base model is served on both sides")
    base = ensure_hf_folder(LLMConfig())
    digest = file_sha256(SHIPPED_ADAPTER / "adapter_model.safetensors")[:16]
    out = Path(LLMConfig().cache_dir) / "lora-gguf" / f"cartsmith-smollm2-lora-{digest}.f32.gguf"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        echo(f"[bench] converting the shipped adapter to a GGUF LoRA: {out}")
        subprocess.run([sys.executable, str(script), "--base", str(base), "--outtype", "f32", "--outfile",
                        str(out), str(SHIPPED_ADAPTER)], check=True, capture_output=True, timeout=600)
    return out, f"converted with {script.name} from the shipped adapter"


def measure(model: Any, msgs: list[str], cases: list[tuple[Any, str]], titles: tuple[str, ...],
            echo: Any, label: str) -> dict[str, Any]:
    import jsonschema

    from assistant.understand.parser import RequestParser, request_json_schema
    from assistant.write.writer import BundleWriter

    validator = jsonschema.Draft202012Validator(request_json_schema())
    parser = RequestParser(model)
    writer = BundleWriter(model, other_titles=titles)
    parser.parse("hello")  # warm: first-call costs (connection, caches) are not a parse's
    parse_s, valid, ok, attempts, parse_tokens, rows = [], 0, 0, 0, 0, []
    for text in msgs:
        result = parser.parse(text)
        parse_s.append(result.seconds)
        raw = result.raw_text
        try:
            data = json.loads(raw[raw.find("{"):raw.find("}") + 1])
            is_valid = validator.is_valid(data)
        except ValueError:
            is_valid = False
        valid += is_valid
        ok += result.request is not None
        attempts += result.attempts
        parse_tokens += result.tokens
        rows.append({"say": text, "raw": raw, "valid_json": is_valid, "error": result.error})
    echo(f"[bench] {label}: {len(msgs)} parses, median {statistics.median(parse_s):.2f}s")
    write_s, by_model, write_tokens, written_rows = [], 0, 0, []
    for bundle, need in cases:
        started = time.perf_counter()
        written = writer.write(bundle, need)
        write_s.append(time.perf_counter() - started)
        by_model += written.writer == "model"
        write_tokens += written.tokens
        written_rows.append({"need": need, "writer": written.writer, "attempts": written.attempts,
                             "raw": written.raw_text})
    echo(f"[bench] {label}: {len(cases)} writes, median {statistics.median(write_s):.2f}s")
    n, m = len(msgs), len(cases)
    return {
        "parse_median_s": round(statistics.median(parse_s), 3),
        "parse_p90_s": round(percentile(parse_s, 0.9) or 0.0, 3),
        "json_valid_share": round(valid / n, 3),
        "request_share": round(ok / n, 3),
        "parse_attempts_mean": round(attempts / n, 2),
        "parse_tokens_mean": round(parse_tokens / n, 1),
        "write_median_s": round(statistics.median(write_s), 3),
        "write_p90_s": round(percentile(write_s, 0.9) or 0.0, 3),
        "model_words_share": round(by_model / m, 3),
        "write_tokens_mean": round(write_tokens / m, 1),
        "parses": rows,
        "writes": written_rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-parse", type=int, default=12)
    ap.add_argument("--n-write", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1, help="threads for both the server and the local model")
    ap.add_argument("--lora", default="auto", help="auto (default), none, or a GGUF LoRA file")
    ap.add_argument("--llama-cpp-src", help="a llama.cpp source folder (for convert_lora_to_gguf.py)")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "bench_remote.json")
    args = ap.parse_args(argv)

    import remote_server

    from assistant.llm.remote import RemoteChatModel, RemoteModelConfig
    from retrieval.storage import write_json

    def echo(line: str) -> None:
        print(line, flush=True)

    kind = remote_server.find_server()
    report: dict[str, Any] = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                          "threads": args.threads, "load_avg_start": os.getloadavg()}}
    if kind is None:
        report["remote"] = None
        report["reason"] = remote_server.INSTALL
        write_json(args.json, report)
        echo(f"[bench] {remote_server.INSTALL}")
        return 1
    lora, lora_note = lora_gguf(args.lora, args.llama_cpp_src, echo)
    msgs = messages(args.n_parse)
    cases, titles = write_cases(args.n_write)
    echo(f"[bench] {len(msgs)} messages, {len(cases)} bundles; server {kind.name}; adapter: {lora_note}")
    with remote_server.openai_server(kind, lora=lora, threads=args.threads) as server:
        echo(f"[bench] {kind.name} ready at {server.url} in {server.start_s:.1f}s")
        remote = RemoteChatModel(RemoteModelConfig(base_url=server.url, timeout_s=300, max_retries=0,
                                                   structured_output=kind.structured_output))
        remote_report = measure(remote, msgs, cases, titles, echo, f"remote ({kind.name})")
        remote_report["start_s"] = round(server.start_s, 2)

    from assistant.dialogue.assistant_config import SHIPPED_ADAPTER
    from assistant.llm.generation import LLMConfig, load_model

    started = time.perf_counter()
    loaded = load_model(LLMConfig(adapter=str(SHIPPED_ADAPTER) if lora else None, threads=args.threads))
    local_report = measure(loaded, msgs, cases, titles, echo, "local (in-process, NF4)")
    local_report["load_s"] = round(time.perf_counter() - started, 2)

    report["machine"]["load_avg_end"] = os.getloadavg()
    report.update({
        "server": {"kind": kind.name, "argv0": kind.argv[-1], "structured_output": kind.structured_output},
        "adapter": {"lora_gguf": str(lora) if lora else None, "how": lora_note,
                    "local": str(SHIPPED_ADAPTER) if lora else None},
        "n_parse": len(msgs), "n_write": len(cases),
        "remote": remote_report, "local": local_report,
    })
    write_json(args.json, report)
    keys = ("parse_median_s", "parse_p90_s", "json_valid_share", "request_share", "write_median_s",
            "write_p90_s", "model_words_share")
    echo(f"{'':24}{'remote':>12}{'local':>12}")
    for key in keys:
        echo(f"{key:24}{remote_report[key]:>12}{local_report[key]:>12}")
    echo(f"[bench] wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
