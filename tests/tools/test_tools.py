import json
import sqlite3
from importlib import resources

import pytest
from langchain_core.tools import ToolException

from plait.tools import calculate, calculator, order_tools, retriever_tool, run_select, shop_database, sql_tool
from plait.tools import web_search_tool
from plait.tools.shop import is_sensitive


@pytest.mark.parametrize("expression, expected", [
    ("2 * (3 + 4) ** 2", 98), ("7 / 2", 3.5), ("-3 + 10 // 4", -1), ("2^8", 256), ("sqrt(16) + abs(-2)", 6),
    ("round(pi, 2)", 3.14), ("12 % 5", 2), ("max(3, 9, 4)", 9),
])
def test_calculator_arithmetic(expression, expected):
    assert calculate(expression) == expected


@pytest.mark.parametrize("payload", [
    "__import__('os').system('echo hacked')", "open('/etc/passwd').read()", "().__class__.__bases__[0]",
    "lambda: 1", "[x for x in range(10**9)]", "exec('1')", "9 ** 9 ** 9", "10 ** 1000 * 10 ** 1000",
    "a = 1", "'a' * 3", "sqrt(-1)", "1 / 0", "", "1" * 300,
])
def test_calculator_rejects_code_and_runaway_input(payload):
    with pytest.raises(ToolException):
        calculate(payload)


def test_calculator_tool_returns_errors_as_observations():
    assert calculator.invoke({"expression": "6 * 7"}) == "42"
    assert "not arithmetic" in calculator.invoke({"expression": "__import__('os')"})
    assert "division by zero" in calculator.invoke({"expression": "1/0"})


def test_web_search_offline_is_a_clear_observation():
    result = web_search_tool(timeout=3).invoke({"query": "plait framework"})
    # No network here: the tool must say so instead of raising (with a network it returns results).
    assert result.startswith(("search unavailable", "[1]", "no results"))


@pytest.fixture
def db(tmp_path):
    return shop_database(tmp_path / "shop.db")


def test_select_with_parameters_and_row_limit(db):
    found = run_select(db, "SELECT id FROM orders WHERE email = ? ORDER BY id", ["ada@example.com"])
    assert found == {"columns": ["id"], "rows": [["A1001"], ["A1002"]], "truncated": False}
    limited = run_select(db, "SELECT id FROM orders", row_limit=3)
    assert len(limited["rows"]) == 3 and limited["truncated"]


@pytest.mark.parametrize("query, message", [
    ("DELETE FROM orders", "only SELECT"),
    ("UPDATE orders SET status = 'x'", "only SELECT"),
    ("SELECT 1; DROP TABLE orders", "exactly one SELECT"),
    ("SELECT * FROM orders; SELECT 1", "exactly one SELECT"),
    ("WITH x AS (SELECT 1) DELETE FROM orders", "query failed"),
    ("SELECT * FROM nope", "no such table"),
    ("ATTACH DATABASE 'x.db' AS x", "only SELECT"),
])
def test_sql_rejects_writes_and_stacked_statements(db, query, message):
    with pytest.raises(ToolException, match=message):
        run_select(db, query)
    assert run_select(db, "SELECT COUNT(*) FROM orders")["rows"] == [[8]]  # nothing changed


def test_semicolons_inside_strings_are_fine(db):
    assert run_select(db, "SELECT 'a;b'")["rows"] == [["a;b"]]


def test_sql_tool_describes_the_schema_and_reports_errors(db):
    tool = sql_tool(db)
    assert "CREATE TABLE orders" in tool.description
    rows = json.loads(tool.invoke({"query": "SELECT status FROM orders WHERE id = ?", "params": ["A1003"]}))
    assert rows["rows"] == [["processing"]]
    assert "only SELECT" in tool.invoke({"query": "DROP TABLE orders"})


def test_shop_database_is_built_from_the_packaged_sql(tmp_path):
    packaged = resources.files("plait.tools").joinpath("data/shop.sql")
    expected = sqlite3.connect(":memory:")
    expected.executescript(packaged.read_text(encoding="utf-8"))
    built = sqlite3.connect(shop_database(tmp_path / "shop.db"))
    for table in ("customers", "orders", "order_items"):
        query = f"SELECT * FROM {table} ORDER BY 1, 2"
        assert built.execute(query).fetchall() == expected.execute(query).fetchall() != []
    built.close()
    expected.close()


def test_shop_database_from_your_own_sql_or_a_clear_error(tmp_path):
    (tmp_path / "mine.sql").write_text("CREATE TABLE orders (id TEXT); INSERT INTO orders VALUES ('Z0001');")
    db = shop_database(tmp_path / "mine.db", sql=tmp_path / "mine.sql")
    assert run_select(db, "SELECT id FROM orders")["rows"] == [["Z0001"]]
    with pytest.raises(ToolException, match="no SQL file at .*leave sql out"):
        shop_database(tmp_path / "other.db", sql=tmp_path / "missing.sql")
    assert not (tmp_path / "other.db").exists()


def test_order_tools(db):
    lookup, by_customer, cancel = order_tools(db)
    order = json.loads(lookup.invoke({"order_id": "a1002"}))
    assert order["status"] == "shipped" and order["tracking"] == "PW987654321" and order["items"] == ["2 x Beeswax candle"]
    assert "No order 'Z9'" in lookup.invoke({"order_id": "z9"})
    assert json.loads(by_customer.invoke({"email": "BEN@example.com"}))[0][0] == "A1003"
    assert is_sensitive(cancel) and not is_sensitive(lookup)
    assert "cannot be cancelled" in cancel.invoke({"order_id": "A1002"})  # already shipped
    assert cancel.invoke({"order_id": "A1003"}) == "Order A1003 is cancelled."
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM orders WHERE id = 'A1003'").fetchone() == ("cancelled",)


@pytest.mark.real
def test_retriever_tool(tmp_path):
    from plait.retrieval import ingest, vector_store

    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "gift.md").write_text("# Gift cards\n\n## Expiry\nGift cards expire after 24 months.\n")
    store = vector_store("tool-kb", path=tmp_path / "chroma")
    ingest([tmp_path / "kb"], store=store)
    search = retriever_tool(store)
    assert "expire after 24 months" in search.invoke({"query": "when do gift cards expire"})
    assert search.invoke({"query": "rocket engine thrust tables"}) == "No relevant passages found."


def test_sql_limits_value_size_and_run_time(db):
    with pytest.raises(ToolException, match="query failed"):
        run_select(db, "SELECT length(randomblob(500000000))")
    with pytest.raises(ToolException, match="query failed"):
        run_select(db, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n")


def test_database_paths_with_uri_characters(tmp_path):
    odd = tmp_path / "shop?mode=rwc#1%.db"
    shop_database(odd)
    assert run_select(odd, "SELECT COUNT(*) FROM orders")["rows"] == [[8]]
    with pytest.raises(ToolException):
        run_select(odd, "DELETE FROM orders")
