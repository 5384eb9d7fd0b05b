"""Summary, report.json and report.html (with embedded matplotlib charts) of a dialogue run.

The summary (`--json OUT`) is `{"scripts", "expectations", "passed", "pass_rate", "by_kind",
...}`; the report adds every turn of every script (the shopper's text truncated where it is
very long), the pass rate per expectation kind, latency percentiles and, for each failing
script, its failures and its whole transcript.
"""

from __future__ import annotations

import base64
import collections
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from .expect_base import Observation
from .run_records import RunResult, ScriptResult

USER_TEXT_CHARS = 400  # the 100 kB input is shown as its start and its length


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p95": None, "max": None, "mean": None}
    arr = np.asarray(values, dtype=float)
    p50, p90, p95 = (round(float(np.percentile(arr, q)), 3) for q in (50, 90, 95))
    return {"n": len(values), "p50": p50, "p90": p90, "p95": p95, "max": round(float(arr.max()), 3),
            "mean": round(float(arr.mean()), 3)}


def _message_turns(run: RunResult) -> list[Observation]:
    return [obs for r in run.results for obs in r.observations if obs.action == "say"]


def summarize(run: RunResult) -> dict[str, Any]:
    outcomes = [o for r in run.results for o in r.outcomes]
    kinds: dict[str, list[bool]] = collections.defaultdict(list)
    for o in outcomes:
        kinds[o.kind].append(o.passed)
    passed = sum(o.passed for o in outcomes)
    turns = _message_turns(run)
    by_reply: dict[str, list[float]] = collections.defaultdict(list)
    for obs in turns:
        label = obs.reply.kind if obs.reply else "rejected" if obs.rejected else "error"
        by_reply[label].append(obs.latency_s)
    return {
        "scripts": len(run.results),
        "expectations": len(outcomes),
        "passed": passed,
        "pass_rate": round(passed / len(outcomes), 4) if outcomes else 0.0,
        "by_kind": {k: {"expectations": len(v), "passed": sum(v), "pass_rate": round(sum(v) / len(v), 4)}
                    for k, v in sorted(kinds.items())},
        "scripts_all_passed": sum(r.passed == len(r.outcomes) for r in run.results),
        "turns": len(turns),
        "writer": run.writer,
        "latency_s": percentiles([obs.latency_s for obs in turns]),
        "latency_by_reply_kind_s": {k: percentiles(v) for k, v in sorted(by_reply.items())},
        # with --writer model, how many bundle replies kept the model's words (the rest fell back)
        "bundle_replies_by_writer": dict(sorted(collections.Counter(
            obs.reply.writer for obs in turns if obs.reply is not None and obs.reply.kind == "bundle").items())),
        "errors": sum(obs.error is not None for r in run.results for obs in r.observations),
        "seconds": run.seconds,
        "warmups_s": run.warmups_s,
    }


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"dialogues: {summary['scripts']} scripts ({summary['scripts_all_passed']} fully passed), "
             f"{summary['expectations']} expectations, {summary['passed']} passed "
             f"({summary['pass_rate']:.1%}), writer {summary['writer']}"]
    for kind, row in sorted(summary["by_kind"].items(), key=lambda kv: (kv[1]["pass_rate"], kv[0])):
        lines.append(f"  {kind:<22} {row['passed']:>4}/{row['expectations']:<4} {row['pass_rate']:.1%}")
    lat = summary["latency_s"]
    if lat["n"]:
        lines.append(f"latency over {lat['n']} messages: p50 {lat['p50']:.2f} s, p90 {lat['p90']:.2f} s, "
                     f"p95 {lat['p95']:.2f} s, max {lat['max']:.2f} s")
    writers = summary["bundle_replies_by_writer"]
    if writers:
        lines.append("bundle replies worded by: " + ", ".join(f"{k} {v}" for k, v in writers.items()))
    if summary["errors"]:
        lines.append(f"turns that raised an unexpected error: {summary['errors']}")
    return "\n".join(lines)


