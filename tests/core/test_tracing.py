import pytest

from plait.errors import PlaitError
from plait.prompts import as_node, prompt
from plait.testing import ScriptedChatModel
from plait.tracing import SQLiteTracer, TraceStore

GREET = prompt("greet", [("system", "Be brief."), ("human", "Say hi to {name}")])


def traced(tmp_path, replies, **kwargs):
    tracer = SQLiteTracer(tmp_path / "t.db", **kwargs)
    llm = ScriptedChatModel(replies=replies, callbacks=[tracer], metadata={"plait_model_ref": "local:gemma-3-270m"})
    return as_node(GREET.template | llm, name="greeter", prompt=GREET), TraceStore(tmp_path / "t.db")


def test_a_call_writes_one_complete_row(tmp_path):
    chain, store = traced(tmp_path, ["hi Ada"])
    chain.invoke({"name": "Ada"})
    [row] = store.list()
    assert row["node"] == "greeter"
    assert row["prompt"] == GREET.id
    assert row["model_ref"] == "local:gemma-3-270m"
    assert row["messages"] == [{"role": "system", "content": "Be brief."},
                               {"role": "human", "content": "Say hi to Ada"}]
    assert row["output"] == "hi Ada"
    assert (row["prompt_tokens"], row["completion_tokens"]) == (6, 2)
    assert row["latency_ms"] >= 0
    assert row["cost_usd"] == 0.0
    assert row["error"] is None


def test_failed_calls_are_recorded_with_the_error(tmp_path):
    chain, store = traced(tmp_path, [ConnectionError("server down")])
    with pytest.raises(ConnectionError):
        chain.invoke({"name": "Ada"})
    [row] = store.list()
    assert row["error"] == "ConnectionError: server down"
    assert list(store.iter()) == []          # exports skip failures by default
    assert len(list(store.iter(errors=True))) == 1


def test_cost_uses_the_price_table(tmp_path):
    tracer = SQLiteTracer(tmp_path / "t.db", prices={"openai:gpt-x": (1.0, 2.0)})
    llm = ScriptedChatModel(replies=["a b"], callbacks=[tracer], metadata={"plait_model_ref": "openai:gpt-x"})
    llm.invoke("one two three")
    [row] = TraceStore(tmp_path / "t.db").list()
    assert row["cost_usd"] == pytest.approx((3 * 1.0 + 2 * 2.0) / 1e6)


def test_langgraph_node_names_are_used(tmp_path):
    from langgraph.graph import END, START, MessagesState, StateGraph

    tracer = SQLiteTracer(tmp_path / "t.db")
    llm = ScriptedChatModel(replies=["pong"], callbacks=[tracer])

    def answer(state: MessagesState) -> dict:
        return {"messages": [llm.invoke(state["messages"])]}

    graph = StateGraph(MessagesState).add_node("answer", answer)
    graph.add_edge(START, "answer").add_edge("answer", END)
    graph.compile().invoke({"messages": [("human", "ping")]})
    [row] = TraceStore(tmp_path / "t.db").list()
    assert row["node"] == "answer"


def test_store_lookup_by_prefix_and_node_filter(tmp_path):
    chain, store = traced(tmp_path, ["a", "b"])
    chain.invoke({"name": "x"})
    ScriptedChatModel(replies=["c"], callbacks=[SQLiteTracer(tmp_path / "t.db")]).invoke("other")
    rows = store.list()
    assert len(rows) == 2
    assert [r["output"] for r in store.list(node="greeter")] == ["a"]
    full = rows[0]["run_id"]
    assert store.get(full[-12:])["run_id"] == full
    assert store.get(full)["run_id"] == full
    with pytest.raises(PlaitError, match="matches no trace"):
        store.get("ffff0000ffff")
    for wrong in ("zzzz", "%", "x" * 100_000):  # 100 kB once made SQLite's LIKE give up with its own error
        with pytest.raises(PlaitError, match="not a run id"):
            store.get(wrong)


def test_missing_database_says_what_to_do(tmp_path):
    with pytest.raises(PlaitError, match="No trace database"):
        TraceStore(tmp_path / "none.db")


def test_a_row_that_cannot_be_built_does_not_lose_the_others(tmp_path):
    tracer = SQLiteTracer(tmp_path / "t.db")
    good = ScriptedChatModel(replies=["a"], callbacks=[tracer])
    bad = ScriptedChatModel(replies=["b"], callbacks=[tracer], metadata={"plait_model_ref": 123})
    bad.invoke("x")  # a non-string model ref breaks row building for this call only
    good.invoke("y")
    rows = TraceStore(tmp_path / "t.db").list()
    assert [r["output"] for r in rows] == ["a"]
    assert tracer._writer.is_alive()
