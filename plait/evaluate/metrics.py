"""Metrics: functions that score one evaluated case, and the registry ``plait eval`` names them by.

A metric returns a float, or None when the item cannot be scored (no expected value, no
sources); a run's value is the mean over the items that could be scored.

Example:
    >>> from plait.evaluate.types import Case, Item
    >>> normalized_match.score(Case(Item("1", {}, expected="cat"), prediction="The  Cat!"))
    1.0
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, Field

from plait.errors import PlaitError
from plait.evaluate.types import Case
from plait.plugins import lookup, names, register_metric
from plait.prompts import Prompt, as_node, prompt


@dataclass(frozen=True)
class Metric:
    """A named item metric: ``fn(case)`` gives a float, or None when the item can't be scored.

    Example:
        >>> Metric("always_one", lambda case: 1.0).score(None)
        1.0
    """

    name: str
    """Name shown in reports and accepted by :func:`metric_from` for built-ins."""
    fn: Callable[[Case], float | None]
    """Scores one case; returns None when the item is not scorable."""
    higher_is_better: bool = True
    """False for error metrics such as ``mae``, so reports know which way is better."""
    description: str = ""
    """One line for reports."""

    def score(self, case: Case) -> float | None:
        """Return this metric's value for ``case`` as a float (bools become 1.0/0.0), or None."""
        value = self.fn(case)
        return None if value is None else float(value)


def aggregate(metric: Metric, scores: Sequence[float | None]) -> float | None:
    """Return the run value of ``metric``: the mean of the non-None scores (None if there are none).

    Example:
        >>> aggregate(exact_match, [1.0, None, 0.0, 1.0])
        0.6666666666666666
    """
    # ``metric`` is taken so a metric with its own aggregation can be added without changing callers.
    kept = [s for s in scores if s is not None]
    return sum(kept) / len(kept) if kept else None


def metric(fn: Callable[..., Any] | None = None, *, name: str | None = None,
           higher_is_better: bool = True) -> Any:
    """Wrap a plain function ``(case)`` or ``(prediction, expected)`` into a :class:`Metric`.

    Works as ``@metric``, ``@metric(name=..., higher_is_better=...)`` or ``metric(fn)``.
    The function may return a number, a bool (1.0/0.0) or None (item not scorable).

    Example:
        >>> @metric
        ... def starts_right(prediction, expected):
        ...     return str(prediction).startswith(str(expected))
        >>> starts_right.name
        'starts_right'
    """
    if fn is None:
        return lambda f: metric(f, name=name, higher_is_better=higher_is_better)
    params = inspect.signature(fn).parameters.values()
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    if len(positional) == 1:
        call = fn
    elif len(positional) == 2:
        def call(case: Case) -> Any:
            return fn(case.prediction, case.expected)
    else:
        raise TypeError(f"Metric function {getattr(fn, '__name__', fn)!r} takes {len(positional)} required "
                        "arguments; write it as fn(case) or fn(prediction, expected).")
    doc = (inspect.getdoc(fn) or "").strip().splitlines()
    return Metric(name or getattr(fn, "__name__", "metric"), call, higher_is_better, doc[0] if doc else "")


# ---- text and number metrics ---------------------------------------------------------------

def _references(expected: Any) -> list[str] | None:
    """Expected value(s) as strings: a list or tuple means 'any of these references'."""
    if expected is None:
        return None
    refs = [str(e) for e in expected] if isinstance(expected, (list, tuple)) else [str(expected)]
    return refs or None


def _text(prediction: Any) -> str:
    # A failed target (None prediction) should score as wrong, not match the text "None".
    return "" if prediction is None else str(prediction)


def _normalize(text: str) -> str:
    """SQuAD-style: lowercase, drop punctuation and articles, collapse whitespace ("The  Cat!" -> "cat")."""
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def _match(case: Case, norm: Callable[[str], str] = str) -> float | None:
    refs = _references(case.expected)
    return None if refs is None else float(norm(_text(case.prediction)) in {norm(r) for r in refs})


# Thousands separators first ("1,200"), then decimals (".5", "42.5"), then integers.
_NUMBER = re.compile(r"-?\d+(?:,\d{3})+(?:\.\d+)?|-?\d*\.\d+|-?\d+")


