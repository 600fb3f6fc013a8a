"""The layers contract: no module imports a layer above its own, function-level imports included."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = ROOT / ".ci" / "lint_layers"
PACKAGE_DIRS = ("plait", "retrieval", "tools", "chains", "finetune", "agents", "serve", "cli")


@pytest.fixture(scope="module")
def flat_copy(tmp_path_factory) -> Path:
    """The package as a wheel installs it (pip --target), linted once: the contract must hold."""
    tree = tmp_path_factory.mktemp("flat")
    env = {**os.environ, "PY": sys.executable}
    done = subprocess.run(["bash", str(LINT), str(tree)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout
    return tree


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache", str(ROOT / "pyproject.toml")],
                          cwd=tree, capture_output=True, text=True, timeout=300)


def test_an_upward_import_inside_a_function_breaks_the_contract(flat_copy, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(flat_copy, tree)
    runner = tree / "plait" / "evaluate" / "runner.py"
    runner.write_text(runner.read_text() + "\n\ndef _sneaky():\n    from plait.agents.support import support_assistant\n"
                      "    return support_assistant\n")
    done = lint(tree)
    assert done.returncode != 0
    assert "plait.evaluate is not allowed to import plait.agents" in done.stdout
    assert "plait.evaluate.runner -> plait.agents.support" in done.stdout


def test_no_module_is_imported_by_a_string_name():
    # import_module("plait.x") hides a dependency from the linter: layers register through plait.plugins instead.
    found = []
    for folder in PACKAGE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in
                        ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
                        and str(node.args[0].value).startswith("plait")):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_no_code_finds_files_through_the_checkout():
    # Run-time data is package data (importlib.resources); parents[...] breaks a wheel install.
    found = [f"{p.relative_to(ROOT)}" for folder in PACKAGE_DIRS for p in (ROOT / folder).rglob("*.py")
             if ".parents[" in p.read_text(encoding="utf-8")]
    assert found == []
