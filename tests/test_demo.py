"""`make demo` runs offline and every reply it shows is the right one."""

import runpy
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


@pytest.mark.real
def test_the_demo_routes_answers_and_cancels_after_approval(isolated, capsys):
    runpy.run_path(str(DEMO), run_name="__main__")
    shown = " ".join(capsys.readouterr().out.split())  # Rich wraps lines: compare the words
    for fact in ("PW987654321", "5-7 working days", "£12.95", "Forgotten password", "charged twice",
                 "passed your message to a colleague", "moderation: asks to ignore the instructions",
                 "You're welcome", "A1003 (placed 2026-11-20, £129.00) is processing", "Shall I cancel it?",
                 "paused for a colleague", "Done: order A1003 is cancelled"):
        assert fact in shown, fact
    assert "can't help with that. If you need help" in shown  # only the blocked message gets the refusal
    assert shown.count("can't help with that") == 1
