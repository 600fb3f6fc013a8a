"""Prompt chaining: steps in sequence, each with its own prompt and model role, passing typed outputs on.

No new abstraction: a chain is a dict flowing through ``RunnablePassthrough.assign`` steps,
composed with ``|``. Each step adds one key; later steps read earlier keys.

Example (categorise -> look up -> respond)::

    from operator import itemgetter
    from plait.chains import classifier, llm_step, step
    from plait.prompts import prompt

    REPLY = prompt("reply", [("system", "Policy: {policy}"), ("human", "{message}")])
    support = (
        step("category", itemgetter("message") | classifier(["refund", "shipping"], model="classifier"))
        | step("policy", lambda s: POLICIES[s["category"].label])
        | llm_step("reply", REPLY, model="responder")
    )
    support.invoke({"message": "My parcel is late"})["reply"]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnablePassthrough

from plait.models import resolve_model
from plait.prompts import Prompt, as_node


def step(name: str, runnable: Runnable | Callable[[dict[str, Any]], Any]) -> Runnable[dict[str, Any], dict[str, Any]]:
    """Run ``runnable`` on the state dict and add its output under ``name``."""
    return RunnablePassthrough.assign(**{name: runnable})


def llm_step(name: str, prompt: Prompt, *, model: str | BaseChatModel | None = None, output: Any = None,
             role: str = "default") -> Runnable[dict[str, Any], dict[str, Any]]:
    """A model step: fill ``prompt`` from the state, call the model, add the result under ``name``.

    ``output`` (a Pydantic model, ``Literal`` or Enum) makes the result structured; otherwise it
    is the reply text. The step is traced as node ``name`` with the prompt's version.
    """
    llm = resolve_model(model, role=role)
    answer = llm.with_structured_output(output) if output is not None else llm | StrOutputParser()
    return step(name, as_node(prompt.template | answer, name=name, prompt=prompt))
