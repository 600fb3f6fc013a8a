"""Every command and option of the CLI given bad values: a clear error (or a legal no-op), never a traceback.

Each value-taking parameter of each command gets an empty value, 100 kB, non-UTF-8 bytes (as the
shell hands them over: surrogate escapes), a path that does not exist and, for numbers, a word;
the other required parameters get paths that do not exist. The run goes through ``main()``, the
``plait`` script's own entry, which prints plait's errors as a paragraph.
"""

import contextlib
import io
import sys
import time

import pytest
import typer

from plait.cli import app, main

BAD = {"empty": "", "100 kB": "x" * 100_000, "non-UTF-8": "\udcff\udcfeabc",
       "missing file": "/nonexistent/dir/file.csv", "wrong type": "abc"}
EXTRA = {("ask",): ["--max-tokens", "1"]}
"""Keeps a command that accepts the value quick: ``ask`` then answers a question, in one token."""
SKIP = {("finetune", "tools")}
"""Trains an adapter when its options parse (each option is checked by its own tests)."""


# Typer builds on its own copy of click, so parameters are told apart by click's public attributes, not classes.
def commands(group, path=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        elif (*path, name) not in SKIP:
            yield (*path, name), command


def argv_for(path, command, param, value):
    argv = list(path)
    for other in command.params:
        if other.param_type_name == "argument" and other.required and other is not param:
            argv.append("/nonexistent/x")
    argv += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    if param.name != "max_tokens":
        argv += EXTRA.get(path, [])
    for other in command.params:
        if other.param_type_name == "option" and other.required and other is not param:
            argv += [other.opts[0], "/nonexistent/y"]
    return argv


def cases():
    for path, command in commands(typer.main.get_command(app)):
        for param in command.params:
            if getattr(param, "is_flag", False) or param.name == "help":
                continue
            numeric = str(param.bare_type()).startswith(("int", "float"))
            for kind, value in BAD.items():
                if path == ("serve",) and not numeric and kind != "empty":
                    continue  # a valid-looking host or key would start the server
                yield " ".join(path), param.name, kind, argv_for(path, command, param, value)


class _ServerStarted(Exception):
    """``plait serve`` accepted every value and would now listen."""


def _no_server(*args, **kwargs):
    raise _ServerStarted


@pytest.mark.real  # some commands load the local model before they find the value wrong
def test_bad_values_never_give_a_traceback(isolated, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", _no_server)  # a value serve accepts must not leave a server running
    found, count = [], 0
    for command, param, kind, argv in cases():
        count += 1
        started = time.perf_counter()
        monkeypatch.setattr(sys, "argv", ["plait", *argv])
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # plait chat: no message, it ends
        printed = io.StringIO()
        with contextlib.redirect_stderr(printed), contextlib.redirect_stdout(printed):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code
            except _ServerStarted:
                code = "server started"
            except Exception as exc:  # what this test exists to catch
                code = f"{type(exc).__name__}: {exc}"[:200]
        print(f"{time.perf_counter() - started:6.2f}s {command} --{param} {kind}: {code}", file=sys.__stderr__)
        out = printed.getvalue()
        # Exit 0 is fine where the value is legal (free text, an option the command ignores here).
        if isinstance(code, str) or "Traceback" in out or (code not in (0, None) and not out.strip()):
            found.append((command, param, kind, code, out[-300:]))
    assert count > 500  # every command of every group was reached
    assert found == [], found
