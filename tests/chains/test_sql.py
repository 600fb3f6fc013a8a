import pytest

from plait.chains import nl_to_sql
from plait.chains.sql import schema_grammar, table_columns
from plait.errors import EmptyInputError
from plait.testing import ScriptedChatModel
from plait.tools import shop_database


@pytest.fixture
def db(tmp_path):
    return shop_database(tmp_path / "shop.db")


def test_schema_grammar_names_only_real_tables_and_columns(db):
    tables = table_columns(db)
    assert tables["orders"][:2] == ["id", "email"]
    grammar = schema_grammar(tables)
    assert '"orders"' in grammar and '"tracking"' in grammar and "DELETE" not in grammar


def test_question_to_rows(db):
    llm = ScriptedChatModel(replies=["```sql\nSELECT id FROM orders WHERE email = 'ben@example.com' ORDER BY id;\n```"])
    answer = nl_to_sql(db, model=llm).invoke("Which orders did Ben place?")
    assert answer.sql == "SELECT id FROM orders WHERE email = 'ben@example.com' ORDER BY id"
    assert answer.rows == [["A1003"], ["A1004"]] and answer.error is None
    assert "CREATE TABLE orders" in llm.calls[0][0].content


def test_failing_sql_is_re_asked_with_the_error(db):
    llm = ScriptedChatModel(replies=["SELECT nope FROM orders", "SELECT COUNT(*) FROM orders"])
    answer = nl_to_sql(db, model=llm).invoke({"question": "how many orders?"})
    assert answer.rows == [[8]]
    assert "That query failed" in llm.calls[1][-1].content and "no such column" in llm.calls[1][-1].content


def test_writes_never_run(db):
    llm = ScriptedChatModel(replies=["DELETE FROM orders", "DROP TABLE orders"])
    answer = nl_to_sql(db, model=llm).invoke("delete everything")
    assert answer.rows == [] and "only SELECT" in answer.error
    with pytest.raises(EmptyInputError):
        nl_to_sql(db, model=ScriptedChatModel(replies=[])).invoke("")


@pytest.mark.real
def test_local_model_queries_always_run(db):
    ask = nl_to_sql(db)
    for question in ["Which orders has ada@example.com placed?", "How many orders are shipped?",
                     "List the products in order A1005", "Who is the customer called Dev Patel?"]:
        answer = ask.invoke(question)
        assert answer.error is None, (question, answer.sql)
        assert answer.sql.upper().startswith("SELECT")
