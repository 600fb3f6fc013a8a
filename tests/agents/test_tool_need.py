"""The request-only veto: messages that surely need no tool are answered without one."""

import json

import pytest

from plait.agents.tool_need import ToolNeed, read_messages, threshold_for
from plait.errors import PlaitError


def test_the_threshold_vetoes_at_most_the_allowed_share_of_tool_messages():
    scores = [0.99, 0.95, 0.9, 0.2, 0.1, 0.05, 0.92, 0.3]
    labels = ["none", "none", "none", "tool", "tool", "tool", "tool", "none"]
    measured = threshold_for(scores, labels, max_blocked=0.0)
    assert measured["tool_blocked"] == 0.0 and measured["threshold"] > 0.92
    assert measured["none_caught"] == 0.5  # 0.95 and 0.99 only
    loose = threshold_for(scores, labels, max_blocked=0.25)  # one tool message of four may be vetoed
    assert loose["tool_blocked"] == 0.25 and loose["none_caught"] == 1.0  # cut just above the second tool (0.2)


def test_bad_message_files_say_which_line(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"text": "hi", "label": "none"}) + "\n" + json.dumps({"text": "x", "label": "maybe"}) + "\n")
    with pytest.raises(PlaitError, match=r"m.jsonl:2: .*tool or none"):
        read_messages(path)
    with pytest.raises(PlaitError, match="not a tool-need head"):
        ToolNeed(tmp_path)


@pytest.mark.real
def test_the_packaged_head_vetoes_talk_and_lets_requests_through():
    need = ToolNeed.packaged()
    for text in ("thanks, that's everything!", "Good morning! How are you today?",
                 "What's the difference between a sonnet and a haiku?"):
        assert not need.needs_tool(text), text
    for text in ("cancel booking BK-2231 pls", "Reserve two kayaks for Saturday 14 June 2025 at 10am",
                 "when is my next appointment?", "What's the weather in Oslo?"):
        assert need.needs_tool(text), text


def test_the_packaged_head_was_trained_on_the_messages_file_as_it_is():
    from plait.agents.tool_need import TOOL_NEED, messages_hash

    recorded = json.loads((TOOL_NEED / "adapter.json").read_text())["data_hash"]
    assert recorded == messages_hash(), "agents/data/tool_need.jsonl changed: run python -m plait.agents.tool_need"
