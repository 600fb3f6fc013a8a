import io
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from plait.evaluate.report import MAX_ITEMS, confusion_png, html_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM = Path("/usr/bin/chromium")
# No sandbox: tests often run as root in containers, where Chromium's sandbox refuses to start.
# The rest keep the browser off the network, so the test also proves the report is self-contained.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LABELS = ["card_arrival", "card_lost", "exchange_rate", "refund", "top_up_failed"]


def run_summary(run_id, *, matrix, accuracy, latency=None):
    return {
        "id": run_id, "target": "classify:banking", "prompts": ["banking-intent@3"],
        "models": ["local:gemma-3-270m"], "dataset": "banking_test.csv", "dataset_hash": "3f9a0c11d2e4",
        "n": sum(map(sum, matrix)), "created": "2025-05-04T10:12:00+00:00",
        "metrics": {"accuracy": accuracy, "macro_f1": None},
        "confusion": {"labels": LABELS, "matrix": matrix},
        "latency_ms_mean": latency, "tokens_mean": 41.5,
    }


def comparison(*, regressed=(), improved=()):
    a = [[18, 1, 0, 1, 0], [2, 15, 0, 0, 3], [0, 0, 19, 1, 0], [1, 0, 2, 16, 1], [0, 4, 0, 0, 16]]
    b = [[19, 1, 0, 0, 0], [1, 17, 0, 0, 2], [0, 0, 19, 1, 0], [1, 0, 1, 17, 1], [0, 2, 0, 0, 18]]
    return {
        "a": run_summary("3", matrix=a, accuracy=0.84, latency=212.0),
        "b": run_summary("4", matrix=b, accuracy=0.90),
        "metrics": [
            {"name": "accuracy", "a": 0.84, "b": 0.90, "diff": 0.06, "higher_is_better": True},
            {"name": "macro_f1", "a": None, "b": 0.89, "diff": None, "higher_is_better": True},
            {"name": "error_rate", "a": 0.16, "b": 0.10, "diff": -0.06, "higher_is_better": False},
        ],
        "main_metric": "accuracy",
        "ci": {"metric": "accuracy", "diff": 0.027, "low": -0.010, "high": 0.063, "level": 0.95, "resamples": 1000},
        "regressed": list(regressed),
        "improved": list(improved),
    }


def item(i, text="Where is my new card?"):
    return {"item_id": str(i), "input": text, "expected": "card_arrival", "a": "card_arrival", "b": "card_lost"}


def test_confusion_png_is_a_png():
    png = confusion_png(["no", "yes"], [[5, 1], [2, 7]], title="run 3")
    assert png.startswith(PNG_MAGIC)


def test_confusion_png_scales_to_77_labels(tmp_path):
    labels = [f"intent_label_number_{i}" for i in range(77)]
    matrix = [[10 if i == j else (i * j) % 3 for j in range(77)] for i in range(77)]
    png = confusion_png(labels, matrix, path=tmp_path / "c.png")
    assert png.startswith(PNG_MAGIC)
    assert (tmp_path / "c.png").read_bytes() == png
    height, width = imread(io.BytesIO(png)).shape[:2]
    assert min(height, width) > 1500  # grown with the label count, not squeezed into the default size


def test_confusion_png_rejects_a_matrix_that_does_not_match_the_labels():
    with pytest.raises(ValueError, match="one row and column per label"):
        confusion_png(["a", "b"], [[1, 2]])


def test_report_escapes_item_text(tmp_path):
    evil = item(1, text='<script>alert("x")</script> & <b>bold</b>')
    page = html_report(comparison(regressed=[evil]), tmp_path / "r.html").read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page


def test_report_escapes_predictions_labels_and_run_details(tmp_path):
    evil = '<script>alert("x")</script>'
    changed = {"item_id": "<i>7</i>", "input": "hi", "expected": "card_arrival", "a": "card_arrival", "b": evil}
    data = comparison(regressed=[changed])
    data["b"]["models"] = [evil]
    data["metrics"][0]["name"] = "<b>accuracy</b>"
    data["ci"]["metric"] = evil
    page = html_report(data, tmp_path / "r.html").read_text()
    assert "<script>" not in page and "<b>accuracy" not in page and "<i>7" not in page
    assert page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") == 3  # prediction, model, CI metric
    assert '<td class="text">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</td>' in page
    assert "<td>&lt;i&gt;7&lt;/i&gt;</td>" in page and "&lt;b&gt;accuracy&lt;/b&gt;" in page


def test_report_shows_details_metrics_and_ci(tmp_path):
    page = html_report(comparison(), tmp_path / "sub" / "r.html").read_text()
    assert "<title>plait eval: 3 vs 4</title>" in page
    assert "accuracy: +0.027 (95% CI -0.010 to +0.063, 1000 resamples)" in page
    assert "3f9a0c11d2e4" in page and "banking-intent@3" in page
    assert '<span class="better">+0.060</span>' in page
    assert '<span class="better">-0.060</span>' in page  # error_rate fell: lower is better
    assert 'id="metrics-chart"' in page


def test_report_renders_none_metrics_as_a_dash(tmp_path):
    page = html_report(comparison(), tmp_path / "r.html").read_text()
    assert '<td class="num">–</td>' in page  # macro_f1 of run A, and the diff
    assert '<td>–</td>' in page  # run B has no mean latency


def test_report_caps_long_item_lists(tmp_path):
    page = html_report(comparison(improved=[item(i) for i in range(MAX_ITEMS + 7)]), tmp_path / "r.html").read_text()
    assert f"Improved items ({MAX_ITEMS + 7})" in page
    assert "… and 7 more not shown." in page
    assert page.count("Where is my new card?") == MAX_ITEMS


@pytest.mark.browser
def test_report_opens_in_headless_chromium_and_shows_the_confusion_matrices(tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium) "
                    "or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    xss = item(1, text="<script>window.__injected = true</script>")
    report = html_report(comparison(regressed=[xss], improved=[item(2)]), tmp_path / "report.html")
    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri())
            for selector in ("#confusion-a", "#confusion-b"):
                assert page.locator(selector).is_visible()
                assert page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")
            assert page.get_attribute("#confusion-a", "alt") == "confusion matrix, run 3"
            assert page.evaluate("window.__injected") is None
            page.screenshot(path=tmp_path / "page.png", full_page=True)
            page.locator("#confusion").screenshot(path=tmp_path / "confusion.png")
        finally:
            browser.close()

    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    shot = (tmp_path / "confusion.png").read_bytes()
    assert shot.startswith(PNG_MAGIC) and len(shot) > 10_000
    pixels = imread(io.BytesIO(shot))
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50  # a plot, not a blank box
