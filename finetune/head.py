"""Embedding-head adaptation: a light classifier on sentence-transformer embeddings, as an adapter.

Two methods: logistic regression on the packaged MiniLM's embeddings (seconds to train), and
SetFit-style contrastive tuning of the MiniLM encoder on same/different-label pairs followed
by logistic regression (minutes). Either is stored in the adapter store and swapped into any
classification node through a role binding (``classifier = "lora:NAME"``), like a LoRA.

Example:
    >>> from plait.finetune.head import train_head
    >>> info = train_head("banking-head", texts, labels, method="logreg")  # doctest: +SKIP
    >>> info.metrics["val_accuracy"]  # doctest: +SKIP
    0.88
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from plait.errors import PlaitError
from plait.finetune.store import AdapterInfo, adapter_dir, load_info, save_info
from plait.retrieval.embeddings import SentenceTransformerEmbeddings, packaged_model_path

HEAD_FILE = "head.npz"
ENCODER_DIR = "encoder"
INPUT_PREFIX = "Text: "
"""What classification prompts put before the text (``CLASSIFY_EXAMPLE``); the head strips it."""


def train_head(name: str, texts: Sequence[str], labels: Sequence[str], *, method: str = "logreg",
               validation: tuple[Sequence[str], Sequence[str]] | None = None, c: float = 10.0,
               pairs_per_example: int = 8, epochs: int = 1, batch_size: int = 32, seed: int = 0,
               progress: bool = True) -> AdapterInfo:
    """Train an embedding head on (text, label) data and store it as adapter ``name``.

    ``method`` is ``logreg`` (logistic regression on MiniLM embeddings) or ``setfit``
    (contrastive tuning of the encoder first). ``validation`` is scored into the metrics.
    """
    if method not in ("logreg", "setfit"):
        raise PlaitError(f"Unknown embedding-head method {method!r}; use logreg or setfit.")
    if len(texts) != len(labels) or len(set(labels)) < 2:
        raise PlaitError("An embedding head needs as many labels as texts, and at least two distinct labels.")
    folder = adapter_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    encoder_path = str(packaged_model_path())
    if method == "setfit":
        encoder_path = _contrastive_tune(encoder_path, texts, labels, folder / ENCODER_DIR, pairs_per_example,
                                         epochs, batch_size, seed, progress)
    vectors = SentenceTransformerEmbeddings(encoder_path).encode(list(texts), progress=progress)
    classes, coef, intercept = _fit_logreg(vectors, labels, c, seed)
    np.savez(folder / HEAD_FILE, classes=np.array(classes), coef=coef, intercept=intercept)
    metrics: dict[str, Any] = {"train_seconds": round(time.perf_counter() - started, 1), "train_examples": len(texts)}
    head = HeadClassifier(folder)
    if validation:
        predicted = [label for label, _ in head.classify(list(validation[0]))]
        metrics["val_accuracy"] = round(float(np.mean([p == g for p, g in zip(predicted, validation[1])])), 4)
    info = AdapterInfo(name=name, method="embedding-head", base="minilm:all-MiniLM-L6-v2",
                       hyperparameters={"method": method, "c": c, "pairs_per_example": pairs_per_example,
                                        "epochs": epochs, "batch_size": batch_size, "seed": seed},
                       metrics=metrics, task={"kind": "classification", "labels": classes})
    save_info(info)
    _load_head.cache_clear()
    return load_info(name)


def _fit_logreg(vectors: np.ndarray, labels: Sequence[str], c: float, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    model.fit(vectors, list(labels))
    classes = [str(x) for x in model.classes_]
    coef, intercept = model.coef_, model.intercept_
    if len(classes) == 2:  # sklearn keeps one row for two classes; softmax wants one per class
        coef, intercept = np.vstack([-coef[0] / 2, coef[0] / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    return classes, coef.astype(np.float32), intercept.astype(np.float32)


def _pairs(texts: Sequence[str], labels: Sequence[str], per_example: int, seed: int) -> list[tuple[str, str, float]]:
    """SetFit's pairs: for each example, half same-label (target 1) and half other-label (target 0) partners."""
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in zip(texts, labels):
        by_label[label].append(text)
    pairs = []
    for text, label in zip(texts, labels):
        others = [x for x in by_label if x != label]
        for i in range(per_example):
            if i % 2 == 0 and len(by_label[label]) > 1:
                pairs.append((text, rng.choice([t for t in by_label[label] if t != text] or [text]), 1.0))
            else:
                pairs.append((text, rng.choice(by_label[rng.choice(others)]), 0.0))
    rng.shuffle(pairs)
    return pairs