def write_json(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def shown_text(text: str) -> str:
    if len(text) <= USER_TEXT_CHARS:
        return text
    return f"{text[:USER_TEXT_CHARS]}… [{len(text):,} characters in all]"


def observation_dict(obs: Observation) -> dict[str, Any]:
    reply = obs.reply
    out: dict[str, Any] = {
        "turn": obs.turn, "action": obs.action, "user_text": shown_text(obs.user_text),
        "user_chars": len(obs.user_text), "latency_s": obs.latency_s,
        "rejected": None if obs.rejected is None else {"field": obs.rejected.field, "limit": obs.rejected.limit,
                                                       "message": obs.rejected.message},
        "error": obs.error, "reply": None,
        "cart": [line.to_dict() for line in obs.cart], "constraints": dict(obs.constraints),
        "expectations": [o.to_dict() for o in obs.outcomes],
    }
    if reply is not None:
        bundle = reply.bundle
        out["reply"] = {
            "text": reply.text, "kind": reply.kind, "request": reply.request.to_dict() if reply.request else None,
            "bundle": [{"item_id": bi.item.item_id, "title": bi.item.title, "price": bi.item.price,
                        "category": bi.item.category, "locked": bi.locked} for bi in bundle.items] if bundle else [],
            "total": bundle.total if bundle else None, "budget": bundle.budget if bundle else None,
            "diff": bundle.diff.to_dict() if bundle else None,
            "alternatives": [{"item_id": it.item_id, "title": it.title, "price": it.price}
                             for it in reply.alternatives],
            "timings": dict(reply.timings), "writer": reply.writer, "tokens_generated": reply.tokens_generated,
        }
    return out


def script_dict(result: ScriptResult) -> dict[str, Any]:
    s = result.script
    return {"name": s.name, "description": s.description, "path": str(s.path), "catalog": s.catalog or "default",
            "user_id": s.user_id, "expectations": len(result.outcomes), "passed": result.passed,
            "seconds": result.seconds, "turns": [observation_dict(obs) for obs in result.observations]}


# --------------------------------------------------------------------------- charts


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def charts(summary: dict[str, Any], latencies: list[float]) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(summary["by_kind"].items(), key=lambda kv: kv[1]["pass_rate"])
    fig, ax = plt.subplots(figsize=(8, 0.32 * max(len(rows), 4) + 1.2))
    rates = [r["pass_rate"] * 100 for _, r in rows]
    ax.barh([k for k, _ in rows], rates, color=["#c0392b" if v < 80 else "#2e86c1" for v in rates])
    for y, (_, r) in enumerate(rows):
        ax.text(min(r["pass_rate"] * 100 + 1, 101), y, f"{r['passed']}/{r['expectations']}", va="center", fontsize=8)
    ax.set_xlim(0, 112)
    ax.set_xlabel("expectations passed (%)")
    ax.set_title(f"Pass rate per expectation kind (overall {summary['pass_rate']:.1%}, writer {summary['writer']})")
    out = {"pass_rate_by_kind.png": _png(fig)}

    fig, ax = plt.subplots(figsize=(8, 3.6))
    if latencies:
        ax.hist(latencies, bins=min(30, max(5, len(latencies) // 4)), color="#7f8c8d")
        lat = summary["latency_s"]
        for name, color in (("p50", "#27ae60"), ("p90", "#f39c12"), ("p95", "#c0392b")):
            ax.axvline(lat[name], color=color, linestyle="--", label=f"{name} {lat[name]:.2f} s")
        ax.legend()
    ax.set_xlabel("seconds per message (end to end)")
    ax.set_ylabel("messages")
    ax.set_title("Turn latency")
    out["latency.png"] = _png(fig)
    return out


# --------------------------------------------------------------------------- HTML

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;
vertical-align:top;font-size:14px}.fail{color:#b03a2e;font-weight:600}.pass{color:#1e8449}
pre{white-space:pre-wrap;margin:0;font-size:13px}.turn{border-left:3px solid #ccc;padding-left:8px;margin:6px 0}"""


def _e(value: Any) -> str:
    return html.escape(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def _transcript(result: ScriptResult) -> str:
    parts = []
    for obs in result.observations:
        if obs.reply is not None:
            request = obs.reply.request.to_json() if obs.reply.request else "none"
            said = f"<b>{obs.reply.kind}</b> ({obs.latency_s:.2f} s, writer {obs.reply.writer}, parsed " \
                   f"<code>{_e(request)}</code>): <pre>{_e(obs.reply.text)}</pre>"
        elif obs.rejected is not None:
            said = f"<b>rejected</b>: {_e(obs.rejected.message)}"
        elif obs.error is not None:
            said = f"<b class='fail'>error</b>: {_e(obs.error)}"
        else:
            said = f"<i>{obs.action}</i> ({obs.latency_s:.2f} s)"
        checks = "".join(f"<li class='{'pass' if o.passed else 'fail'}'>{_e(o.kind)} = {_e(o.expected)}: "
                         f"{_e(o.reason)}</li>" for o in obs.outcomes)
        cart = ", ".join(line.title for line in obs.cart) or "empty"
        parts.append(f"<div class='turn'><b>{obs.turn}. shopper</b>: {_e(shown_text(obs.user_text))}<br>"
                     f"assistant: {said}<small>cart: {_e(cart)}</small><ul>{checks}</ul></div>")
    return "".join(parts)


def render_html(run: RunResult, summary: dict[str, Any], images: dict[str, bytes]) -> str:
    def img(name: str) -> str:
        return f"<img alt='{name}' src='data:image/png;base64,{base64.b64encode(images[name]).decode()}'>"

    kinds = "".join(f"<tr><td>{_e(k)}</td><td>{r['passed']}/{r['expectations']}</td><td>{r['pass_rate']:.1%}</td></tr>"
                    for k, r in sorted(summary["by_kind"].items(), key=lambda kv: kv[1]["pass_rate"]))
    lat_rows = [("all messages", summary["latency_s"]), *summary["latency_by_reply_kind_s"].items()]
    lat = "".join(f"<tr><td>{_e(k)}</td><td>{v['n']}</td>" + "".join(
        f"<td>{v[q]:.2f}</td>" if v[q] is not None else "<td></td>" for q in ("p50", "p90", "p95", "max"))
        + "</tr>" for k, v in lat_rows)
    scripts = "".join(
        f"<tr><td><a href='#{_e(r.script.name)}'>{_e(r.script.name)}</a></td><td>{_e(r.script.description)}</td>"
        f"<td class='{'pass' if r.passed == len(r.outcomes) else 'fail'}'>{r.passed}/{len(r.outcomes)}</td></tr>"
        for r in run.results)
    worded = ", ".join(f"{k} {v}" for k, v in summary["bundle_replies_by_writer"].items()) or "none"
    failures = []
    for r in run.results:
        failed = [(obs.turn, o) for obs in r.observations for o in obs.outcomes if not o.passed]
        if not failed:
            continue
        items = "".join(f"<li>turn {t}: <b>{_e(o.kind)}</b> = {_e(o.expected)} — {_e(o.reason)}</li>" for t, o in failed)
        failures.append(f"<h3 id='{_e(r.script.name)}'>{_e(r.script.name)}</h3><p>{_e(r.script.description)} "
                        f"<small>({_e(str(r.script.path))})</small></p><ul class='fail'>{items}</ul>"
                        f"<details open><summary>transcript</summary>{_transcript(r)}</details>")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>cartsmith dialogue evals</title>
<style>{_CSS}</style></head><body>
<h1>Scripted dialogues</h1>
<p>{summary['scripts']} scripts ({summary['scripts_all_passed']} fully passed), {summary['turns']} messages,
<b>{summary['passed']}/{summary['expectations']} expectations passed ({summary['pass_rate']:.1%})</b>;
writer <b>{_e(summary['writer'])}</b> (bundle replies worded by: {_e(worded)}); {summary['seconds']:.0f} s;
unexpected errors: {summary['errors']}.</p>
{img('pass_rate_by_kind.png')}
<table><tr><th>expectation kind</th><th>passed</th><th>rate</th></tr>{kinds}</table>
<h2>Latency (seconds, end to end per message)</h2>{img('latency.png')}
<table><tr><th>reply kind</th><th>n</th><th>p50</th><th>p90</th><th>p95</th><th>max</th></tr>{lat}</table>
<h2>Scripts</h2><table><tr><th>script</th><th>what it checks</th><th>passed</th></tr>{scripts}</table>
<h2>Failures, with transcripts</h2>{''.join(failures) or '<p>none</p>'}
</body></html>
"""


def write_report(run: RunResult, folder: Path) -> Path:
    """report.json, report.html (charts embedded) and the charts as PNG files; returns the HTML path."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarize(run)
    images = charts(summary, [obs.latency_s for obs in _message_turns(run)])
    for name, data in images.items():
        (folder / name).write_bytes(data)
    payload = {"summary": summary, "scripts": [script_dict(r) for r in run.results]}
    (folder / "report.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    page = folder / "report.html"
    page.write_text(render_html(run, summary, images), encoding="utf-8")
    return page
