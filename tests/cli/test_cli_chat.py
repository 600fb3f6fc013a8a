"""``plait chat``: the support assistant in the terminal, with a person approving a cancellation."""

import sqlite3

import pytest
from typer.testing import CliRunner

from plait.cli import app

runner = CliRunner()


def status(order_id):
    with sqlite3.connect(".plait/shop.db") as conn:
        return conn.execute("SELECT status FROM orders WHERE id = ?", [order_id]).fetchone()[0]


@pytest.mark.real
def test_chat_asks_staff_to_approve_a_cancellation_and_a_later_session_resumes_it(isolated):
    first = runner.invoke(app, ["chat", "--thread", "c1"], input="please cancel order A1003\nyes\nlater\n\n")
    assert first.exit_code == 0, first.output
    assert "Shall I cancel it?" in first.output and "Approve cancelling order A1003" in first.output
    assert "still waiting" in first.output and status("A1003") == "processing"
    second = runner.invoke(app, ["chat", "--thread", "c1"], input="approve\nthanks, bye\n\n")
    assert second.exit_code == 0, second.output
    assert "order A1003 is cancelled" in second.output and status("A1003") == "cancelled"
    assert "welcome" in second.output


@pytest.mark.real
def test_chat_remembers_the_order_under_discussion(isolated):
    result = runner.invoke(app, ["chat"], input="where is my order A1005?\nand what's the tracking number again?\n\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("RP55877") >= 2 and "order number" not in result.output
