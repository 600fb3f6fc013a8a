"""The ReAct protocol on the real local model."""

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_the_local_default_agent_picks_the_right_tool():
    from react_protocol import run_cases

    result = run_cases(20)  # every case once: 9 calculator, 8 order lookups, 2 customer lookups, 1 greeting
    assert result["model"] == "lora:tool-calls"  # the agent role's packaged adapter
    assert result["parse_failures"] == 0
    # 0.85 measured (17/20); the base model scored 0.04 on the same cases (it never called a tool).
    assert result["tool_choice_accuracy"] >= 0.8, result["choices"]
