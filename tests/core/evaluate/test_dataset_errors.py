"""Evaluation datasets with several bad lines: one run names them all, grouped by kind."""

import pytest

from plait.evaluate import load_dataset
from plait.evaluate.datasets import DatasetError


def test_every_bad_line_of_a_jsonl_dataset_is_named(tmp_path):
    path = tmp_path / "eval.jsonl"
    path.write_text('{"id": "1", "text": "hi", "label": "a"}\n{oops\n[1]\n{"id": "1", "text": "again", "label": "b"}\n'
                    '{"id": "5", "label": "c"}\n')
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 4 bad lines")
    for part in ("not valid JSON: 1 (line 2)", "not a JSON object: 1 (line 3)", "duplicate id: 1 (line 4)",
                 "missing field: 1 (line 5)", f"{path}:2:", f"{path}:5: no field 'text'"):
        assert part in message, part


def test_a_csv_dataset_names_every_row_missing_a_value(tmp_path):
    path = tmp_path / "eval.csv"
    path.write_text("id,text,label\n1,hello,a\n1,dup,b\n2,fine,c\n")
    with pytest.raises(DatasetError, match=r"1 bad line — duplicate id: 1 \(line 3\)"):
        load_dataset(path)