def _number(value: Any) -> float | None:
    """``value`` as a float, else the first number in its text ("about 42.5 units" -> 42.5), else None."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text.replace(",", ""))
    except ValueError:
        found = _NUMBER.search(text)
        return float(found.group().replace(",", "")) if found else None


def _abs_error(case: Case) -> float | None:
    # A prediction with no number in it is counted as not scorable rather than as some
    # arbitrary large error; the report's item count shows how many were skipped.
    expected, predicted = _number(case.expected), _number(case.prediction)
    return None if expected is None or predicted is None else abs(predicted - expected)


def _bleu(case: Case) -> float | None:
    import sacrebleu  # Imported here: only runs that ask for BLEU pay for the import.

    refs = _references(case.expected)
    # min(): sacrebleu's float arithmetic can give 100.00000000000004 for identical text.
    return None if refs is None else min(1.0, sacrebleu.sentence_bleu(_text(case.prediction), refs).score / 100)


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def _rouge_l(case: Case) -> float | None:
    refs = _references(case.expected)
    prediction = _text(case.prediction)
    return None if refs is None else max(_rouge_scorer().score(r, prediction)["rougeL"].fmeasure for r in refs)


# ---- RAG metrics over case.output = {"answer": ..., "sources": [{"n", "source", ...}]} ------

_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def _same_source(retrieved: str, expected: str) -> bool:
    # Datasets name articles by file name ("shipping-costs.md") or stem ("shipping-costs"),
    # while the index stores paths; match whole path components, so "costs.md" is no match.
    path, name = retrieved.replace("\\", "/"), expected.replace("\\", "/").strip("/")
    return path == name or path.endswith("/" + name) or PurePosixPath(path).stem == name


def _context_recall(case: Case) -> float | None:
    wanted = case.item.metadata.get("source") or case.item.metadata.get("article")
    wanted = [wanted] if isinstance(wanted, str) else list(dict.fromkeys(wanted or []))
    if not wanted:
        return None
    got = [str(s.get("source", "")) for s in case.output.get("sources") or []]
    return sum(any(_same_source(g, w) for g in got) for w in wanted) / len(wanted)


def _answer(case: Case) -> str:
    return str(case.output.get("answer") or _text(case.prediction))


def _citation_validity(case: Case) -> float | None:
    n_sources = len(case.output.get("sources") or [])
    if n_sources == 0:
        return None  # The chain declined to answer: there is nothing it could have cited.
    cited = {int(n) for group in _CITATION.findall(_answer(case)) for n in group.split(",")}
    return float(bool(cited) and all(1 <= n <= n_sources for n in cited))


exact_match = Metric("exact_match", _match, description="Prediction equals the expected text exactly.")
normalized_match = Metric("normalized_match", lambda case: _match(case, _normalize),
                          description="Equal after lowercasing and dropping punctuation, articles, extra spaces.")
abs_error = Metric("mae", _abs_error, higher_is_better=False,
                   description="Absolute error of the first number in the prediction (no number: skipped).")
bleu = Metric("bleu", _bleu, description="Sentence BLEU (sacrebleu), 0..1.")
rouge_l = Metric("rouge_l", _rouge_l, description="ROUGE-L F-measure (longest common subsequence), 0..1.")
context_recall = Metric("context_recall", _context_recall,
                        description="Share of the expected source articles that retrieval returned.")
citation_validity = Metric("citation_validity", _citation_validity,
                           description="The answer cites at least one source and only sources that exist.")

METRICS: Mapping[str, Metric] = MappingProxyType({m.name: m for m in (
    exact_match, normalized_match, abs_error, bleu, rouge_l, context_recall, citation_validity)})
"""Built-in item metrics by name (the LLM judges are built by :func:`metric_from`)."""


# ---- corpus-level classification report -----------------------------------------------------

NO_LABEL = "(none)"
"""Label shown for predictions that produced no label."""


def classification_report(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, Any]:
    """Return accuracy, macro F1 (over gold labels), per-label P/R/F1/support and a confusion matrix.

    ``confusion[i][j]`` counts items with gold label ``labels[i]`` predicted as ``labels[j]``.
    Computed by scikit-learn; a label never predicted has precision 0 (``zero_division=0``).

    Example:
        >>> classification_report(["a", "b"], ["a", None])["accuracy"]
        0.5
    """
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    if len(gold) != len(predicted):
        raise ValueError(f"classification_report got {len(gold)} gold labels and {len(predicted)} predictions; "
                         "pass one prediction per gold label (None where the model gave none).")
    if not gold:
        raise ValueError("classification_report needs at least one labelled item; the dataset is empty "
                         "or no item has an expected label.")
    if any(g is None for g in gold):
        raise ValueError("classification_report got a None gold label; drop items without an expected label first.")
    gold = [str(g) for g in gold]
    pred = [NO_LABEL if p is None else str(p) for p in predicted]
    labels = sorted(set(gold) | set(pred))
    precision, recall, f1, support = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    # Counted here: sklearn's confusion_matrix warns about every 1x1 matrix, even with labels= given.
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred):
        confusion[index[g]][index[p]] += 1
    per_label = {label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                 for label, p, r, f, n in zip(labels, precision, recall, f1, support)}
    return {
        "accuracy": float(accuracy_score(gold, pred)),
        # Over gold labels only: a label that is only ever predicted (or "(none)") is no class of the data.
        "macro_f1": float(f1_score(gold, pred, labels=sorted(set(gold)), average="macro", zero_division=0)),
        "per_label": per_label,
        "labels": labels,
        "confusion": confusion,
    }


# ---- LLM judges -----------------------------------------------------------------------------

class Verdict(BaseModel):
    """A judge's grade for one output."""

    reasoning: str = Field(description="One or two sentences on why.")
    score: int = Field(ge=1, le=5, description="1 = fails the rubric, 5 = fully meets it.")


