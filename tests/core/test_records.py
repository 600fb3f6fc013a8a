"""The one reader for labelled files: CSV, JSONL and JSON rows with line numbers, and errors naming file:line."""

from __future__ import annotations

import json

import pytest

from plait.errors import PlaitError
from plait.records import MissingColumnError, RecordError, parse_jsonl, read_records


def write(path, text: str, *, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("name, text", [
    ("d.csv", "text,label\nhi,greeting\nbye,farewell\n"),
    ("d.jsonl", '{"text": "hi", "label": "greeting"}\n{"text": "bye", "label": "farewell"}\n'),
    ("d.json", '[{"text": "hi", "label": "greeting"},\n {"text": "bye", "label": "farewell"}]'),
])
def test_a_byte_order_mark_is_not_part_of_the_first_field(tmp_path, name, text):
    path = write(tmp_path / name, text, encoding="utf-8-sig")
    assert list(read_records(path)) == [(2 if name == "d.csv" else 1, {"text": "hi", "label": "greeting"}),
                                        (3 if name == "d.csv" else 2, {"text": "bye", "label": "farewell"})]


def test_blank_lines_are_skipped_and_keep_the_line_numbers(tmp_path):
    path = write(tmp_path / "d.jsonl", '\n{"q": 1}\n   \n\n{"q": 2}\n\n')
    assert list(read_records(path)) == [(2, {"q": 1}), (5, {"q": 2})]
    csv_path = write(tmp_path / "d.csv", "q\n1\n\n2\n")
    assert list(read_records(csv_path)) == [(2, {"q": "1"}), (4, {"q": "2"})]


def test_blank_lines_can_be_errors(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"q": 1}\n\n{"q": 2}\n')
    with pytest.raises(RecordError, match=r"d.jsonl:2: empty line; .* Remove it"):
        list(read_records(path, skip_blank=False))


def test_bad_json_names_the_line_and_the_column(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"q": 1}\n\n{"q": }\n')
    with pytest.raises(RecordError, match=r"d.jsonl:3: not valid JSON \(Expecting value at column 7\)\. "
                                          r"Each line must be one JSON object"):
        list(read_records(path))
    array = write(tmp_path / "d.json", '[\n  {"q": 1},\n  {"q" 2}\n]')
    with pytest.raises(RecordError, match=r"d.json:3: not valid JSON"):
        list(read_records(array))


@pytest.mark.parametrize("line, kind", [('["a", "b"]', "list"), ('"text"', "str"), ("3", "int"), ("null", "NoneType")])
def test_a_json_line_that_is_not_an_object_is_refused(tmp_path, line, kind):
    path = write(tmp_path / "d.jsonl", '{"q": 1}\n' + line + "\n")
    with pytest.raises(RecordError, match=rf"d.jsonl:2: expected a JSON object, got {kind}\. .*one JSON object"):
        list(read_records(path))


def test_csv_missing_column_lists_the_columns(tmp_path):
    path = write(tmp_path / "d.csv", "body,category\nhi,x\n")
    with pytest.raises(MissingColumnError, match=r"d.csv has no column 'text'; its columns are \['body', 'category'\]"):
        list(read_records(path, columns=["body", "text"]))
    empty = write(tmp_path / "e.csv", "")
    with pytest.raises(MissingColumnError, match=r"its columns are \[\]"):
        list(read_records(empty, columns=["text"]))
    assert issubclass(MissingColumnError, RecordError) and issubclass(RecordError, PlaitError)


def test_csv_quoted_fields_keep_commas_and_line_breaks(tmp_path):
    # A row's line number is the line it ends on, as csv.reader counts.
    path = write(tmp_path / "d.csv", 'text,label\r\n"a, b",x\r\n"line one\nline two",y\r\nlast,z\r\n')
    assert list(read_records(path)) == [(2, {"text": "a, b", "label": "x"}),
                                        (4, {"text": "line one\nline two", "label": "y"}),
                                        (5, {"text": "last", "label": "z"})]


def test_malformed_csv_names_the_line(tmp_path):
    path = write(tmp_path / "d.csv", "text,label\nok,x\n" + "a" * 200_000 + ",y\n")
    with pytest.raises(RecordError, match=r"d.csv:3: malformed CSV \(field larger than field limit"):
        list(read_records(path))


def test_json_array_rows_carry_the_line_they_start_on(tmp_path):
    rows = [{"text": "a", "tags": ["x", "y"]}, {"text": "b, c"}, {"text": "d"}]
    text = "[\n" + json.dumps(rows[0], indent=2) + ",\n\n" + json.dumps(rows[1]) + ", " + json.dumps(rows[2]) + "\n]\n"
    assert list(read_records(write(tmp_path / "d.json", text))) == [(2, rows[0]), (10, rows[1]), (10, rows[2])]
    assert list(read_records(write(tmp_path / "e.json", "[]"))) == []
    with pytest.raises(RecordError, match=r"e.json: expected an array of objects, got dict"):
        list(read_records(write(tmp_path / "e.json", '{"text": "a"}')))
    with pytest.raises(RecordError, match=r"f.json:3: expected a JSON object, got int"):
        list(read_records(write(tmp_path / "f.json", '[\n{"a": 1},\n2]')))


def test_unreadable_files_say_what_to_pass(tmp_path):
    with pytest.raises(RecordError, match=r"Cannot read .*missing.csv.*Pass a UTF-8 CSV file with a header row"):
        list(read_records(tmp_path / "missing.csv"))
    latin = write(tmp_path / "d.jsonl", '{"text": "café"}\n', encoding="latin-1")
    with pytest.raises(RecordError, match=r"Cannot read .*d.jsonl.*Pass a UTF-8 JSONL file"):
        list(read_records(latin))
    with pytest.raises(RecordError, match=r"unsupported file type '.txt'; use .csv or .jsonl"):
        list(read_records(write(tmp_path / "d.txt", "text\nhi\n")))
    assert list(read_records(tmp_path / "d.txt", format="csv")) == [(2, {"text": "hi"})]


def test_parse_jsonl_reads_text_and_splits_only_on_line_ends():
    # U+2028 is valid inside a JSON string; str.splitlines() would cut the line there.
    text = '{"text": "one\u2028two"}\r\n{"text": "three"}\r\n'
    assert list(parse_jsonl(text, source="upload.jsonl")) == [(1, {"text": "one\u2028two"}), (2, {"text": "three"})]
    assert list(parse_jsonl("", source="upload.jsonl")) == []
