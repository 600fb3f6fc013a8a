import json
from enum import Enum
from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel

from plait.errors import OutputParseError
from plait.models.render import render_transcript, render_with_template
from plait.models.structured import MAX_STRING_LENGTH, bound_schema, choice_grammar, parser_for, structured_spec
from plait.prompts import prompt


def test_prompt_version_follows_content():
    a = prompt("p", [("human", "Classify: {text}")])
    b = prompt("p", [("human", "Classify: {text}")])
    c = prompt("p", [("human", "Label: {text}")])
    assert a.id == b.id and a.id != c.id
    assert a.id.startswith("p@") and len(a.version) == 8


def test_transcript_rendering():
    rendered = render_transcript([SystemMessage("Be kind."), HumanMessage("Hi"), AIMessage("Hello!"),
                                  HumanMessage("Bye")])
    assert rendered.prompt == "Be kind.\n\nUser: Hi\nAssistant: Hello!\nUser: Bye\nAssistant:"
    assert "\nUser:" in rendered.stop


def test_transcript_renders_tool_calls_and_observations():
    call = AIMessage("", tool_calls=[{"name": "calc", "args": {"x": "2+2"}, "id": "1"}])
    rendered = render_transcript([HumanMessage("2+2?"), call, ToolMessage("4", tool_call_id="1")])
    assert '{"tool": "calc", "args": {"x": "2+2"}}' in rendered.prompt
    assert rendered.prompt.endswith("Observation: 4\nAssistant:")


def test_trailing_ai_message_is_continued():
    assert render_transcript([HumanMessage("Q"), AIMessage("The answer is")]).prompt.endswith("Assistant: The answer is")


def test_chat_template_rendering_strips_duplicate_bos():
    template = ("{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
                "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    rendered = render_with_template([HumanMessage("Hi")], template=template, bos="<s>", eos="</s>")
    assert rendered.prompt == "<|user|>Hi<|end|><|assistant|>"
    assert "</s>" in rendered.stop


def test_choice_grammar_escapes_quotes():
    assert choice_grammar(['say "hi"', "no"]) == 'root ::= " "? ("say \\"hi\\"" | "no")'


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Item(BaseModel):
    name: str
    tags: list[str]
    kind: Literal["a", "b"]


def test_bound_schema_caps_free_strings_and_arrays_only():
    schema = bound_schema(Item.model_json_schema())
    props = schema["properties"]
    assert props["name"]["maxLength"] == MAX_STRING_LENGTH
    assert props["tags"]["maxItems"] == 32 and props["tags"]["items"]["maxLength"] == MAX_STRING_LENGTH
    assert "maxLength" not in props["kind"]


def test_parsers_for_each_schema_kind():
    assert parser_for(Color)(" blue") is Color.BLUE
    assert parser_for({"type": "object"})('{"a": 1}') == {"a": 1}
    assert parser_for(Item)(json.dumps({"name": "x", "tags": [], "kind": "a"})).name == "x"
    with pytest.raises(OutputParseError):
        parser_for(Color)("green")


def test_grammars_build_for_models_and_reject_unsupported_types():
    assert "root" in structured_spec(Item).grammar
    with pytest.raises(TypeError, match="Pydantic model class"):
        structured_spec(int)


def test_json_strings_exclude_raw_control_characters():
    # A raw newline inside a JSON string is invalid JSON; the grammar must never allow it.
    assert 'char ::= [^"\\\\\\x7F\\x00-\\x1F]' in structured_spec(Item).grammar
