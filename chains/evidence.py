"""Evidence selection: rank the answer units of retrieved chunks against the question.

Retrieval finds the right article; the answer is one sentence or table row inside it. Each
candidate unit gets a few features — MiniLM similarity to the question (with and without its
heading), its chunk's retrieval score and article rank, shared words, and whether it holds the
kind of fact the question asks for (a price for "how much", a duration for "how long", a
negation for a yes/no question) — and a small linear ranker (:mod:`plait.chains.ranker`),
trained on questions written apart from the evaluation set, scores them. Unit vectors are
cached, so a help centre is embedded once per process.

Example:
    >>> vectors = UnitVectors(store.embeddings)  # doctest: +SKIP
    >>> select_evidence("how much is express delivery", hits, vectors=vectors).units[0].text  # doctest: +SKIP
    'Service: Express delivery (next working day); Price: £6.95'
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from plait.chains.faithful import STOPWORDS, claims, negated
from plait.chains.ranker import FEATURES, LinearRanker, packaged_ranker
from plait.retrieval import Hit
from plait.retrieval.units import chunk_units

# Question words and greetings on top of the check's stopwords: they say nothing about which unit answers.
_STOP = STOPWORDS | set("what how when which who there their have has had was would could should please hello hi "
                        "dear thanks thank just get got not no yes about".split())
_WANTS = {
    "price": re.compile(r"\b(how much|cost|costs|price|charge|charged|fee|fees|pay for|spend|quid|expensive|cheap)"
                        r"|[£$€]", re.I),
    "duration": re.compile(r"\b(how long|how soon|how many (days|weeks|months|years|hours)|when will|how quickly|"
                           r"until|within|days?|weeks?|months?|years?|hours?)\b", re.I),
    "count": re.compile(r"\b(how many|how old|minimum|maximum|max|min|at least|up to|limit)\b", re.I),
}
_YES_NO_QUESTION = re.compile(r"^\W*(?:\w+[,.!]?\s+){0,12}?(can|could|do|does|did|is|are|will|would|should|have|"
                              r"has|may|am|must)\b", re.I)
_PRICE = re.compile(r"[£$€]\s?\d")


# Texting shorthand MiniLM reads poorly ("do u take amex" scores below unrelated sentences).
_SHORTHAND = {"u": "you", "ur": "your", "r": "are", "n": "and", "w": "with", "pls": "please", "plz": "please",
              "thx": "thanks", "ty": "thank you", "til": "until", "till": "until", "hrs": "hours", "hr": "hour",
              "mins": "minutes", "wk": "week", "wks": "weeks", "b4": "before", "2day": "today", "tmrw": "tomorrow",
              "xmas": "christmas", "msg": "message", "acc": "account", "pw": "password", "amex": "american express",
              "diff": "different", "asap": "as soon as possible", "im": "i am", "cant": "can't", "dont": "don't",
              "wont": "won't", "whats": "what is", "hows": "how is", "wheres": "where is", "info": "information",
              "addy": "address", "qty": "quantity", "approx": "approximately", "pics": "pictures", "bc": "because",
              "cuz": "because", "coz": "because", "gonna": "going to", "wanna": "want to", "gotta": "have to"}
_TOKEN = re.compile(r"[A-Za-z0-9]+")


def normalise_question(question: str) -> str:
    """Expand texting shorthand ("u", "ur", "pls", "til") so the embedding model reads the question.

    Example:
        >>> normalise_question("do u take amex")
        'do you take american express'
    """
    return _TOKEN.sub(lambda m: _SHORTHAND.get(m.group(0).lower(), m.group(0)), question)


@dataclass(frozen=True)
class Evidence:
    """One answer unit, where it comes from, and how well it matches the question."""

    text: str
    score: float
    """The ranker's probability that this unit holds the answer."""
    similarity: float
    """MiniLM cosine similarity of the question and the unit with its heading."""
    hit: Hit

    @property
    def heading(self) -> str:
        return " — ".join(p for p in (self.hit.title, self.hit.section) if p)

    def quote(self) -> str:
        """The unit as shown to a reader: a fragment (list item, row) keeps its section for context."""
        if self.text.rstrip().endswith((".", "!", "?")) or not self.hit.section:
            return self.text
        return f"{self.hit.section}: {self.text}"


class UnitVectors:
    """An LRU cache of unit embeddings, keyed by the text embedded."""

    def __init__(self, embeddings: Embeddings, size: int = 20_000) -> None:
        self.embeddings, self.size = embeddings, size
        self.vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.last: tuple[str, np.ndarray] | None = None

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            for text, vector in zip(missing, self.embeddings.embed_documents(missing)):
                self.vectors[text] = _normalise(np.asarray(vector, dtype=np.float32))
        for text in texts:
            self.vectors.move_to_end(text)
        while len(self.vectors) > self.size:
            self.vectors.popitem(last=False)
        return np.stack([self.vectors[t] for t in texts])

    def query(self, text: str) -> np.ndarray:
        # Asked twice per question (the unit index, then the features): embed it once.
        last = self.last  # read once: another thread may replace it meanwhile
        if last is None or last[0] != text:
            last = (text, _normalise(np.asarray(self.embeddings.embed_query(text), dtype=np.float32)))
            self.last = last
        return last[1]


