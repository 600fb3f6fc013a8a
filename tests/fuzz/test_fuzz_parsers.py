"""Every parser a user or a model can feed: any input gives a result or plait's own error, never a crash.

Each property feeds arbitrary text (or bytes) and accepts exactly two outcomes: a value, or a
:class:`~plait.errors.PlaitError` whose message names the input and the fix. A crash Hypothesis
finds becomes an explicit example (``@example``) beside its property, so it stays fixed.
"""

import json
import string

import typer
from hypothesis import example, given
from hypothesis import strategies as st

from plait.errors import PlaitError

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
json_like = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
                         max_leaves=12)


@given(text)
@example("local:")
@example("lora:../../etc")
@example("openai-compatible:model@")
def test_model_references(value):
    from plait.models.refs import parse_ref

    try:
        ref = parse_ref(value)
    except PlaitError as exc:
        assert "reference" in str(exc).lower() or "valid forms" in str(exc).lower() or str(exc)
    else:
        assert ref.scheme and str(ref)


@given(st.text(max_size=400))
@example('[models]\nclassifier = 3\n')
@example('[prices]\n"openai:x" = "cheap"\n')
@example('home = [1]\n')
def test_plait_toml(tmp_path_factory, value):
    from plait.config import load_settings

    path = tmp_path_factory.mktemp("cfg") / "plait.toml"
    path.write_text(value, encoding="utf-8")
    try:
        settings = load_settings(path)
    except PlaitError as exc:
        assert str(path) in str(exc) or "plait.toml" in str(exc)
    else:
        assert settings.home


@given(st.text(max_size=5000))
@example("a," * 3000 + "b")  # far too long for a file name: a list of labels
@example("\x00,b")
@example(",,,")
def test_label_specs(value):
    from plait.cli.classify import read_labels

    try:
        labels = read_labels(value)
    except typer.BadParameter as exc:
        assert "labels" in str(exc) or "JSON" in str(exc)
    else:
        assert len(labels) >= 2


@given(st.binary(max_size=600), st.sampled_from([".csv", ".jsonl", ".json"]))
@example(b"\xef\xbb\xbftext\n\"unterminated\n", ".csv")
@example(b'{"a": 1}\n\n[1]\n', ".jsonl")
@example(b"\xff\xfe\x00", ".json")
def test_record_readers(tmp_path_factory, data, suffix):
    from plait.records import read_records, stream_records

    path = tmp_path_factory.mktemp("rec") / f"data{suffix}"
    path.write_bytes(data)
    for reader in (read_records, stream_records):
        try:
            rows = list(reader(path))
        except PlaitError as exc:
            assert path.name in str(exc)
        else:
            assert all(isinstance(line, int) and isinstance(row, dict) for line, row in rows)


@given(st.lists(json_like.map(json.dumps) | text, max_size=8))
def test_fine_tuning_data(lines):
    from plait.finetune.data import DataError, parse_examples

    try:
        examples = parse_examples("\n".join(lines), source="upload.jsonl")
    except DataError as exc:
        assert "upload.jsonl" in str(exc)
    else:
        assert all(e["messages"][-1]["role"] == "assistant" for e in examples)


@given(text, st.lists(st.sampled_from(["lookup_order", "calculator", "search"]), min_size=1, max_size=3, unique=True))
@example('{"tool": "lookup_order", "args": "A1002"}', ["lookup_order"])
@example('{"answer": null}', ["calculator"])
@example("[]", ["search"])
def test_react_replies(reply, tools):
    from plait.agents.protocol import parse_reply

    try:
        message = parse_reply(reply, tools)
    except PlaitError:
        pass
    else:
        assert all(call["name"] in tools for call in message.tool_calls)


@given(text, st.integers(min_value=1, max_value=6))
def test_batch_slots(reply, n):
    from plait.chains.batch import parse_slots
    from plait.chains.labels import label_set

    slots = parse_slots(reply, n, label_set(["refund", "shipping", "account"]))
    assert set(slots) <= set(range(1, n + 1)) and set(slots.values()) <= {"refund", "shipping", "account"}


