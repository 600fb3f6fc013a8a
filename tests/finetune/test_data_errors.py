"""Fine-tuning data with several bad lines: one run names them all, grouped by kind."""

import pytest

from plait.finetune.data import SHOWN_ERRORS, DataError, parse_examples, read_examples

GOOD = '{"prompt": "where is my card", "completion": "card_arrival"}'


def test_every_bad_line_is_reported_with_a_count_per_kind(tmp_path):
    lines = [GOOD, "{not json", '{"messages": [{"role": "user", "content": "hi"}]}', GOOD,
             '{"messages": [{"role": "wizard", "content": "x"}, {"role": "assistant", "content": "y"}]}',
             '{"prompt": "a", "completion": "  "}', "[1, 2]"]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        read_examples(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 5 bad lines")
    for where in (":2: not valid JSON", ":3: the last message", ":5: message 1 has unknown role", ":6: message 2",
                  ":7: expected"):
        assert where in message, where
    assert "not valid JSON: 1 (line 2)" in message and "empty content: 1 (line 6)" in message


def test_lines_2_and_3_are_both_named():
    with pytest.raises(DataError, match=r"2 bad lines.*\n.*up.jsonl:2: .*\n.*up.jsonl:3: "):
        parse_examples(f"{GOOD}\n{{\n[]\n", source="up.jsonl")


def test_a_long_list_of_problems_is_cut_after_the_first_ones_with_a_count():
    text = "\n".join(["{"] * (SHOWN_ERRORS + 7))
    with pytest.raises(DataError) as info:
        parse_examples(text, source="big.jsonl")
    assert f"{SHOWN_ERRORS + 7} bad lines" in str(info.value) and "... and 7 more" in str(info.value)
    assert "lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ..." in str(info.value)
