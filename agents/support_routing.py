"""The support assistant's router: an embedding head trained on the example shop's labelled messages.

``agents/data/support_routes.jsonl`` holds several hundred customer messages written for the
example shop, each labelled ``primary/topic`` (:data:`plait.agents.prompts.SUPPORT_LABELS`).
A logistic-regression head on the packaged MiniLM averaged with one on character n-grams (which
read misspellings MiniLM does not), trained on them, ships as the packaged
adapter ``lora:support-router``: the ``router`` role's offline default. When the set changes,
the head is retrained (under a minute) into the adapter store on first use, so the shipped head never
disagrees with its data. Bind the ``router`` role to a chat model to route with the LLM classifier
instead (few-shot, the most similar labelled messages shown).

Example:
    >>> from plait.agents.support_routing import route_message, router_model
    >>> decision = route_message(router_model(), "where's my parcel A1002??")  # doctest: +SKIP
    >>> decision.action, round(decision.confidence, 2)  # doctest: +SKIP
    ('order_status', 0.97)
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from plait.agents.prompts import SUPPORT_LABELS
from plait.errors import PlaitError
from plait.models import resolve_model
from plait.models.refs import reference_for
from plait.records import read_records

log = logging.getLogger(__name__)

ROUTES_FILE = Path(__file__).parent / "data" / "support_routes.jsonl"
"""The labelled routing messages (written for the example shop; see the module docstring)."""
ROUTER_ADAPTER = "support-router"
ROUTER_FOLDER = Path(__file__).parent / "data" / "adapters" / ROUTER_ADAPTER
"""The packaged head, rebuilt by ``python -m plait.agents.support_routing --package``."""
CONFIDENCE = 0.5
"""Below this pooled probability of the best action the assistant asks instead of guessing
(calibrated on the training set's cross-validation, see benchmarks/support_routing.py)."""
CONTINUITY = 2.0
"""Prior odds that a message continues the thread's last action (only for the actions in :data:`CONTINUED`)."""
CONTINUED = frozenset({"order_status", "cancel_order", "help_centre"})
"""Actions a follow-up continues; after chit-chat or a hand-off a message starts afresh."""


def action_of(label: str) -> str:
    """The action a ``primary/topic`` label leads to: orders split by topic, other routes by primary.

    Example:
        >>> action_of("orders/cancel_order"), action_of("help_centre/returns")
        ('cancel_order', 'help_centre')
    """
    primary, _, topic = label.partition("/")
    return topic if primary == "orders" else primary


@dataclass(frozen=True)
class RouteDecision:
    """Where one message goes."""

    label: str
    """The best ``primary/topic`` label."""
    action: str
    """:func:`action_of` the label: help_centre, order_status, cancel_order, chit_chat or handoff."""
    confidence: float
    """Pooled probability of ``action`` (the head's), or the classifier's confidence (1.0 when it gives none)."""
    label_confidence: float = 1.0
    """Probability of ``label`` itself (its topic), after the same weighting."""

    @property
    def primary(self) -> str:
        return self.label.partition("/")[0]

    @property
    def topic(self) -> str:
        return self.label.partition("/")[2]


def read_routes(path: str | Path = ROUTES_FILE) -> list[tuple[str, str]]:
    """(text, label) pairs of a routing file (JSONL of ``{"text", "label"}``); unknown labels are an error."""
    known = {f"{p}/{t}" for p, topics in SUPPORT_LABELS.items() for t in topics}
    pairs = []
    for line, row in read_records(path, format="jsonl"):
        if row.get("label") not in known or not str(row.get("text", "")).strip():
            raise PlaitError(f"{path}:{line}: each line needs a non-empty \"text\" and a \"label\" among "
                             f"{', '.join(sorted(known))}; got {row!r:.120}.")
        pairs.append((str(row["text"]), str(row["label"])))
    return pairs


def routes_hash(path: str | Path = ROUTES_FILE) -> str:
    """sha256 of the routing file: the head records the one it was trained on."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def train_router(name: str = ROUTER_ADAPTER, *, path: str | Path = ROUTES_FILE, settings: Any = None,
                 progress: bool = True) -> Any:
    """Train the routing head on ``path`` into the adapter store as ``name`` (about 50 s on 2 CPU cores)."""
    from plait.finetune.head import train_head

    texts, labels = zip(*read_routes(path))
    return train_head(name, list(texts), list(labels), method="logreg", chars=True, data_hash=routes_hash(path),
                      settings=settings, progress=progress)


def package_router(folder: Path = ROUTER_FOLDER) -> Path:
    """Rebuild the packaged head in ``folder`` from :data:`ROUTES_FILE` (a developer's command)."""
    from plait.finetune.head import train_head_into

    texts, labels = zip(*read_routes(ROUTES_FILE))
    return train_head_into(folder, list(texts), list(labels), method="logreg", chars=True,
                           data_hash=routes_hash(ROUTES_FILE), progress=False)


def _head_folder(settings: Any) -> Path:
    from plait.models.registry import adapters_dir

    stored = adapters_dir(settings) / ROUTER_ADAPTER
    return stored if (stored / "adapter.json").is_file() else ROUTER_FOLDER


def router_model(model: str | BaseChatModel | None = None, *, routes: str | Path = ROUTES_FILE,
                 settings: Any = None) -> BaseChatModel:
    """The ``router`` role's model; the head is first retrained into the store if ``routes`` changed since.

    Example:
        >>> router_model("local:gemma-3-270m")  # route with the LLM classifier instead  # doctest: +SKIP
    """
    import json

    from plait.config import load_settings

    if isinstance(model, BaseChatModel):
        return model
    settings = settings or load_settings()
    ref = reference_for(model, role="router", settings=settings)
    if ref == f"lora:{ROUTER_ADAPTER}":
        meta = json.loads((_head_folder(settings) / "adapter.json").read_text(encoding="utf-8"))
        # Only a head built from a routing set (it records the set's hash) is rebuilt; one you trained
        # yourself under this name (no hash) is yours, and left alone.
        if meta.get("data_hash") and meta["data_hash"] != routes_hash(routes):
            log.warning("The support routing set changed since its head was trained: retraining %s (under a minute).",
                        ROUTER_ADAPTER)
            train_router(path=routes, settings=settings, progress=False)
    return resolve_model(ref, settings=settings)


def route_message(llm: BaseChatModel, text: str, classify: Any = None, *, previous: str | None = None) -> RouteDecision:
    """Route ``text``: an embedding head pools its label probabilities per action; an LLM goes through ``classify``.

    ``previous`` is the thread's last action: conversations tend to stay on their topic, so a
    head's probability of continuing it is weighted by :data:`CONTINUITY` (a follow-up such as
    "and the tracking number?" is ambiguous alone and clear after an order-status reply).
    """
    if hasattr(llm, "label_probabilities"):
        probs = llm.label_probabilities([text])[0]
        if previous in CONTINUED:
            weights = {label: CONTINUITY if action_of(label) == previous else 1.0 for label in probs}
            total = sum(p * weights[label] for label, p in probs.items())
            probs = {label: p * weights[label] / total for label, p in probs.items()}
        pooled: dict[str, float] = {}
        for label, p in probs.items():
            pooled[action_of(label)] = pooled.get(action_of(label), 0.0) + p
        action = max(pooled, key=pooled.__getitem__)
        label = max((lb for lb in probs if action_of(lb) == action), key=probs.__getitem__)
        return RouteDecision(label, action, pooled[action], probs[label])
    if classify is None:
        raise PlaitError("Routing with a chat model needs its classifier node: pass classify=classifier(...).")
    result = classify.invoke(text)
    confidence = 1.0 if result.confidence is None else float(result.confidence)
    return RouteDecision(result.label, action_of(result.label), confidence, confidence)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package", action="store_true", help="rebuild the packaged head (developers)")
    args = parser.parse_args()
    if args.package:
        print(f"packaged head rebuilt in {package_router()}")
    else:
        print(f"trained into the adapter store: {train_router().name}")
