import json
import subprocess
import sys
import textwrap

from langchain_core.messages import ToolMessage
from langgraph.types import Command

from plait.agents import react_agent, sqlite_checkpointer
from plait.agents.prompts import NOT_APPROVED, PARSE_GIVE_UP, STEP_LIMIT
from plait.testing import ScriptedChatModel, tool_call
from plait.tools import calculator, order_tools, shop_database


def call(tool, **args):
    return json.dumps({"thought": "use a tool", "tool": tool, "args": args})


def answer(text):
    return json.dumps({"thought": "done", "answer": text})


def ask(agent, text, config=None):
    return agent.invoke({"messages": [("human", text)]}, config)


def test_native_tool_calling():
    llm = ScriptedChatModel(replies=[tool_call("calculator", expression="6*7"), "It is 42."])
    out = ask(react_agent([calculator], model=llm), "6 times 7?")
    kinds = [m.type for m in out["messages"]]
    assert kinds == ["human", "ai", "tool", "ai"]
    assert out["messages"][2].content == "42" and out["messages"][-1].content == "It is 42."


def test_json_protocol_turns_text_into_tool_calls_and_observations():
    llm = ScriptedChatModel(replies=[call("calculator", expression="6*7"), answer("6 x 7 = 42")])
    out = ask(react_agent([calculator], model=llm, protocol="json"), "6 times 7?")
    assert out["messages"][1].tool_calls[0]["args"] == {"expression": "6*7"}
    assert out["messages"][-1].content == "6 x 7 = 42"
    second_prompt = [m.content for m in llm.calls[1]]
    assert "Observation: 42" in second_prompt
    assert "calculator(expression: string)" in second_prompt[0]  # tools are described in the system prompt


def test_unparseable_output_is_re_asked_then_given_up():
    llm = ScriptedChatModel(replies=["I think the answer is 4", answer("4")])
    out = ask(react_agent([calculator], model=llm, protocol="json"), "2+2?")
    assert out["messages"][-1].content == "4"
    assert "not valid: no JSON object found" in llm.calls[1][-1].content
    hopeless = ScriptedChatModel(replies=["nope", "still nope", "never"])
    final = ask(react_agent([calculator], model=hopeless, protocol="json", retries=2), "2+2?")["messages"][-1]
    assert final.content == PARSE_GIVE_UP and final.additional_kwargs["plait_parse_error"] == "never"


def test_unknown_tool_is_re_asked_with_the_tool_list():
    llm = ScriptedChatModel(replies=[call("weather", city="Oslo"), answer("I can only calculate.")])
    out = ask(react_agent([calculator], model=llm, protocol="json"), "weather?")
    assert "unknown tool 'weather'; tools: calculator" in llm.calls[1][-1].content
    assert out["messages"][-1].content == "I can only calculate."


def test_tool_errors_come_back_as_observations():
    llm = ScriptedChatModel(replies=[call("calculator", expression="1/0"), answer("That cannot be computed.")])
    out = ask(react_agent([calculator], model=llm, protocol="json"), "1/0?")
    observation = next(m for m in out["messages"] if isinstance(m, ToolMessage))
    assert "division by zero" in observation.content
    assert out["messages"][-1].content == "That cannot be computed."


def test_step_limit_ends_gracefully():
    llm = ScriptedChatModel(replies=[call("calculator", expression="1+1")], cycle=True)
    out = ask(react_agent([calculator], model=llm, protocol="json", max_steps=3), "loop")
    assert out["messages"][-1].content == STEP_LIMIT.format(steps=3)
    assert sum(isinstance(m, ToolMessage) for m in out["messages"]) == 3


def test_sensitive_tool_waits_for_approval(tmp_path):
    tools = order_tools(shop_database(tmp_path / "shop.db"))
    config = {"configurable": {"thread_id": "t-approve"}}
    llm = ScriptedChatModel(replies=[call("cancel_order", order_id="A1003"), answer("Cancelled.")])
    agent = react_agent(tools, model=llm, protocol="json", checkpointer=sqlite_checkpointer(tmp_path / "t.db"))
    first = ask(agent, "cancel A1003", config)
    pending = first["__interrupt__"][0].value
    assert pending["tool_calls"] == [{"name": "cancel_order", "args": {"order_id": "A1003"}}]
    assert agent.get_state(config).next == ("approve",)
    done = agent.invoke(Command(resume="approve"), config)
    assert any(m.content == "Order A1003 is cancelled." for m in done["messages"] if isinstance(m, ToolMessage))
    assert done["messages"][-1].content == "Cancelled."


def test_refused_approval_does_not_run_the_tool(tmp_path):
    tools = order_tools(shop_database(tmp_path / "shop.db"))
    config = {"configurable": {"thread_id": "t-refuse"}}
    llm = ScriptedChatModel(replies=[call("cancel_order", order_id="A1003"), answer("I did not cancel it.")])
    agent = react_agent(tools, model=llm, protocol="json", checkpointer=sqlite_checkpointer(tmp_path / "t.db"))
    ask(agent, "cancel A1003", config)
    done = agent.invoke(Command(resume="no"), config)
    refusal = next(m for m in done["messages"] if isinstance(m, ToolMessage))
    assert refusal.content == NOT_APPROVED.format(tool="cancel_order")
    assert json.loads(tools[0].invoke({"order_id": "A1003"}))["status"] == "processing"


SCRIPT = textwrap.dedent('''
    import json, sys
    from plait.agents import react_agent, sqlite_checkpointer
    from plait.testing import ScriptedChatModel
    from plait.tools import calculator
    reply = json.dumps({"thought": "t", "answer": sys.argv[2]})
    llm = ScriptedChatModel(replies=[reply])
    agent = react_agent([calculator], model=llm, protocol="json", checkpointer=sqlite_checkpointer(sys.argv[1]))
    agent.invoke({"messages": [("human", sys.argv[3])]}, {"configurable": {"thread_id": "shared"}})
    print(json.dumps([m.content for m in llm.calls[0][-3:]]))
''')


def test_conversation_resumes_in_a_new_process(tmp_path):
    db = str(tmp_path / "threads.db")
    run = lambda *args: subprocess.run([sys.executable, "-c", SCRIPT, db, *args], capture_output=True,  # noqa: E731
                                       text=True, check=True, timeout=120).stdout
    run("Nice to meet you, Ada.", "Hi, I'm Ada.")
    seen = json.loads(run("Your name is Ada.", "What's my name?").strip().splitlines()[-1])
    assert seen[0] == "Hi, I'm Ada."  # the second process saw the first process's turn
    assert json.loads(seen[1])["answer"] == "Nice to meet you, Ada."
    assert seen[2] == "What's my name?"


def test_steps_stream():
    llm = ScriptedChatModel(replies=[call("calculator", expression="2+3"), answer("5")])
    updates = list(react_agent([calculator], model=llm, protocol="json").stream(
        {"messages": [("human", "2+3?")]}, stream_mode="updates"))
    assert [next(iter(u)) for u in updates] == ["agent", "tools", "agent"]
