"""`bench/bench_thread_teams.py` runs and writes its report (what it measures is read in
docs/BENCHMARKS.md, never asserted here: timings are the bench's, not a test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_thread_teams_bench_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "teams.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_thread_teams.py"), "--repeats", "1",
                           "--json", str(out)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    timed = ("main_2_threads", "main_1_thread", "fresh_thread_2_threads", "decoding_thread_first_2_threads")
    assert set(report) == {*timed, "fresh_thread_over_main", "cpus"}
    assert all(report[key] > 0 for key in timed)
    assert json.loads(done.stdout) == report
