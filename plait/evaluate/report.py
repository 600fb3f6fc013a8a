"""HTML report comparing two evaluation runs: details, metrics, bootstrap CI, plots and changed items.

The report is one self-contained file (inline CSS, plots as base64 PNGs), so it can be mailed or
attached to a CI job and opened anywhere, offline.

Example:
    >>> html_report(comparison, "report.html")  # doctest: +SKIP
    PosixPath('report.html')
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

# The object-oriented Figure needs no pyplot and no backend choice, so importing this module
# never touches the user's interactive matplotlib state.
from matplotlib.figure import Figure

MAX_ITEMS = 50
"""Rows shown per regressed / improved table; the rest are counted, not listed."""

ANNOTATE_MAX = 20
"""Confusion matrices up to this many labels get the count written in each cell."""

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;
padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.text{max-width:28em;white-space:pre-wrap;word-break:break-word}
.better{color:#18794e;font-weight:600}.worse{color:#c62828;font-weight:600}
.muted{color:#777}.warn{color:#b26a00}code{font-size:.95em}
.pair{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}.pair figure{margin:0}
img{max-width:100%;height:auto}figcaption{color:#555;text-align:center}
"""


def confusion_png(labels: Sequence[str], matrix: Sequence[Sequence[int]], *, title: str = "",
                  path: str | Path | None = None) -> bytes:
    """Render a confusion matrix (rows expected, columns predicted) as a heat-map PNG.

    The figure and font scale with the label count so ~80 labels stay readable; cells carry
    their count only up to ``ANNOTATE_MAX`` labels. ``path`` also writes the PNG there.

    Example:
        >>> png = confusion_png(["no", "yes"], [[5, 1], [2, 7]], title="run 3")
        >>> png[:4]
        b'\\x89PNG'
    """
    n = len(labels)
    if n == 0 or len(matrix) != n or any(len(row) != n for row in matrix):
        raise ValueError(f"confusion_png needs a square matrix with one row and column per label "
                         f"({n} labels, {len(matrix)} rows); build it from the same label list.")
    size = min(24.0, 3.0 + 0.22 * n)
    font = max(7.0, min(10.0, 160 / n))
    fig = Figure(figsize=(size + 1.2, size), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues", interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(n), [str(x) for x in labels], rotation=90, fontsize=font)
    ax.set_yticks(range(n), [str(x) for x in labels], fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("expected")
    if title:
        ax.set_title(title)
    if n <= ANNOTATE_MAX:
        top = max((max(row) for row in matrix), default=0)
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                # Dark cells need light text to stay legible.
                color = "white" if top and count > top / 2 else "black"
                ax.text(j, i, str(count), ha="center", va="center", fontsize=font, color=color)
    png = _png(fig)
    if path is not None:
        Path(path).write_bytes(png)
    return png


def html_report(comparison: Mapping[str, Any], path: str | Path) -> Path:
    """Write the comparison of two runs as one self-contained HTML file and return its path.

    ``comparison`` is the dict that compares runs A and B (their summaries, metrics, the bootstrap
    CI of the main metric, regressed and improved items). Every string from it is HTML-escaped.

    Example:
        >>> html_report(comparison, "reports/3-vs-4.html")  # doctest: +SKIP
        PosixPath('reports/3-vs-4.html')
    """
    a, b = comparison["a"], comparison["b"]
    title = f"plait eval: {a['id']} vs {b['id']}"
    body = [
        f"<h1>{_e(title)}</h1>",
        "<h2>Runs</h2>", _runs_table(a, b),
        "<h2>Metrics</h2>", _metrics_table(comparison["metrics"], a, b),
        _ci_sentence(comparison.get("ci")),
        _metrics_chart(comparison["metrics"], a, b),
        _confusion_section(a, b),
        _items_section("Regressed", "right in A, wrong in B", comparison.get("regressed") or [], a, b),
        _items_section("Improved", "wrong in A, right in B", comparison.get("improved") or [], a, b),
    ]
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(part for part in body if part) + "\n</body></html>\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _runs_table(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    def dataset(run):
        return f"{_e(run['dataset'])} <code>{_e(run['dataset_hash'])}</code>"

    rows = [
        ("target", _e(a["target"]), _e(b["target"])),
        ("prompts", _e(", ".join(map(str, a["prompts"]))) or "–", _e(", ".join(map(str, b["prompts"]))) or "–"),
        ("models", _e(", ".join(map(str, a["models"]))) or "–", _e(", ".join(map(str, b["models"]))) or "–"),
        ("dataset", dataset(a), dataset(b)),
        ("items", _e(a["n"]), _e(b["n"])),
        ("created", _e(a["created"]), _e(b["created"])),
        ("mean latency (ms)", _num(a.get("latency_ms_mean"), 1), _num(b.get("latency_ms_mean"), 1)),
        ("mean tokens", _num(a.get("tokens_mean"), 1), _num(b.get("tokens_mean"), 1)),
    ]
    html = _table(["", f"A: run {_e(a['id'])}", f"B: run {_e(b['id'])}"], rows)
    if a["dataset_hash"] != b["dataset_hash"]:
        # Scores on different items are not comparable item by item; say so where it is read.
        html += ('<p class="warn">The runs used different datasets (different hashes): '
                 "metric differences mix model changes with data changes.</p>")
    return html


def _metrics_table(metrics: Sequence[Mapping[str, Any]], a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    rows = []
    for m in metrics:
        diff = m.get("diff")
        css = ""
        if diff:
            css = "better" if (diff > 0) == bool(m.get("higher_is_better", True)) else "worse"
        arrow = "↑" if m.get("higher_is_better", True) else "↓"
        rows.append((f"{_e(m['name'])} <span class=\"muted\">{arrow}</span>", _num(m.get("a")),
                     _num(m.get("b")), f'<span class="{css}">{_signed(diff)}</span>'))
    return _table(["metric", f"A: run {_e(a['id'])}", f"B: run {_e(b['id'])}", "B − A"], rows, numeric=(1, 2, 3))


def _ci_sentence(ci: Mapping[str, Any] | None) -> str:
    if not ci:
        return ""
    sentence = (f"{_e(ci['metric'])}: {_signed(ci['diff'])} ({ci['level']:.0%} CI {_signed(ci['low'])} "
                f"to {_signed(ci['high'])}, {int(ci['resamples'])} resamples)")
    verdict = "includes 0: no clear difference" if ci["low"] <= 0 <= ci["high"] else "excludes 0"
    return f'<p id="ci"><strong>{sentence}</strong> <span class="muted">— the interval {verdict}</span></p>'


def _metrics_chart(metrics: Sequence[Mapping[str, Any]], a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    # Scores only (0..1): latency and token counts would flatten every score bar to nothing.
    shown = [m for m in metrics if (m.get("a") is not None or m.get("b") is not None)
             and all(v is None or 0.0 <= v <= 1.0 for v in (m.get("a"), m.get("b")))
             and m["name"] not in ("errors", "completed")]
    if not shown:
        return ""
    fig = Figure(figsize=(7.5, 1.0 + 0.5 * len(shown)), layout="constrained")
    ax = fig.add_subplot()
    rows = range(len(shown))
    for offset, key, run, color in ((-0.2, "a", a, "#9e9e9e"), (0.2, "b", b, "#1f77b4")):
        values = [m.get(key) or 0.0 for m in shown]
        bars = ax.barh([r + offset for r in rows], values, height=0.4, color=color, label=f"{key.upper()}: run {run['id']}")
        ax.bar_label(bars, labels=[_num(m.get(key)) for m in shown], padding=3, fontsize=8)
    ax.set_yticks(list(rows), [str(m["name"]) for m in shown])
    ax.invert_yaxis()  # same order as the table above
    ax.set_xlim(0, 1.12)
    ax.legend(loc="lower right", fontsize=8)
    return _img(_png(fig), id="metrics-chart", alt="metrics of both runs, side by side")


def _confusion_section(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    if not a.get("confusion") and not b.get("confusion"):
        return ""
    figures = []
    for key, run in (("a", a), ("b", b)):
        conf = run.get("confusion")
        if conf:
            png = confusion_png(conf["labels"], conf["matrix"], title=f"{key.upper()}: run {run['id']}")
            inner = _img(png, id=f"confusion-{key}", alt=f"confusion matrix, run {run['id']}")
        else:
            inner = f'<p class="muted">run {_e(run["id"])} has no confusion matrix</p>'
        figures.append(f"<figure>{inner}<figcaption>run {_e(run['id'])}</figcaption></figure>")
    return ('<section id="confusion"><h2>Confusion matrices</h2>'
            '<p class="muted">Rows: expected label; columns: predicted label.</p>'
            f'<div class="pair">{"".join(figures)}</div></section>')


def _items_section(name: str, meaning: str, items: Sequence[Mapping[str, Any]],
                   a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    head = f'<section id="{name.lower()}"><h2>{name} items ({len(items)})</h2><p class="muted">{meaning}</p>'
    if not items:
        return head + '<p class="muted">none</p></section>'
    rows = [(_e(it["item_id"]), _e(it["input"]), _e(it["expected"]), _e(it["a"]), _e(it["b"]))
            for it in items[:MAX_ITEMS]]
    table = _table(["item", "input", "expected", f"A: run {_e(a['id'])}", f"B: run {_e(b['id'])}"], rows,
                   text=(1, 2, 3, 4))
    more = len(items) - MAX_ITEMS
    note = f'<p class="muted more">… and {more} more not shown.</p>' if more > 0 else ""
    return head + table + note + "</section>"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = (),
           text: Sequence[int] = ()) -> str:
    """Cells arrive already escaped (some hold markup), so this only assembles them."""
    def cell(i, value):
        css = "num" if i in numeric else "text" if i in text else ""
        return f'<td class="{css}">{value}</td>' if css else f"<td>{value}</td>"

    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, *, id: str, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img id="{_e(id)}" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _e(value: Any) -> str:
    return escape(str(value))


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"
