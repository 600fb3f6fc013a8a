"""A calculator tool on a safe arithmetic parser: Python's AST, a whitelist, and size limits. Never ``eval``."""

from __future__ import annotations

import ast
import math
import operator
from typing import Any

from langchain_core.tools import ToolException, tool

MAX_LENGTH = 200
MAX_EXPONENT = 1000
MAX_MAGNITUDE = 1e100

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {"sqrt": math.sqrt, "log": math.log, "log10": math.log10, "exp": math.exp, "sin": math.sin,
              "cos": math.cos, "tan": math.tan, "abs": abs, "round": round, "min": min, "max": max,
              "floor": math.floor, "ceil": math.ceil}
_CONSTANTS = {"pi": math.pi, "e": math.e}


def _check(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToolException("only numbers are allowed")
    if isinstance(value, float) and not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ToolException("the result is too large")
    return value


def _evaluate(node: ast.AST) -> float | int:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        return _check(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ToolException(f"exponents above {MAX_EXPONENT} are not allowed")
        try:
            return _check(_BINARY[type(node.op)](left, right))
        except (ZeroDivisionError, OverflowError) as exc:
            raise ToolException(str(exc)) from exc
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(_UNARY[type(node.op)](_evaluate(node.operand)))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS \
            and not node.keywords and len(node.args) <= 3:
        try:
            return _check(_FUNCTIONS[node.func.id](*(_evaluate(a) for a in node.args)))
        except (ValueError, TypeError, OverflowError) as exc:
            raise ToolException(f"{node.func.id}: {exc}") from exc
    raise ToolException(f"'{ast.unparse(node)}' is not arithmetic; use numbers, + - * / // % **, brackets, "
                        f"pi, e and {', '.join(_FUNCTIONS)}")


def calculate(expression: str) -> float | int:
    """Evaluate an arithmetic expression safely.

    Example:
        >>> calculate("2 * (3 + 4) ** 2")
        98
    """
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not text or len(text) > MAX_LENGTH:
        raise ToolException(f"give an expression of 1 to {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolException(f"cannot parse {expression!r}: {exc.msg}") from exc
    result = _evaluate(tree)
    return int(result) if isinstance(result, float) and result.is_integer() and abs(result) < 1e15 else result


@tool("calculator")
def calculator(expression: str) -> str:
    """Calculate arithmetic: add, subtract, multiply (times), divide, percentages, powers and square roots, e.g. '12.5 * 4 - 3' or 'sqrt(2) * 10'."""
    return str(calculate(expression))


calculator.handle_tool_error = True  # errors come back to the agent as observations
