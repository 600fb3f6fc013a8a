"""plait.evaluate: judge prompt, model and adapter changes on data, not on three examples.

Run any chain, graph or role over a labelled dataset, score it, store the run in SQLite and
compare runs side by side (``plait eval run|list|show|compare``).

Example:
    >>> from plait.evaluate import compare, evaluate, load_dataset, sample, target  # doctest: +SKIP
    >>> data = sample(load_dataset("banking.csv", expected="label"), 300, seed=0)  # doctest: +SKIP
    >>> base = evaluate(target("classify", data, examples=pool, k=8), data, name="v1")  # doctest: +SKIP
    >>> new = evaluate(target("classify", data, examples=pool, k=8, prompt="prompts.py:V2"), data, name="v2")  # doctest: +SKIP
    >>> compare(default_store(), "v1", "v2")["ci"]  # doctest: +SKIP
"""

from plait.evaluate.compare import compare
from plait.evaluate.datasets import Dataset, DatasetError, load_dataset, sample, split
from plait.evaluate.metrics import METRICS, Metric, classification_report, grounding, judge, metric, metric_from
from plait.evaluate.report import confusion_png, html_report
from plait.evaluate.runner import default_store, evaluate, finish
from plait.evaluate.store import RunNotFound, RunStore
from plait.evaluate.targets import Target, TargetRequest, load_prompt, runnable_target, single_input, target
from plait.evaluate.types import Case, Item

__all__ = ["METRICS", "Case", "Dataset", "DatasetError", "Item", "Metric", "RunNotFound", "RunStore", "Target",
           "classification_report", "compare", "confusion_png", "default_store", "evaluate", "finish", "grounding",
           "html_report", "judge", "load_dataset", "load_prompt", "metric", "metric_from", "runnable_target", "sample",
           "single_input", "split", "target", "TargetRequest"]
