"""A linear ranker for answer units: logistic regression over :func:`plait.chains.evidence.features`.

The packaged ranker (``data/evidence_ranker.json``) is trained by
``benchmarks/train_evidence_ranker.py`` on finetune/data/helpcentre_dev.jsonl, questions written
apart from the evaluation set; train your own on your questions with :func:`fit_ranker`.

Example:
    >>> ranker = packaged_ranker()
    >>> ranker.score(np.zeros((1, len(FEATURES)))).shape
    (1,)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from plait.errors import PlaitError

FEATURES = ("similarity_with_heading", "similarity", "chunk_score", "top_article", "shared_words",
            "shared_heading_words", "shared_rare_words", "price_for_price", "duration_for_duration", "number_for_count",
            "negation_for_yes_no", "table_row", "fragment", "intro", "log_words", "top_by_similarity",
            "inverse_similarity_rank")
"""Feature names, in the order :func:`plait.chains.evidence.features` writes them."""


class RankerError(PlaitError):
    """A ranker file that cannot be used."""


@dataclass(frozen=True)
class LinearRanker:
    """Weights over standardised features; ``score`` gives the probability a unit holds the answer."""

    weights: tuple[float, ...]
    """One weight per feature (on standardised values)."""
    bias: float
    mean: tuple[float, ...]
    """Feature means and standard deviations of the training rows, for standardising."""
    scale: tuple[float, ...]
    threshold: float = 0.5
    """Best-unit score below which a question counts as not answered by the documents."""
    features: tuple[str, ...] = FEATURES

    def score(self, rows: np.ndarray) -> np.ndarray:
        z = (rows - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.weights) + self.bias)))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"features": list(self.features), "weights": list(self.weights),
                                          "bias": self.bias, "mean": list(self.mean), "scale": list(self.scale),
                                          "threshold": self.threshold},
                                         indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> LinearRanker:
        try:
            data = json.loads(Path(path).read_text())
            ranker = cls(tuple(data["weights"]), float(data["bias"]), tuple(data["mean"]), tuple(data["scale"]),
                         float(data.get("threshold", 0.5)), tuple(data["features"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RankerError(f"{path} is not a ranker file ({exc}); write one with LinearRanker.save().") from exc
        if ranker.features != FEATURES:
            raise RankerError(f"{path} was trained on other features ({len(ranker.features)}); retrain it with "
                              "fit_ranker() or benchmarks/train_evidence_ranker.py.")
        return ranker


@lru_cache(maxsize=1)
def packaged_ranker() -> LinearRanker:
    """The ranker shipped with plait."""
    with resources.as_file(resources.files("plait.chains") / "data" / "evidence_ranker.json") as path:
        return LinearRanker.load(path)


def fit_ranker(rows: np.ndarray, labels: np.ndarray, *, c: float = 1.0) -> LinearRanker:
    """Fit a ranker on feature ``rows`` and 0/1 ``labels`` (1: the unit holds the answer).

    Example:
        >>> fit_ranker(np.random.rand(40, len(FEATURES)), np.arange(40) % 2).weights[:1]  # doctest: +SKIP
    """
    from sklearn.linear_model import LogisticRegression

    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit((rows - mean) / scale, labels)
    return LinearRanker(tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]),
                        tuple(float(m) for m in mean), tuple(float(s) for s in scale))
