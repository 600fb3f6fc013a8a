"""The example shop's order tools, over the SQLite database built from the packaged ``data/shop.sql``.

``cancel_order`` changes data, so it is marked sensitive: agents pause for a person's approval
before running it.

Example:
    >>> from plait.tools import order_tools
    >>> lookup, by_customer, cancel = order_tools()  # builds <home>/shop.db if needed  # doctest: +SKIP
    >>> lookup.invoke({"order_id": "A1002"})  # doctest: +SKIP
"""

from __future__ import annotations

import json
import sqlite3
from importlib import resources
from pathlib import Path

from langchain_core.tools import BaseTool, ToolException, tool

from plait.config import load_settings
from plait.tools.sql import run_select

SHOP_SQL = "data/shop.sql"
"""The example shop's schema and rows, package data of ``plait.tools`` (so a wheel install has it too)."""


def _shop_script(sql: str | Path | None) -> str:
    if sql is not None:
        if not Path(sql).is_file():
            raise ToolException(f"no SQL file at {sql} to build the shop database from: pass an existing file, "
                                "or leave sql out to use the packaged example shop")
        return Path(sql).read_text(encoding="utf-8")
    try:
        return resources.files("plait.tools").joinpath(SHOP_SQL).read_text(encoding="utf-8")
    except FileNotFoundError as exc:  # a broken install: the wheel ships plait/tools/data/shop.sql
        raise ToolException(f"plait.tools has no {SHOP_SQL}: reinstall plait, or pass sql=PATH to build the "
                            "shop from your own file") from exc


def shop_database(path: str | Path | None = None, *, sql: str | Path | None = None) -> Path:
    """Return the shop database at ``path`` (default ``<home>/shop.db``), building it if it does not exist.

    It is built from ``sql`` when given, else from the packaged example shop (``plait.tools``' ``data/shop.sql``).

    Example:
        >>> db = shop_database("/tmp/shop.db")  # doctest: +SKIP
    """
    target = Path(path) if path else load_settings().home / "shop.db"
    if not target.exists():
        script = _shop_script(sql)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        with sqlite3.connect(partial) as conn:
            conn.executescript(script)
        partial.replace(target)
    return target


def order_tools(path: str | Path | None = None) -> list[BaseTool]:
    """``lookup_order``, ``orders_for_customer`` and the sensitive ``cancel_order``."""
    db = shop_database(path)

    @tool
    def lookup_order(order_id: str) -> str:
        """Look up an order by its id (like A1002): status, date, carrier, tracking number and items."""
        order_id = order_id.strip().upper()
        found = run_select(db, "SELECT id, placed, status, carrier, tracking, total FROM orders WHERE id = ?", [order_id])
        if not found["rows"]:
            return f"No order {order_id!r}. Order ids look like A1001; ask the customer to check it."
        order = dict(zip(found["columns"], found["rows"][0]))
        items = run_select(db, "SELECT product, quantity FROM order_items WHERE order_id = ?", [order_id])["rows"]
        order["items"] = [f"{qty} x {product}" for product, qty in items]
        return json.dumps(order)

    @tool
    def orders_for_customer(email: str) -> str:
        """List a customer's orders (id, date, status) by their email address."""
        found = run_select(db, "SELECT id, placed, status FROM orders WHERE email = ? ORDER BY placed DESC",
                           [email.strip().lower()])
        return json.dumps(found["rows"]) if found["rows"] else f"No orders for {email!r}."

    @tool
    def cancel_order(order_id: str) -> str:
        """Cancel an order that has not shipped yet. Needs a person's approval."""
        order_id = order_id.strip().upper()
        with sqlite3.connect(db) as conn:
            changed = conn.execute("UPDATE orders SET status = 'cancelled' WHERE id = ? AND status = 'processing'",
                                   [order_id]).rowcount
        return f"Order {order_id} is cancelled." if changed else \
            f"Order {order_id} cannot be cancelled: it does not exist or has already shipped."

    cancel_order.metadata = {"sensitive": True}
    for t in (lookup_order, orders_for_customer, cancel_order):
        t.handle_tool_error = True
    return [lookup_order, orders_for_customer, cancel_order]


def is_sensitive(t: BaseTool) -> bool:
    """True when ``t`` must wait for a person's approval before it runs."""
    return bool((t.metadata or {}).get("sensitive"))
