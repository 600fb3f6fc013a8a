"""The tool-calling training data generator: kinds, determinism, schema validity, variety, two-step links."""

from __future__ import annotations

import json

import pytest
from plait.agents import tool_data
from plait.agents.tool_data import (
    DOMAINS,
    ToolDataError,
    synthetic_cases,
    validate_case,
)


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return synthetic_cases(2000, seed=0)


def test_counts_per_kind(cases: list[dict]) -> None:
    kinds = [c["kind"] for c in cases]
    assert (kinds.count("single"), kinds.count("none"), kinds.count("two-step")) == (1100, 300, 600)
    assert len(synthetic_cases(10, seed=1, mix={"none": 1.0})) == 10
    assert {c["kind"] for c in synthetic_cases(10, seed=1, mix={"none": 1.0})} == {"none"}


def test_same_seed_same_cases_other_seed_other_cases() -> None:
    assert synthetic_cases(200, seed=7) == synthetic_cases(200, seed=7)
    assert synthetic_cases(50, seed=7) != synthetic_cases(50, seed=8)


def test_every_case_fits_its_schemas(cases: list[dict]) -> None:
    for case in cases:
        validate_case(case)
        json.dumps(case)  # plain JSON
        assert all(call["tool"] in {t["name"] for t in case["tools"]} for call in case["calls"])


def test_validator_rejects_broken_calls(cases: list[dict]) -> None:
    case = json.loads(json.dumps(next(c for c in cases if c["kind"] == "single")))
    case["calls"][0]["args"]["made_up_argument"] = 1
    with pytest.raises(ToolDataError):
        validate_case(case)
    case = json.loads(json.dumps(next(c for c in cases if c["kind"] == "single")))
    case["calls"][0]["tool"] = "not_offered"
    with pytest.raises(ToolDataError):
        validate_case(case)


def test_variety(cases: list[dict]) -> None:
    assert len(DOMAINS) >= 30
    assert len({t["name"] for c in cases for t in c["tools"]}) >= 150
    assert len({c["request"] for c in cases}) >= 0.95 * len(cases)
    types = {p["type"] for c in cases for t in c["tools"] for p in t["parameters"]["properties"].values()}
    assert types == {"string", "integer", "number", "boolean"}
    assert any("enum" in p for c in cases for t in c["tools"] for p in t["parameters"]["properties"].values())
    chains = {(c["calls"][0]["tool"], c["calls"][1]["tool"]) for c in cases if c["kind"] == "two-step"}
    assert len(tool_data.CHAINS) >= 15 and len(chains) >= 15


def test_optional_arguments_sometimes_passed_sometimes_left_out(cases: list[dict]) -> None:
    passed = left_out = 0
    for c in cases:
        for call in c["calls"]:
            props = next(t for t in c["tools"] if t["name"] == call["tool"])["parameters"]
            optional = set(props["properties"]) - set(props["required"])
            passed += bool(optional & set(call["args"]))
            left_out += bool(optional - set(call["args"]))
    assert passed > 100 and left_out > 100


def test_two_step_second_call_uses_first_result(cases: list[dict]) -> None:
    for c in (c for c in cases if c["kind"] == "two-step"):
        first = {str(v).lower() for v in c["calls"][0]["result"].values()}
        linked = [v for v in c["calls"][1]["args"].values() if str(v).lower() in first]
        assert linked and any(str(v).lower() not in c["request"].lower() for v in linked), c


def test_answers_and_none_cases(cases: list[dict]) -> None:
    for c in cases:
        if c["kind"] == "none":
            assert c["calls"] == [] and c["answer_contains"] == [] and c["answer"]
        else:
            assert c["answer_contains"] and all(s.lower() in c["answer"].lower() for s in c["answer_contains"])


def test_about_a_quarter_need_a_computation() -> None:
    share = tool_data.stats(tool_data.generate(1000, seed=3))["computed_share_of_tool_cases"]
    assert 0.15 <= share <= 0.3


def test_main_writes_jsonl(tmp_path) -> None:
    out = tmp_path / "cases.jsonl"
    assert tool_data.main(["--n", "30", "--seed", "2", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == synthetic_cases(30, seed=2)
