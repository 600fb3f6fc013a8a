"""The jailbreak and prompt-injection classifier: a linear head over windows of the text.

Long role-play jailbreaks hide their payload hundreds of words in, past what MiniLM reads (256
word pieces), so the text is cut into overlapping windows of :data:`WINDOW_WORDS` words, each
window is scored by two logistic regressions averaged (MiniLM embeddings, and character n-grams
that read shouting, spacing and leetspeak), and the text scores as its worst window. The head
(``chains/data/jailbreak_head.npz`` + ``.json``: weights, thresholds and how it was built) is
rebuilt by ``python -m plait.chains.jailbreak_train`` from PyRIT's templates (see that module).

Example:
    >>> from plait.chains.jailbreak import jailbreak_score
    >>> score = jailbreak_score("Where is my parcel? It has not moved in four days.")
    >>> score.probability < 0.5, score.windows
    (True, 1)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from plait.errors import PlaitError

HEAD = Path(__file__).parent / "data" / "jailbreak_head.npz"
"""Weights of the packaged head; its metadata (thresholds, data, measured figures) sits beside it as ``.json``."""
WINDOW_WORDS = 150
"""Words per window: about 200 word pieces, inside MiniLM's 256."""
STRIDE = 100
"""Words between window starts: windows overlap by a third, so no payload is cut in two unseen."""
MAX_WINDOWS = 48
"""Windows scored at most (about 5,000 words): longer texts are covered by evenly spread windows, so
latency stays bounded, and say so in the score."""


def windows(text: str) -> list[str]:
    """Overlapping windows of ``text`` (one when it is short); at most :data:`MAX_WINDOWS`, spread evenly.

    Example:
        >>> len(windows("word " * 400)), len(windows("hi there"))
        (4, 1)
    """
    words = text.split()
    if len(words) <= WINDOW_WORDS:
        return [text]
    starts = list(range(0, len(words) - WINDOW_WORDS + STRIDE, STRIDE))
    if len(starts) > MAX_WINDOWS:
        starts = [round(i * (len(words) - WINDOW_WORDS) / (MAX_WINDOWS - 1)) for i in range(MAX_WINDOWS)]
    return [" ".join(words[s:s + WINDOW_WORDS]) for s in starts]


@dataclass(frozen=True)
class JailbreakScore:
    """How much a text looks like a jailbreak or an injection, and where."""

    probability: float
    """The worst window's probability."""
    window: int
    """Which window (0-based) scored it."""
    windows: int
    """How many windows were scored."""
    spread: bool = False
    """True when the text was too long to score every window (evenly spread windows instead)."""

    def reason(self) -> str:
        where = f" (window {self.window + 1} of {self.windows})" if self.windows > 1 else ""
        return f"jailbreak classifier {self.probability:.2f}{where}"


@dataclass(frozen=True)
class JailbreakHead:
    """The two linear models and the thresholds the moderator uses."""

    coef: np.ndarray
    intercept: float
    char_coef: np.ndarray
    char_intercept: float
    flag_at: float
    block_at: float

    @classmethod
    def load(cls, path: Path = HEAD) -> JailbreakHead:
        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise PlaitError(f"No jailbreak head at {path}: reinstall plait, or rebuild it with "
                             "`python -m plait.chains.jailbreak_train` (needs `pip install --no-deps pyrit`).")
        data, meta = np.load(path), json.loads(meta_path.read_text(encoding="utf-8"))
        return cls(data["coef"], float(data["intercept"]), data["char_coef"].astype(np.float32),
                   float(data["char_intercept"]), float(meta["thresholds"]["flag"]), float(meta["thresholds"]["block"]))

    def probabilities(self, texts: list[str]) -> np.ndarray:
        from plait.retrieval.embeddings import char_ngrams, local_embeddings

        minilm = local_embeddings().encode(texts) @ self.coef + self.intercept
        chars = char_ngrams(texts) @ self.char_coef + self.char_intercept
        return (_sigmoid(minilm) + _sigmoid(np.asarray(chars).ravel())) / 2

    def score(self, text: str) -> JailbreakScore:
        parts = windows(text)
        probs = self.probabilities(parts)
        worst = int(np.argmax(probs))
        return JailbreakScore(float(probs[worst]), worst, len(parts), len(text.split()) > MAX_WINDOWS * STRIDE)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@lru_cache(maxsize=2)
def jailbreak_head(path: str = str(HEAD)) -> JailbreakHead:
    """The head at ``path`` (default: the packaged one), loaded once per process."""
    return JailbreakHead.load(Path(path))


def jailbreak_score(text: str, *, head: JailbreakHead | None = None) -> JailbreakScore:
    """Score ``text`` with ``head`` (default: the packaged head)."""
    return (head or jailbreak_head()).score(text)
