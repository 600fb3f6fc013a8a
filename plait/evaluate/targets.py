"""What an evaluation runs: a registered target, a model role, or any chain or graph by import path.

``target("classify", model="lora:banking", prompt="prompts.py:CLASSIFY_V2")`` and the same
target with another prompt or model evaluate two variants on the same items.

Targets are registered by name (:func:`plait.plugins.register_target`): ``role`` here, the
built-in ``classify`` and ``rag`` by plait.chains and ``support`` by plait.agents, each from its
own layer, so the evaluation harness in plait's core never imports them.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel

from plait.errors import PlaitError
from plait.evaluate.datasets import Dataset
from plait.models import resolve_model
from plait.plugins import lookup, names, register_target
from plait.prompts import ASK, Prompt, as_node, prompt as make_prompt


@dataclass(frozen=True)
class Target:
    """A runnable thing plus how to feed it items and read its outputs."""

    spec: str
    """How the user named it, e.g. ``classify`` or ``myapp.chains:triage``."""
    kind: str
    """``classification``, ``rag``, ``agent`` or ``generation``: picks the default metrics."""
    call: Callable[[list[Any], RunnableConfig], list[Any]]
    """Runs a chunk of item inputs, returning one output (or exception) per input."""
    chunk: int = 1
    """Items per call: more than 1 when batch prompting packs several inputs into one prompt."""
    to_input: Callable[[dict[str, Any]], Any] = lambda inputs: inputs
    """Item inputs -> what the runnable takes."""
    metrics: tuple[str, ...] = ()
    """Default metric names for this target (registered by its plugin); empty: the defaults of ``kind``."""


@dataclass(frozen=True)
class TargetRequest:
    """What a registered target factory is asked to build (see :func:`plait.plugins.register_target`)."""

    spec: str
    """The whole name the user gave, e.g. ``classify`` or ``role:answerer``."""
    argument: str = ""
    """What follows the first colon (``answerer`` in ``role:answerer``); empty for plain names."""
    data: Dataset | None = None
    """The dataset being evaluated, when the factory needs it (labels, inputs)."""
    model: str | None = None
    """Model reference or role overriding the target's own."""
    prompt: Prompt | None = None
    """Prompt overriding the target's own."""
    batch_size: int = 1
    """Items per call, for targets that batch-prompt."""
    options: dict[str, Any] = field(default_factory=dict)
    """Everything else, for the factory (``examples``, ``k``, ``labels``, ``collection``, ...)."""


def target(spec: str, data: Dataset | None = None, *, model: str | None = None,
           prompt: str | Prompt | None = None, batch_size: int = 1, **options: Any) -> Target:
    """Resolve ``spec``: a registered target (``classify``, ``rag``, ``support``, ``role:NAME``) or ``module:attr``.

    ``model`` and ``prompt`` override the target's model reference and prompt; ``options``
    go to the target's factory (``examples``, ``k``, ``labels``, ``collection``, ...). For a chain
    or graph object you already hold, use :func:`runnable_target`.

    Example:
        >>> t = target("classify", data, prompt="prompts.py:CLASSIFY_V2", examples=pool, k=8)  # doctest: +SKIP
    """
    if not isinstance(spec, str):
        raise TypeError(f"target() takes a target name or 'module:attr', not {type(spec).__name__}; "
                        "wrap a chain or graph you hold with runnable_target(...).")
    chosen = load_prompt(prompt) if isinstance(prompt, str) else prompt
    name, _, argument = spec.partition(":")
    factory = lookup("target", name)
    if factory is not None:
        return factory(TargetRequest(spec, argument, data, model, chosen, batch_size, dict(options)))
    if ":" in spec:
        return _imported(spec, model, chosen, batch_size, options)
    raise PlaitError(f"Unknown target {spec!r}. Use one of {', '.join(names('target'))} (role takes a model "
                     "role: role:NAME), or module:attr (a chain, graph or factory function, e.g. myapp.chains:triage).")


def runnable_target(runnable: Runnable, *, name: str = "runnable", batch_size: int = 1) -> Target:
    """A target for a chain or compiled graph you already hold; its outputs are compared as they come.

    Example:
        >>> from langchain_core.runnables import RunnableLambda
        >>> runnable_target(RunnableLambda(str.upper)).kind
        'generation'
    """
    def call(inputs: list[Any], config: RunnableConfig) -> list[Any]:
        return runnable.batch(inputs, config, return_exceptions=True)
    return Target(name, "generation", call, chunk=max(1, batch_size))


