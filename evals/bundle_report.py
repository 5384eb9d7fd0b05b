"""report.md, report.html and metrics.png of a bundle benchmark run: every metric before vs
after (a chart and a table) and one row per request (what was asked, what each side gave)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# (key, label, which way is better); the shares share one axis, the others get their own.
SHARES = (("kinds_covered", "kinds covered", "higher"), ("budget_use_median", "budget use (median)", "near 1"),
          ("item_cap_respected", "item cap respected", "higher"), ("filler_share", "filler share", "lower"),
          ("quantity_ok", "quantity ok", "higher"), ("specific_reasons", "specific reasons", "higher"),
          ("cheapest_price_rank", "cheapest: price rank", "lower"))
RATIOS = (("coherence_lift", "coherence lift vs random", "higher"),)
COUNTS = (("over_budget", "over budget", "lower"), ("no_bundle", "no bundle", "lower"))
TEXT_CHARS = 90


def write_json(data: Mapping[str, Any], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _value(result: Mapping[str, Any] | None, key: str) -> float | None:
    value = result.get(key) if result else None
    return None if value is None else float(value)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def chart(before: Mapping[str, Any] | None, after: Mapping[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sides = [("before", before, "#9aa5b1"), ("after", after, "#2f6f9f")] if before else [("now", after, "#2f6f9f")]
    panels = ((SHARES, "share (0-1)"), (RATIOS, "ratio"), (COUNTS, "requests"))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), gridspec_kw={"width_ratios": [len(SHARES), 1.4, 2]})
    width = 0.8 / len(sides)
    for ax, (metrics, unit) in zip(axes, panels, strict=True):
        x = np.arange(len(metrics))
        for n, (name, result, colour) in enumerate(sides):
            values = [_value(result, key) for key, _, _ in metrics]
            bars = ax.bar(x + (n - (len(sides) - 1) / 2) * width, [v or 0.0 for v in values], width,
                          label=name, color=colour)
            for bar, value in zip(bars, values, strict=True):
                ax.annotate(_cell(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, [f"{label}\n({better} is better)" for _, label, better in metrics],
                      fontsize=7, rotation=20, ha="right")
        ax.set_ylabel(unit)
        if metrics is RATIOS:
            ax.axhline(1.0, color="#999", linewidth=0.8, linestyle="--")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Bundle benchmark: {after.get('requests')} requests", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _summary_rows(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for key, label, better in (*SHARES, *RATIOS, *COUNTS):
        b, a = _value(before, key), _value(after, key)
        change = "" if a is None or b is None else f"{a - b:+.3f}"
        rows.append([label, better, _cell(b), _cell(a), change] if before else [label, better, _cell(a)])
    return rows


def _request_rows(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[list[str]]:
    earlier = {r["id"]: r for r in (before or {}).get("by_request", [])}
    rows = []
    for r in after.get("by_request", []):
        b = earlier.get(r["id"])
        text = r["text"] if len(r["text"]) <= TEXT_CHARS else r["text"][:TEXT_CHARS] + "…"
        kinds = f"{len(r['kinds_found'])}/{r['kinds_total']}"
        if b is not None:
            kinds = f"{_cell(b['kinds_covered'])} → {_cell(r['kinds_covered'])}"
        money = "-" if r["total"] is None else f"£{r['total']:.2f}" + (f" / £{r['budget']:.0f}" if r["budget"] else "")
        items = "; ".join(f"{ln['quantity']} × {ln['title']} (£{ln['price']:.2f})" if ln["quantity"] != 1
                          else f"{ln['title']} (£{ln['price']:.2f})" for ln in r["items"]) or (r.get("reply_kind") or "-")
        flags = [f"filler {_cell(r['filler_share'])}" if r["filler_share"] else "",
                 "OVER BUDGET" if r["over_budget"] else "",
                 "cap broken" if r["item_cap_ok"] is False else "",
                 {True: "qty ok", False: "qty short"}.get(r["quantity_ok"], ""),
                 f"lift ×{_cell(r['coherence_ratio'])}" if r["coherence_ratio"] is not None else "",
                 f"specific {_cell(r['specific_reasons'])}" if r["specific_reasons"] is not None else ""]
        rows.append([r["id"], r["group"], text, kinds, money, ", ".join(f for f in flags if f), items])
    return rows


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def compare_report(before: Mapping[str, Any] | None, after: Mapping[str, Any], out_dir: Path) -> Path:
    """Write report.md, report.html and metrics.png into `out_dir`; returns report.html.
    `before` may be None (a run of one variant): the report then shows that run alone."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chart(before, after, out_dir / "metrics.png")
    names = (before.get("label", "before"), after.get("label", "after")) if before else (after.get("label", "now"),)
    summary_header = ["metric", "better", *names, "change"] if before else ["metric", "better", names[0]]
    request_header = ["id", "group", "request", "kinds covered", "total / budget", f"{names[-1]}: checks",
                      f"{names[-1]}: items"]
    summary, requests = _summary_rows(before, after), _request_rows(before, after)
    title = f"Bundle benchmark: {' vs '.join(names)}"
    intro = (f"{after.get('requests')} requests, writer {after.get('writer', '?')}; metric definitions: "
             "evals/bundle_judge.py.")
    md = "\n\n".join([f"# {title}", intro, "![metrics](metrics.png)", _markdown_table(summary_header, summary),
                      "## Requests", _markdown_table(request_header, requests)]) + "\n"
    (out_dir / "report.md").write_text(md, encoding="utf-8")
    style = ("body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;"
             "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}"
             "img{max-width:100%}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>"
            f"<img src='metrics.png' alt='metrics before vs after'>{_html_table(summary_header, summary)}"
            f"<h2>Requests</h2>{_html_table(request_header, requests)}</body></html>\n")
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
