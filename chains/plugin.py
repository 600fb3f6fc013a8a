"""plait.chains' extensions of the core: the ``classify`` and ``rag`` evaluation targets.

Registered through the ``plait`` entry point group (pyproject.toml), so ``plait eval run classify``
finds them while the evaluation harness in the core never imports this layer.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from plait.errors import PlaitError
from plait.evaluate.targets import Target, TargetRequest, single_input
from plait.plugins import register_target


def classify_target(request: TargetRequest) -> Target:
    """The classifier node (batch prompting when ``batch_size`` > 1) over the dataset's labels."""
    from plait.chains import batch_classifier, classifier

    options, data = dict(request.options), request.data
    # Default label set: every label the dataset or the examples use (a small sample may miss some).
    labels = options.pop("labels", None) or sorted({*(data.labels() if data is not None else ()),
                                                     *(str(label) for _, label in options.get("examples") or ())})
    if not labels:
        raise PlaitError("The classify target needs labels: pass labels=[...] (or --labels), or a dataset "
                         "with an expected column.")
    k = options.pop("k", None)
    prompt = {"prompt": request.prompt} if request.prompt else {}
    kwargs = {"model": request.model, "k": k if options.get("examples") and k else None, **prompt, **options}
    if request.batch_size > 1:
        node = batch_classifier(labels, batch_size=request.batch_size, **kwargs)

        def call(inputs: list[Any], config: RunnableConfig) -> list[Any]:
            try:
                return node.invoke(inputs, config)
            except Exception as exc:  # noqa: BLE001 - the whole chunk failed; each item records it
                return [exc] * len(inputs)
        return Target("classify", "classification", call, chunk=request.batch_size, to_input=_text)
    single = classifier(labels, **kwargs)
    return Target("classify", "classification", lambda xs, cfg: single.batch(xs, cfg, return_exceptions=True),
                  to_input=_text)


def rag_target(request: TargetRequest) -> Target:
    """The RAG chain over ``collection`` (an option), fed each item's question."""
    from plait.chains import rag

    options = dict(request.options)
    prompt = {"prompt": request.prompt} if request.prompt else {}
    node = rag(options.pop("collection", None), model=request.model, **prompt, **options)
    return Target("rag", "rag", lambda xs, cfg: node.batch(xs, cfg, return_exceptions=True),
                  to_input=lambda inputs: single_input(inputs, "question"))


def _text(inputs: dict[str, Any]) -> str:
    return single_input(inputs, "text")


def register() -> None:
    """Entry point: register this layer's targets."""
    register_target("classify", classify_target)
    register_target("rag", rag_target)