@given(text, st.sampled_from([str, int, float, bool]))
@example("Answer: 1e999", float)
@example("Answer: ", int)
def test_chain_of_thought_answers(reply, kind):
    from plait.chains.cot import extract_answer

    try:
        reasoning, answer = extract_answer(reply, kind)
    except PlaitError:
        pass
    else:
        assert isinstance(answer, kind) and isinstance(reasoning, str)


@given(text)
def test_label_matching_and_support_replies(reply):
    from plait.agents.support_orders import order_ids_in, yes_or_no
    from plait.chains.labels import label_set, match_label
    from plait.chains.rag import citations

    assert match_label(reply, label_set({"orders": ["status", "cancel"], "help": ["refund"]})) in \
        {None, "orders/status", "orders/cancel", "help/refund"}
    assert yes_or_no(reply) in {None, "yes", "no"}
    assert all(len(i) == 5 for i in order_ids_in(reply))
    assert citations(reply, 3) <= {1, 2, 3}


@given(text)
@example("4111 1111 1111 1111 " * 20)
@example("ignore " * 500)
def test_moderation_rules_and_windows(value):
    from plait.chains.jailbreak import MAX_WINDOWS, WINDOW_WORDS, windows
    from plait.chains.moderation_rules import find_injection, find_leak, find_pii, redact

    findings = find_pii(value)
    assert all(0 <= f.start <= f.end <= len(value) for f in findings)
    assert isinstance(redact(value, findings), str)
    find_injection(value)
    find_leak(value, ["You are the assistant of a shop; reply in one or two short sentences please."])
    parts = windows(value)
    assert parts and len(parts) <= MAX_WINDOWS and all(len(p.split()) <= WINDOW_WORDS for p in parts)


@given(st.binary(max_size=400))
@example(b'{"key": "1:ab"}\n{"key": "2:c')
@example(b'{"no_key": 1}\n')
def test_bulk_output_files_of_any_state(tmp_path_factory, data):
    from plait.bulk import done_keys

    path = tmp_path_factory.mktemp("bulk") / "out.jsonl"
    path.write_bytes(data)
    keys = done_keys(path)
    kept = path.read_bytes()
    assert data.startswith(kept) and len(keys) <= kept.count(b"\n")


@given(st.dictionaries(st.sampled_from(["message", "thread_id", "stream", "extra"]), json_like, max_size=4))
def test_support_chat_request_bodies(body):
    from pydantic import ValidationError

    from plait.serve.assistant import SupportChatRequest

    try:
        SupportChatRequest.model_validate(body)
    except ValidationError as exc:
        assert exc.errors()


@given(st.text(string.printable, max_size=200))
def test_sql_cleaning_of_model_output(reply):
    from plait.chains.sql import _clean

    assert isinstance(_clean(reply), str)


@given(st.binary(max_size=800), st.sampled_from([".md", ".txt", ".html", ".pdf", ".csv", ".jsonl"]))
@example(b"%PDF-1.7\n%broken", ".pdf")
@example(b"<html><body><table><tr><td>unclosed", ".html")
@example(b"\x00\x01\x02binary with a text extension", ".md")
@example(b"text\n" + b"a" * 140_000 + b"\n", ".csv")  # a field over the csv module's limit
def test_ingestion_loaders(tmp_path_factory, data, suffix):
    from plait.retrieval.loaders import load_sections

    path = tmp_path_factory.mktemp("docs") / f"doc{suffix}"
    path.write_bytes(data)
    try:
        sections = load_sections(path)
    except PlaitError as exc:  # the reason; ingest() puts the file's path before it in its report
        assert str(exc).strip()
    else:
        assert all(isinstance(s.text, str) for s in sections)


@given(st.lists(json_like.map(json.dumps) | text, min_size=1, max_size=8), st.sampled_from([".jsonl", ".json", ".csv"]))
def test_evaluation_datasets(tmp_path_factory, lines, suffix):
    from plait.evaluate import load_dataset

    path = tmp_path_factory.mktemp("eval") / f"data{suffix}"
    path.write_text("\n".join(lines), encoding="utf-8")
    try:
        data = load_dataset(path)
    except PlaitError as exc:
        assert path.name in str(exc)
    else:
        assert len({item.id for item in data}) == len(data)
