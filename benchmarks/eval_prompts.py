"""Two prompt versions of the classifier on 300 BANKING77 rows, evaluated and compared with `plait eval`.

Carves 300 rows (stratified, seed 0) and a disjoint pool of 10 examples per intent from the
shared training split, then runs, on the local model, exactly what a user would type:

    plait eval run classify --data eval.csv --expected category --examples pool.csv --k 8 --name v1
    plait eval run classify ... --prompt benchmarks/prompts/classify_v2.toml --name v2
    plait eval compare v1 v2 --html report.html

and renders the report in headless Chromium (screenshot in benchmarks/results/).

    .venv/bin/python benchmarks/eval_prompts.py [--rows 300]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, write  # noqa: E402
from banking77 import carve  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".plait" / "bench" / "eval_prompts"  # derived data stays out of git
PLAIT = str(Path(sys.executable).parent / "plait")


def write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "category"])
        writer.writerows(rows)


def plait(*args: str) -> str:
    started = time.perf_counter()
    done = subprocess.run([PLAIT, *args], cwd=WORK, capture_output=True, text=True, env={"COLUMNS": "160",
                          "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(Path.home())})
    print(f"$ plait {' '.join(args)}  ({time.perf_counter() - started:.0f} s)\n{done.stdout}", flush=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return done.stdout


def screenshot(report: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(report.resolve().as_uri())
        page.screenshot(path=str(out), full_page=True)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    eval_rows, pool, _ = carve(args.rows)
    write_csv(WORK / "eval.csv", eval_rows)
    write_csv(WORK / "pool.csv", pool)
    common = ["--data", "eval.csv", "--expected", "category", "--examples", "pool.csv", "--k", "8"]
    plait("eval", "run", "classify", *common, "--name", "v1")
    plait("eval", "run", "classify", *common, "--prompt", str(ROOT / "benchmarks/prompts/classify_v2.toml"),
          "--name", "v2")
    plait("eval", "compare", "v1", "v2", "--html", "report.html")
    shot = RESULTS / "eval_report.png"
    screenshot(WORK / "report.html", shot)

    sys.path.insert(0, str(ROOT))
    from plait.evaluate import RunStore, compare

    result = compare(RunStore(WORK / ".plait" / "evals.db"), "v1", "v2")
    write("eval_prompts", {
        "rows": args.rows, "labels": 77, "examples_per_input": 8, "model": "local:gemma-3-270m",
        "runs": {k: {"prompts": result[k]["prompts"], "metrics": result[k]["metrics"]} for k in ("a", "b")},
        "accuracy_ci": result["ci"], "regressed": len(result["regressed"]), "improved": len(result["improved"]),
        "report": str(WORK / "report.html"), "screenshot": str(shot.relative_to(ROOT))})


if __name__ == "__main__":
    main()
