"""What an evaluation runs: a built-in node, a role, or any chain or graph by import path.

``target("classify", model="lora:banking", prompt="prompts.py:CLASSIFY_V2")`` and the same
target with another prompt or model evaluate two variants on the same items.

Built-ins are imported by name when asked for: the evaluation harness lives in plait's core
and must not import the packages built on top of it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel

from plait.errors import PlaitError
from plait.evaluate.datasets import Dataset
from plait.prompts import ASK, Prompt, as_node, prompt as make_prompt

BUILT_INS = ("classify", "rag", "support")


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


def target(spec: str | Runnable, data: Dataset | None = None, *, model: str | None = None,
           prompt: str | Prompt | None = None, batch_size: int = 1, **options: Any) -> Target:
    """Resolve ``spec``: ``classify``, ``rag``, ``support``, ``role:NAME``, ``module:attr`` or a Runnable.

    ``model`` and ``prompt`` override the target's model reference and prompt; ``options``
    go to a built-in's factory (``examples``, ``k``, ``labels``, ``collection``, ...).

    Example:
        >>> t = target("classify", data, prompt="prompts.py:CLASSIFY_V2", examples=pool, k=8)  # doctest: +SKIP
    """
    chosen = load_prompt(prompt) if isinstance(prompt, str) else prompt
    if isinstance(spec, Runnable):
        return _runnable_target("runnable", spec, batch_size)
    if spec == "classify":
        return _classify(data, model, chosen, batch_size, options)
    if spec in ("rag", "support"):
        return _rag(model, chosen, options) if spec == "rag" else _support(model, options)
    if spec.startswith("role:"):
        role_prompt = chosen or ASK
        from plait.models import resolve_model

        chain = role_prompt.template | resolve_model(model, role=spec[5:]) | StrOutputParser()
        return _runnable_target(spec, as_node(chain, name=spec[5:], prompt=role_prompt), batch_size)
    if ":" in spec:
        obj = load_object(spec)
        if not isinstance(obj, Runnable) and callable(obj):  # a factory: it takes the overrides
            kwargs = {k: v for k, v in (("model", model), ("prompt", chosen)) if v is not None}
            obj = obj(**kwargs, **options)
        elif model or chosen:
            raise PlaitError(f"{spec} is a built Runnable, so --model/--prompt cannot reach inside it. Point "
                             "at a factory function taking model= and prompt= instead.")
        if not isinstance(obj, Runnable):
            raise PlaitError(f"{spec} gave {type(obj).__name__}, not a LangChain Runnable or compiled graph.")
        return _runnable_target(spec, obj, batch_size)
    raise PlaitError(f"Unknown target {spec!r}. Use one of {', '.join(BUILT_INS)}, role:NAME (a model role), "
                     "or module:attr (a chain, graph or factory function, e.g. myapp.chains:triage).")


def _runnable_target(spec: str, runnable: Runnable, batch_size: int) -> Target:
    def call(inputs: list[Any], config: RunnableConfig) -> list[Any]:
        return runnable.batch(inputs, config, return_exceptions=True)
    return Target(spec, "generation", call, chunk=max(1, batch_size))


def _classify(data: Dataset | None, model: str | None, chosen: Prompt | None, batch_size: int,
              options: dict[str, Any]) -> Target:
    from plait.chains import batch_classifier, classifier

    # Default label set: every label the dataset or the examples use (a small sample may miss some).
    labels = options.pop("labels", None) or sorted({*(data.labels() if data is not None else ()),
                                                     *(str(label) for _, label in options.get("examples") or ())})
    if not labels:
        raise PlaitError("The classify target needs labels: pass labels=[...] (or --labels), or a dataset "
                         "with an expected column.")
    k = options.pop("k", None)
    kwargs = {"model": model, "k": k if options.get("examples") and k else None, **options}
    if batch_size > 1:
        node = batch_classifier(labels, batch_size=batch_size, **({"prompt": chosen} if chosen else {}), **kwargs)

        def call(inputs: list[Any], config: RunnableConfig) -> list[Any]:
            try:
                return node.invoke(inputs, config)
            except Exception as exc:  # noqa: BLE001 - the whole chunk failed; each item records it
                return [exc] * len(inputs)
        return Target("classify", "classification", call, chunk=batch_size, to_input=_text)
    node = classifier(labels, **({"prompt": chosen} if chosen else {}), **kwargs)
    return Target("classify", "classification", lambda xs, cfg: node.batch(xs, cfg, return_exceptions=True),
                  to_input=_text)


def _rag(model: str | None, chosen: Prompt | None, options: dict[str, Any]) -> Target:
    from plait.chains import rag

    node = rag(options.pop("collection", None), model=model, **({"prompt": chosen} if chosen else {}), **options)
    return Target("rag", "rag", lambda xs, cfg: node.batch(xs, cfg, return_exceptions=True),
                  to_input=lambda inputs: _single(inputs, "question"))


def _support(model: str | None, options: dict[str, Any]) -> Target:
    from plait.agents.support import support_assistant

    roles = {r: model for r in ("classifier_model", "answerer", "responder", "summarizer")} if model else {}
    graph = support_assistant(**roles, **options)
    return Target("support", "agent", lambda xs, cfg: graph.batch(xs, cfg, return_exceptions=True),
                  to_input=lambda inputs: {"message": _single(inputs, "message")})


def _text(inputs: dict[str, Any]) -> str:
    return _single(inputs, "text")


def _single(inputs: dict[str, Any], preferred: str) -> Any:
    if preferred in inputs:
        return inputs[preferred]
    if len(inputs) == 1:
        return next(iter(inputs.values()))
    raise PlaitError(f"This target takes one input field ({preferred!r}); the dataset gives {sorted(inputs)}. "
                     f"Pass inputs=[...] (--input) to choose one.")


def prediction(output: Any) -> Any:
    """The comparable value of an output: a label, an answer's text, a route, or the text itself."""
    if isinstance(output, BaseModel):
        output = output.model_dump()
    if isinstance(output, BaseMessage):
        return output.content
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
