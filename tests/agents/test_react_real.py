"""The ReAct protocol on the real local model."""

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_fifty_local_tool_use_runs_have_no_parse_failures():
    from react_protocol import run_cases

    result = run_cases(50)
    assert result["runs"] == 50
    assert result["parse_failures"] == 0
    assert sum(result["choices"].values()) == 50