def _normalise(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) or 1.0)


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP and len(w) > 2}


def _kinds(text: str) -> dict[str, bool]:
    units = {unit for _, unit in claims(text)}
    return {"price": bool(_PRICE.search(text)), "duration": bool(units & {"minute", "hour", "day", "week", "month",
                                                                          "year"}),
            "count": bool(claims(text))}


def candidates(hits: list[Hit]) -> list[tuple[str, Hit]]:
    """Every unit of ``hits`` once, with the best chunk it appears in (hits come best first)."""
    seen: dict[str, Hit] = {}
    for hit in hits:
        for unit in chunk_units(hit.text, hit.metadata):
            seen.setdefault(unit, hit)
    return list(seen.items())


def unit_text(unit: str, hit: Hit) -> str:
    """A unit as it is embedded for matching: its heading (title — section), then the unit."""
    heading = " — ".join(p for p in (hit.title, hit.section) if p)
    return f"{heading}: {unit}" if heading else unit


def features(question: str, found: list[tuple[str, Hit]], vectors: UnitVectors) -> np.ndarray:
    """One row of :data:`plait.chains.ranker.FEATURES` per candidate unit."""
    headings = [" — ".join(p for p in (h.title, h.section) if p) for _, h in found]
    query = vectors.query(question)
    with_heading = vectors([unit_text(u, h) for u, h in found]) @ query
    alone = vectors([u for u, _ in found]) @ query
    articles = list(dict.fromkeys(h.source for _, h in found))
    asked = {kind: bool(pattern.search(question)) for kind, pattern in _WANTS.items()}
    yes_no = bool(_YES_NO_QUESTION.match(question)) and not asked["price"]
    words = _stems(question) or {""}
    stems = [_stems(u) for u, _ in found]
    # Words rare among the candidates ("Australia", "debit") tell units apart; common ones do not.
    idf = {w: math.log((1 + len(found)) / (1 + sum(w in st for st in stems))) for w in words}
    top_idf = sum(idf.values()) or 1.0
    order = np.argsort(-with_heading)
    rank = np.empty(len(found), dtype=int)
    rank[order] = np.arange(len(found))
    rows = []
    for i, ((unit, hit), heading) in enumerate(zip(found, headings)):
        kinds = _kinds(unit)
        rows.append([
            with_heading[i], alone[i], hit.score, float(articles.index(hit.source) == 0),
            len(words & stems[i]) / len(words), len(words & _stems(heading)) / len(words),
            sum(idf[w] for w in words & (stems[i] | _stems(heading))) / top_idf,
            float(asked["price"] and kinds["price"]), float(asked["duration"] and kinds["duration"]),
            float(asked["count"] and kinds["count"]), float(yes_no and negated(unit)),
            float("; " in unit and ": " in unit), float(not unit.rstrip().endswith((".", "!", "?"))),
            float(not hit.section), math.log1p(len(unit.split())), float(rank[i] == 0), 1.0 / (1 + rank[i]),
        ])
    assert len(rows[0]) == len(FEATURES)
    return np.asarray(rows, dtype=np.float32)


@dataclass(frozen=True)
class Selection:
    """The best units for a question, and how close the closest candidate came to it."""

    units: list[Evidence]
    best_similarity: float
    """Highest MiniLM similarity of any candidate unit: low means the documents do not answer it."""


def select_evidence(question: str, hits: list[Hit], *, vectors: UnitVectors, top: int = 3,
                    ranker: LinearRanker | None = None, by_similarity: bool = False) -> Selection:
    """The ``top`` units of ``hits`` best matching ``question``, best first (each unit once).

    A unit's ``score`` is the ranker's probability that it holds the answer or, with
    ``by_similarity`` (``vectors`` come from an adapted scorer, itself the trained ranker),
    the similarity of the question and the unit with its heading.
    """
    found = candidates(hits)
    if not found:
        return Selection([], 0.0)
    rows = features(question, found, vectors)
    scores = rows[:, 0] if by_similarity else (ranker or packaged_ranker()).score(rows)
    ranked = sorted(zip(found, scores, rows[:, 0]), key=lambda triple: -triple[1])[:top]
    return Selection([Evidence(text=unit, score=round(float(score), 4), similarity=round(float(similarity), 4),
                               hit=hit) for (unit, hit), score, similarity in ranked],
                     round(float(rows[:, 0].max()), 4))
