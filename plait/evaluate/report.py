"""HTML report comparing two evaluation runs: details, metrics, bootstrap CI, plots and changed items.

The report is one self-contained file (inline CSS, plots as base64 PNGs), so it can be mailed or
attached to a CI job and opened anywhere, offline. Its markup is the Jinja2 template
``templates/report.html``, rendered with autoescaping: text from the runs is never markup.

Example:
    >>> html_report(comparison, "report.html")  # doctest: +SKIP
    PosixPath('report.html')
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

# The object-oriented Figure needs no pyplot and no backend choice, so importing this module
# never touches the user's interactive matplotlib state.
from matplotlib.figure import Figure

MAX_ITEMS = 50
"""Rows shown per regressed / improved table; the rest are counted, not listed."""

ANNOTATE_MAX = 20
"""Confusion matrices up to this many labels get the count written in each cell."""


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
    page = _template().render(
        title=f"plait eval: {a['id']} vs {b['id']}", a=a, b=b, ci=comparison.get("ci"),
        metrics=[_metric_row(m) for m in comparison["metrics"]],
        chart=_metrics_chart(comparison["metrics"], a, b),
        confusion=_confusion_figures(a, b),
        sections=[_items_section("Regressed", "right in A, wrong in B", comparison.get("regressed") or []),
                  _items_section("Improved", "wrong in A, right in B", comparison.get("improved") or [])])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


@lru_cache(maxsize=1)
def _template() -> Template:
    # StrictUndefined: a summary missing a field fails here instead of rendering as blank.
    env = Environment(loader=PackageLoader("plait.evaluate", "templates"), autoescape=select_autoescape(),
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters.update(num=_num, signed=_signed)
    return env.get_template("report.html")


def _metric_row(m: Mapping[str, Any]) -> dict[str, Any]:
    higher, diff = bool(m.get("higher_is_better", True)), m.get("diff")
    css = ("better" if (diff > 0) == higher else "worse") if diff else ""
    return {"name": m["name"], "a": m.get("a"), "b": m.get("b"), "diff": diff, "higher_is_better": higher, "css": css}


def _metrics_chart(metrics: Sequence[Mapping[str, Any]], a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    """The scores of both runs as side-by-side bars (a base64 PNG), or None when there are none."""
    # Scores only (0..1): latency and token counts would flatten every score bar to nothing.
    shown = [m for m in metrics if (m.get("a") is not None or m.get("b") is not None)
             and all(v is None or 0.0 <= v <= 1.0 for v in (m.get("a"), m.get("b")))
             and m["name"] not in ("errors", "completed")]
    if not shown:
        return None
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
    return _base64(_png(fig))


def _confusion_figures(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One figure per run (its PNG, or None when it has no matrix); none at all when neither has one."""
    if not a.get("confusion") and not b.get("confusion"):
        return []
    figures = []
    for key, run in (("a", a), ("b", b)):
        conf = run.get("confusion")
        png = confusion_png(conf["labels"], conf["matrix"], title=f"{key.upper()}: run {run['id']}") if conf else None
        figures.append({"key": key, "run": run, "png": _base64(png) if png else None})
    return figures


def _items_section(name: str, meaning: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"name": name, "meaning": meaning, "total": len(items), "rows": items[:MAX_ITEMS],
            "more": len(items) - MAX_ITEMS}


def _base64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"
