"""The load bench's report: the curve's chart, and both modes run each in a process of its
own (`bench_load.py --mode both`, the default), their runs written as one report."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def write_chart(curve: list[dict[str, Any]], unbatched: dict[str, Any] | None, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sessions = [point["sessions"] for point in curve]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(sessions, [p["throughput_turns_per_s"] for p in curve], marker="o", label="batched")
    right.plot(sessions, [p["latency_s"]["p50"] for p in curve], marker="o", label="p50 batched")
    right.plot(sessions, [p["latency_s"]["p95"] for p in curve], marker="s", label="p95 batched")
    if unbatched is not None:
        left.scatter([unbatched["sessions"]], [unbatched["throughput_turns_per_s"]], color="red", label="unbatched")
        right.scatter([unbatched["sessions"]], [unbatched["latency_s"]["p95"]], color="red", label="p95 unbatched")
    left.set(xlabel="concurrent sessions", ylabel="turns / s", title="Throughput")
    right.set(xlabel="concurrent sessions", ylabel="seconds per turn", title="Turn latency")
    for axis in (left, right):
        axis.set_xscale("log", base=2)
        axis.legend()
        axis.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def each_mode_in_its_own_process(args: argparse.Namespace, argv: list[str], script: Path) -> int:
    """Run `--mode unbatched` and `--mode batched` (with the curve) as child processes of
    this script, one after the other, and write their runs as one report."""
    import subprocess
    import tempfile

    common = ["--sessions", str(args.sessions), "--turns", str(args.turns), "--writer", args.writer]
    if args.parse_prompt:
        common += ["--parse-prompt", args.parse_prompt]
    if args.busy_rows is not None:
        common += ["--busy-rows", str(args.busy_rows)]
    reports: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for mode in ("unbatched", "batched"):
            out = Path(folder) / f"{mode}.json"
            extra = (["--curve", args.curve, "--chart", str(Path(folder) / "chart.png")]
                     + (["--curve-turns", str(args.curve_turns)] if args.curve_turns else [])
                     if mode == "batched" else ["--curve", ""])
            done = subprocess.run([sys.executable, str(script), "--mode", mode, *common, *extra, "--json", str(out)],
                                  check=False)
            if not out.exists():
                print(f"the {mode} run wrote no report (exit {done.returncode})", file=sys.stderr)
                return done.returncode or 1
            reports[mode] = json.loads(out.read_text(encoding="utf-8"))
    unbatched, batched = reports["unbatched"], reports["batched"]
    report: dict[str, Any] = {"unbatched": unbatched["unbatched"], "batched": batched["batched"],
                              "curve": batched.get("curve", [])}
    if report["curve"]:
        write_chart(report["curve"], report["unbatched"], args.chart)
    report["throughput_ratio_batched_over_unbatched"] = round(
        report["batched"]["throughput_turns_per_s"] / report["unbatched"]["throughput_turns_per_s"], 2)
    report.update({"writer": args.writer, "model_load_s": batched["model_load_s"], "parse_prompt": batched["parse_prompt"],
                   "processes": "each mode in its own process",
                   "command": " ".join(["python bench/bench_load.py", *argv]),
                   "machine": batched["machine"], "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")})
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(text + "\n", encoding="utf-8")
    runs = [report["unbatched"], report["batched"], *report["curve"]]
    return 0 if all(r["errors"] == 0 and r["leaks"] == 0 for r in runs) else 1
