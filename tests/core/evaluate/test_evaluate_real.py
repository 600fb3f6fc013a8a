"""The evaluation workflow end to end on the real local model: two prompt versions of the classifier on
BANKING77 rows, `plait eval compare`, and the HTML report in headless Chromium."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plait.cli import app
from plait.evaluate import RunStore

pytestmark = pytest.mark.real
# The shared data beside the checkout (CI clones with a copy of it beside), or PLAIT_BANKING77's folder.
BANKING77 = Path(os.environ.get("PLAIT_BANKING77") or Path(__file__).resolve().parents[3].parent / "shared/data/banking77") / "train.csv"
INTENTS = ("card_arrival", "exchange_rate", "lost_or_stolen_card", "top_up_failed")
PROMPT_V2 = Path(__file__).resolve().parents[3] / "benchmarks/prompts/classify_v2.toml"
CHROMIUM = Path("/usr/bin/chromium")


def carve(tmp_path: Path) -> None:
    """3 eval rows and 4 pool rows per intent, disjoint, in file order (deterministic)."""
    by_intent: dict[str, list[str]] = {i: [] for i in INTENTS}
    with BANKING77.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["category"] in by_intent:
                by_intent[row["category"]].append(row["text"])
    for name, part in (("eval.csv", slice(0, 3)), ("pool.csv", slice(3, 7))):
        with (tmp_path / name).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "category"])
            writer.writerows((text, intent) for intent in INTENTS for text in by_intent[intent][part])


def test_two_prompt_versions_compared_with_report(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    carve(tmp_path)
    cli = CliRunner()
    common = ["--data", "eval.csv", "--expected", "category", "--examples", "pool.csv", "--k", "4"]
    for name, extra in (("v1", []), ("v2", ["--prompt", str(PROMPT_V2)])):
        result = cli.invoke(app, ["eval", "run", "classify", *common, *extra, "--name", name])
        assert result.exit_code == 0, result.output
    store = RunStore(".plait/evals.db")
    v1, v2 = store.get("v1"), store.get("v2")
    assert v1["prompts"] != v2["prompts"] and v1["models"] == ["local:gemma-3-270m"]
    for run in (v1, v2):
        assert run["status"] == "done" and run["metrics"]["errors"] == 0
        assert run["metrics"]["accuracy"] > 0.25  # 4 intents: better than chance with 4 examples each
        assert run["metrics"]["tokens"] > 0 and sum(map(sum, run["report"]["confusion"])) == 12

    compared = cli.invoke(app, ["eval", "compare", "v1", "v2", "--html", "report.html"])
    assert compared.exit_code == 0, compared.output
    assert "accuracy" in compared.output and "95% CI" in compared.output
    assert (tmp_path / "report.html").is_file()

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium) or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto((tmp_path / "report.html").as_uri())
            assert page.eval_on_selector("#confusion-a", "img => img.complete && img.naturalWidth > 0")
            assert page.eval_on_selector("#confusion-b", "img => img.complete && img.naturalWidth > 0")
            page.locator("#confusion").screenshot(path=tmp_path / "confusion.png")
        finally:
            browser.close()
    assert os.path.getsize(tmp_path / "confusion.png") > 10_000