def _contrastive_tune(path: str, texts: Sequence[str], labels: Sequence[str], out: Path, per_example: int,
                      epochs: int, batch_size: int, seed: int, progress: bool) -> str:
    """Tune the encoder so same-label texts embed close (cosine 1) and others apart (cosine 0)."""
    import torch
    from rich.progress import Progress

    torch.manual_seed(seed)
    # A private copy: the loaded encoder is shared process-wide and must stay untouched.
    model = copy.deepcopy(SentenceTransformerEmbeddings(path).model)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    pairs = _pairs(texts, labels, per_example, seed)
    steps = [pairs[i:i + batch_size] for i in range(0, len(pairs), batch_size)] * epochs
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("contrastive tuning", total=len(steps))
        for batch in steps:
            left = model(_features(model, [a for a, _, _ in batch]))["sentence_embedding"]
            right = model(_features(model, [b for _, b, _ in batch]))["sentence_embedding"]
            target = torch.tensor([t for _, _, t in batch])
            loss = torch.nn.functional.mse_loss(torch.cosine_similarity(left, right), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            bar.update(task, advance=1, description=f"contrastive tuning · loss {loss.item():.3f}")
    model.eval()
    model.save(str(out))
    return str(out)


def _features(model: Any, texts: list[str]) -> dict[str, Any]:
    # sentence-transformers 5.x renamed tokenize() to preprocess(); accept both.
    return (model.preprocess if hasattr(model, "preprocess") else model.tokenize)(texts)


class HeadClassifier:
    """A stored embedding head: encoder + softmax over a linear layer.

    Example:
        >>> HeadClassifier(adapter_dir("banking-head")).classify(["my card has not come"])  # doctest: +SKIP
        [('card_arrival', 0.91)]
    """

    def __init__(self, folder: Path) -> None:
        data = np.load(folder / HEAD_FILE)
        self.classes = [str(x) for x in data["classes"]]
        self.coef, self.intercept = data["coef"], data["intercept"]
        encoder = folder / ENCODER_DIR
        self.embeddings = SentenceTransformerEmbeddings(encoder if encoder.is_dir() else None)

    def classify(self, texts: list[str]) -> list[tuple[str, float]]:
        """Return (label, probability) per text."""
        scores = self.embeddings.encode(texts) @ self.coef.T + self.intercept
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs = scores / scores.sum(axis=1, keepdims=True)
        return [(self.classes[i], float(p[i])) for i, p in zip(probs.argmax(axis=1), probs)]


_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def _load_head(folder: str) -> HeadClassifier:
    return HeadClassifier(Path(folder))


class HeadChat(BaseChatModel):
    """A chat model whose reply is the head's label for the last user message (``Text: `` stripped).

    ``lora:NAME`` resolves to this for embedding-head adapters, so a classification node (or any
    node expecting one label) takes it through a role binding; classifiers call
    :meth:`classify_texts` directly and skip prompting altogether.
    """

    folder: str
    model_ref: str

    @property
    def _llm_type(self) -> str:
        return "plait-embedding-head"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_ref": self.model_ref}

    def classify_texts(self, texts: list[str]) -> list[tuple[str, float]]:
        """(label, probability) for each text."""
        with _LOCK:
            head = _load_head(self.folder)
        return head.classify(texts)

    @property
    def labels(self) -> list[str]:
        return _load_head(self.folder).classes

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        users = [m for m in messages if m.type == "human"]
        if not users:
            raise PlaitError("An embedding-head model classifies the last user message; none was given.")
        text = str(users[-1].content)
        text = text.split(INPUT_PREFIX, 1)[1] if INPUT_PREFIX in text else text
        label, confidence = self.classify_texts([text])[0]
        message = AIMessage(content=label, response_metadata={"confidence": confidence, "model_ref": self.model_ref},
                            usage_metadata={"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
        return ChatResult(generations=[ChatGeneration(message=message)])


def head_chat(name: str, folder: Path) -> HeadChat:
    """The chat model for embedding-head adapter ``name`` (used by ``lora:NAME`` resolution)."""
    return HeadChat(folder=str(folder), model_ref=f"lora:{name}")