JUDGE = prompt("judge", [
    ("system", "You grade the output of an AI system against a rubric. Reply with a short reasoning "
               "(one or two sentences) and a score from 1 (fails the rubric) to 5 (fully meets it)."),
    ("human", "Rubric:\n{rubric}\n\nInput:\n{input}\n\nExpected output:\n{expected}\n\n"
              "Output to grade:\n{output}"),
])
"""Default judge prompt; variables ``rubric``, ``input``, ``expected``, ``output``."""

CORRECTNESS_RUBRIC = ("Is the output correct and complete for the input, agreeing with the expected output? "
                      "5: same meaning as the expected output. 3: partly right or missing something important. "
                      "1: wrong, off-topic or empty.")
"""Rubric of ``metric_from("judge")``."""

GROUNDING_RUBRIC = ("Is every claim in the answer supported by the numbered sources in the input? "
                    "5: every claim is supported. 3: some claims are unsupported. "
                    "1: the answer contradicts the sources or is not based on them.")
"""Rubric of :func:`grounding`."""


def _show(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))  # A lone field ("text", "question") reads better bare.
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _llm_metric(name: str, rubric: str, model: Any, template: Prompt,
                values: Callable[[Case], dict[str, str] | None], description: str) -> Metric:
    from plait.models import resolve_model  # Deferred: metrics without a judge never load models.

    llm = resolve_model(model, role="judge")
    chain = as_node(template.template | llm.with_structured_output(Verdict), name=name, prompt=template)

    def grade(case: Case) -> float | None:
        filled = values(case)
        if filled is None:
            return None
        for _ in range(2):  # One retry: a sampled model often parses on the second try.
            try:
                verdict = chain.invoke({**filled, "rubric": rubric})
            except Exception:  # A broken reply must not end an evaluation run; the item is skipped.
                continue
            return (verdict.score - 1) / 4
        return None

    return Metric(name, grade, description=description)


def judge(rubric: str, *, model: Any = None, name: str = "judge", prompt: Prompt = JUDGE) -> Metric:
    """Return a metric where an LLM grades each output 1..5 against ``rubric``, scaled to 0..1.

    Unparseable replies are retried once, then the item is skipped (None).

    Example:
        >>> polite = judge("Is the reply polite?", model="openai:gpt-4o-mini")  # doctest: +SKIP
    """
    def values(case: Case) -> dict[str, str]:
        expected = "(none given)" if case.expected is None else _show(case.expected)
        output = _show(case.output) if case.prediction is None else _show(case.prediction)
        return {"input": _show(case.inputs), "expected": expected, "output": output}

    return _llm_metric(name, rubric, model, prompt, values, f"LLM judge (1..5 scaled to 0..1): {rubric}")


def grounding(*, model: Any = None, name: str = "grounding", prompt: Prompt = JUDGE) -> Metric:
    """Return a judge metric: is every claim in a RAG answer supported by its numbered sources?

    Items whose output has no sources are skipped (None).

    Example:
        >>> grounded = grounding(model="judge")  # doctest: +SKIP
    """
    def values(case: Case) -> dict[str, str] | None:
        sources = case.output.get("sources") or []
        if not sources:
            return None
        listed = "\n\n".join(f"[{s.get('n', i)}] {s.get('title') or s.get('source', '')}\n{s.get('text', '')}"
                             for i, s in enumerate(sources, start=1))
        return {"input": f"Question: {_show(case.inputs)}\n\nSources:\n{listed}",
                "expected": "(not used: grade against the sources)", "output": _answer(case)}

    return _llm_metric(name, GROUNDING_RUBRIC, model, prompt, values, "LLM judge: answer supported by its sources.")


register_metric("judge", lambda: judge(CORRECTNESS_RUBRIC))
register_metric("grounding", grounding)


def metric_from(spec: str | Metric | Callable[..., Any]) -> Metric:
    """Return the metric ``spec`` names: a built-in or registered name, ``"module:function"``, a Metric or a function.

    Plugins add names with :func:`plait.plugins.register_metric`.

    Example:
        >>> metric_from("mae").higher_is_better
        False
    """
    if isinstance(spec, Metric):
        return spec
    if callable(spec):
        return metric(spec)
    if not isinstance(spec, str):
        raise TypeError(f"metric_from takes a metric name, 'module:function', a Metric or a function, "
                        f"not {type(spec).__name__}.")
    if spec in METRICS:
        return METRICS[spec]
    factory = lookup("metric", spec)
    if factory is not None:
        return factory()
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise PlaitError(f"Cannot load metric {spec!r}: {exc}. Check that module {module_name!r} is importable "
                             f"(run from its directory or install it) and defines {attr!r}.") from exc
        return metric_from(found)
    valid = ", ".join([*METRICS, *names("metric")])
    raise PlaitError(f"Unknown metric {spec!r}. Use one of: {valid}; or 'module:function' for a function "
                     "of your own taking (case) or (prediction, expected).")