def _imported(spec: str, model: str | None, chosen: Prompt | None, batch_size: int, options: dict[str, Any]) -> Target:
    obj = load_object(spec)
    if not isinstance(obj, Runnable) and callable(obj):  # a factory: it takes the overrides
        kwargs = {k: v for k, v in (("model", model), ("prompt", chosen)) if v is not None}
        obj = obj(**kwargs, **options)
    elif model or chosen:
        raise PlaitError(f"{spec} is a built Runnable, so --model/--prompt cannot reach inside it. Point "
                         "at a factory function taking model= and prompt= instead.")
    if not isinstance(obj, Runnable):
        raise PlaitError(f"{spec} gave {type(obj).__name__}, not a LangChain Runnable or compiled graph.")
    return runnable_target(obj, name=spec, batch_size=batch_size)


def _role(request: TargetRequest) -> Target:
    if not request.argument:
        raise PlaitError("The role target needs a role name: role:NAME, e.g. role:answerer.")
    role_prompt = request.prompt or ASK
    chain = role_prompt.template | resolve_model(request.model, role=request.argument) | StrOutputParser()
    return runnable_target(as_node(chain, name=request.argument, prompt=role_prompt), name=request.spec,
                           batch_size=request.batch_size)


register_target("role", _role)


def single_input(inputs: dict[str, Any], preferred: str) -> Any:
    """The one input a single-input target takes: ``inputs[preferred]``, or the only field there is.

    Example:
        >>> single_input({"q": "Hi"}, "question")
        'Hi'
    """
    if preferred in inputs:
        return inputs[preferred]
    if len(inputs) == 1:
        return next(iter(inputs.values()))
    raise PlaitError(f"This target takes one input field ({preferred!r}); the dataset gives {sorted(inputs)}. "
                     f"Pass inputs=[...] (--input) to choose one.")


def prediction(output: Any) -> Any:
    """The comparable value of an output: a label, an answer's text, a route, or the text itself."""
    if isinstance(output, BaseMessage):  # a message is a pydantic model too: its text is the prediction
        return output.content
    if isinstance(output, BaseModel):
        output = output.model_dump()
    if isinstance(output, dict):
        for key in ("label", "route", "answer", "output", "text"):
            if key in output:
                return output[key]
    return output


def plain(output: Any) -> dict[str, Any]:
    """The output as JSON data, as stored with the run and given to metrics."""
    if isinstance(output, BaseModel):
        return output.model_dump(mode="json")
    if isinstance(output, BaseMessage):
        return {"content": output.content}
    if isinstance(output, dict):
        return json.loads(json.dumps(output, default=str))
    return {"value": output if isinstance(output, (str, int, float, bool)) or output is None else str(output)}


def load_object(spec: str) -> Any:
    """Import ``module:attr`` or ``path/to/file.py:attr``."""
    module_name, _, attr = spec.rpartition(":")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or not path.is_file():
                raise FileNotFoundError(module_name)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules.setdefault(path.stem, module)
            module_spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, FileNotFoundError, AttributeError) as exc:
        raise PlaitError(f"Cannot load {spec!r} ({exc}). Use module:attr or path/to/file.py:attr, "
                         "run from the folder the module is importable in.") from exc


def load_prompt(spec: str) -> Prompt:
    """A :class:`Prompt` from ``module:attr``, ``file.py:attr``, or a TOML/JSON file.

    A prompt file holds ``name`` and ``messages`` as ``[[role, template], ...]``::

        name = "classify"
        messages = [["system", "Sort the message into one of: {labels}."], ["human", "{text}"]]
    """
    path = Path(spec)
    if path.suffix in (".toml", ".json") and path.is_file():
        try:
            raw = tomllib.loads(path.read_text("utf-8")) if path.suffix == ".toml" else json.loads(path.read_text("utf-8"))
            messages: Sequence[Sequence[str]] = raw["messages"]
            return make_prompt(raw.get("name", path.stem), [(role, text) for role, text in messages])
        except (KeyError, ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
            raise PlaitError(f"{path}: a prompt file needs name = \"...\" and messages = [[role, template], "
                             f"...] ({exc}).") from exc
    obj = load_object(spec)
    if not isinstance(obj, Prompt):
        raise PlaitError(f"{spec} is a {type(obj).__name__}, not a plait Prompt (build one with plait.prompts.prompt).")
    return obj
