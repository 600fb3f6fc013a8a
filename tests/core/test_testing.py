from typing import Literal

import pytest
from pydantic import BaseModel

from plait.errors import OutputParseError, ScriptExhaustedError
from plait.testing import ScriptedChatModel, tool_call


class Person(BaseModel):
    name: str
    age: int


def test_replies_come_in_order_and_calls_are_recorded():
    llm = ScriptedChatModel(replies=["one", "two"])
    assert llm.invoke("a").content == "one"
    assert llm.invoke("b").content == "two"
    assert [c[0].content for c in llm.calls] == ["a", "b"]
    assert llm.remaining == 0


def test_running_out_of_replies_is_a_clear_error():
    llm = ScriptedChatModel(replies=["only"])
    llm.invoke("a")
    with pytest.raises(ScriptExhaustedError, match="called 2 times but has 1 replies"):
        llm.invoke("b")


def test_cycle_restarts_the_script():
    llm = ScriptedChatModel(replies=["x", "y"], cycle=True)
    assert [llm.invoke("q").content for _ in range(3)] == ["x", "y", "x"]


def test_tool_calls_and_bind_tools():
    llm = ScriptedChatModel(replies=[tool_call("lookup_order", order_id="A-1")])
    message = llm.bind_tools([]).invoke("where is my order")
    assert message.tool_calls[0]["name"] == "lookup_order"
    assert message.tool_calls[0]["args"] == {"order_id": "A-1"}


def test_structured_output_from_dict_model_and_literal():
    llm = ScriptedChatModel(replies=[{"name": "Ada", "age": 36}, Person(name="Bo", age=3), "no"])
    assert llm.with_structured_output(Person).invoke("x") == Person(name="Ada", age=36)
    assert llm.with_structured_output(Person).invoke("x").name == "Bo"
    assert llm.with_structured_output(Literal["yes", "no"]).invoke("x") == "no"


def test_structured_output_failures_carry_the_output():
    llm = ScriptedChatModel(replies=["maybe", '{"name": "Ada"}', "{oops"])
    with pytest.raises(OutputParseError, match="not one of") as info:
        llm.with_structured_output(Literal["yes", "no"]).invoke("x")
    assert info.value.output == "maybe"
    with pytest.raises(OutputParseError, match="does not fit Person"):
        llm.with_structured_output(Person).invoke("x")
    with pytest.raises(OutputParseError, match="not complete JSON"):
        llm.with_structured_output(Person).invoke("x")


def test_exception_replies_are_raised():
    llm = ScriptedChatModel(replies=[TimeoutError("server down")])
    with pytest.raises(TimeoutError, match="server down"):
        llm.invoke("x")


def test_streaming_yields_pieces_and_usage():
    llm = ScriptedChatModel(replies=["a b c"])
    chunks = list(llm.stream("x"))
    assert len(chunks) >= 3
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.content == "a b c"
    assert total.usage_metadata["output_tokens"] == 3
