"""Natural language to SQL over SQLite, constrained to the database's own schema.

On llama.cpp a grammar built from the schema admits only ``SELECT columns FROM table
[WHERE column op value] [ORDER BY column [DESC]] [LIMIT n]`` with real table and column names,
so the query always parses and names things that exist. Other backends' SQL is checked by
running it read-only; a failure is re-asked once with the error.

Example:
    >>> from plait.chains import nl_to_sql
    >>> from plait.tools import shop_database
    >>> ask_db = nl_to_sql(shop_database())  # the example shop, built in .plait/  # doctest: +SKIP
    >>> ask_db.invoke("Which orders has ada@example.com placed?").rows  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.tools import ToolException
from pydantic import BaseModel

from plait.chains.inputs import text_field
from plait.chains.prompts import NL_SQL
from plait.models import ModelSettings, capabilities, resolve_model
from plait.models.settings import SQL_MAX_TOKENS
from plait.prompts import Prompt, as_node
from plait.tools.sql import connect_read_only, run_select, schema_text


class SqlAnswer(BaseModel):
    """A generated query and what it returned."""

    question: str
    sql: str
    columns: list[str] = []
    rows: list[list[Any]] = []
    error: str | None = None


def table_columns(path: str | Path) -> dict[str, list[str]]:
    """Table name -> column names."""
    with connect_read_only(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        # A column list without PRAGMA (which the read-only authorizer refuses): ask for zero rows.
        return {t: [d[0] for d in conn.execute(f"SELECT * FROM {json.dumps(t)} LIMIT 0").description] for t in tables}


def schema_grammar(tables: dict[str, list[str]]) -> str:
    """GBNF for simple SELECTs over ``tables`` only, each table with its own columns."""
    rules = ['root ::= " "? "SELECT " query', 'value ::= "\'" [^\'\\n]{0,60} "\'" | [0-9]{1,9}',
             'op ::= " = " | " != " | " > " | " < " | " LIKE "']
    alternatives = []
    for i, (table, columns) in enumerate(tables.items()):
        col = " | ".join(json.dumps(c) for c in columns)
        rules.append(f"col{i} ::= {col}")
        rules.append(f'cols{i} ::= "*" | "COUNT(*)" | col{i} (", " col{i}){{0,5}}')
        alternatives.append(f'cols{i} " FROM " {json.dumps(table)} (" WHERE " col{i} op value '
                            f'(" AND " col{i} op value){{0,2}})? (" ORDER BY " col{i} " DESC"?)? (" LIMIT " [0-9]{{1,3}})?')
    rules.insert(1, "query ::= " + " | ".join(f"({a})" for a in alternatives))
    return "\n".join(rules)


def _clean(text: str) -> str:
    fenced = re.search(r"```(?:sql)?\s*(.+?)```", text, re.S | re.I)
    sql = (fenced.group(1) if fenced else text).strip()
    return sql.split(";")[0].strip()


class _NlSql:
    def __init__(self, path: Path, llm: BaseChatModel, prompt: Prompt, retries: int) -> None:
        self.path, self.llm, self.prompt, self.retries = path, llm, prompt, retries
        self.schema = schema_text(path)
        settings = ModelSettings(stop=("\n",))
        self.options: dict[str, Any] = settings.options()
        if capabilities(llm).constrained:  # only SELECTs over real tables and columns can be generated
            budget = ModelSettings(max_tokens=SQL_MAX_TOKENS)
            self.options = {**settings.merged_with(budget).options(), "grammar": schema_grammar(table_columns(path))}

    def __call__(self, value: Any, config: RunnableConfig) -> SqlAnswer:
        question = text_field(value, "question", empty="nl_to_sql needs a non-empty question.")
        messages = self.prompt.template.invoke({"schema": self.schema, "question": question}).to_messages()
        sql, error = "", None
        for _attempt in range(self.retries + 1):
            reply = self.llm.invoke(messages, config, **self.options)
            sql = _clean(str(reply.content))
            try:
                result = run_select(self.path, sql)
                return SqlAnswer(question=question, sql=sql, columns=result["columns"], rows=result["rows"])
            except (ToolException, sqlite3.Error) as exc:
                error = str(exc)
                messages = [*messages, reply, HumanMessage(f"That query failed: {error}. Write a corrected query.")]
        return SqlAnswer(question=question, sql=sql, error=error)


def nl_to_sql(path: str | Path, *, model: str | BaseChatModel | None = None, prompt: Prompt = NL_SQL,
              retries: int = 1, name: str = "nl_sql") -> Runnable[Any, SqlAnswer]:
    """Build a node: question in, :class:`SqlAnswer` (query, columns, rows or error) out. Read-only."""
    step = _NlSql(Path(path), resolve_model(model, role="sql"), prompt, retries)
    return as_node(RunnableLambda(step, name=name), name=name, prompt=prompt)
