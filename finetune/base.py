"""The transformers side of fine-tuning: the base model, trained adapters, and their forward.

transformers reads the packaged Q4_K_M GGUF dequantized to fp32, which takes about a minute
on 2 cores, so the converted model is saved once under ``~/.cache/plait`` (keyed by the
GGUF's size and mtime) and later loads take seconds. Trained adapters load here too: this is
the fallback backend for adapters llama.cpp cannot run (prompt tuning).

Example:
    >>> model, tokenizer = load_base()  # doctest: +SKIP
    >>> model.config.model_type  # doctest: +SKIP
    'gemma3_text'
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from plait.errors import PlaitError
from plait.models.packaged import gemma_270m_path

DEFAULT_CACHE = Path("~/.cache/plait/gemma-3-270m-hf")
_LOCK = threading.Lock()


def _cache_key(gguf: Path) -> str:
    stat = gguf.stat()
    return f"{stat.st_size}-{int(stat.st_mtime)}"


def _clear_quantizer_marker(model: Any) -> None:
    # A GGUF-loaded model is dequantized fp32, but transformers still tags it as "quantized"
    # and then refuses save_pretrained (and training). The weights are plain tensors: untag.
    for attr in ("hf_quantizer", "quantization_method"):
        if hasattr(model, attr):
            setattr(model, attr, None)
    if hasattr(model, "is_quantized"):
        try:
            model.is_quantized = False
        except AttributeError:
            pass  # a read-only property derived from hf_quantizer, already cleared above
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config


def _convert(gguf: Path, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
    _clear_quantizer_marker(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Save under a private name, then rename: a kill mid-save never leaves a half cache.
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", suffix=".partial", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is as shareable as ~/.cache itself
        os.replace(tmp, target)
    except OSError:
        if not target.is_dir():  # another process may have won the race; theirs is as good
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cached_base_dir(*, cache_dir: str | Path | None = None) -> Path:
    """Return the folder of the converted base model, converting the GGUF if needed.

    Example:
        >>> cached_base_dir().name  # doctest: +SKIP
        '253113024-1795463088'
    """
    gguf = gemma_270m_path()
    target = Path(cache_dir or DEFAULT_CACHE).expanduser() / _cache_key(gguf)
    if not (target / "config.json").is_file():
        try:
            _convert(gguf, target)
        except (OSError, ValueError) as exc:
            raise PlaitError(f"Could not convert {gguf} for training ({exc}). Check free disk space under "
                             f"{target.parent}, or pass cache_dir= to use another folder.") from exc
    return target


@lru_cache(maxsize=2)
def _load(folder: str) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="float32")
    return model, tokenizer


def load_base(*, cache_dir: str | Path | None = None, fresh: bool = False) -> tuple[Any, Any]:
    """Return ``(model, tokenizer)``: the packaged base model in fp32 for training.

    The model is shared within a process; pass ``fresh=True`` for a private copy (PEFT
    injects its layers into the model it wraps).

    Example:
        >>> model, tokenizer = load_base()  # doctest: +SKIP
        >>> tokenizer("Hello").input_ids[:1]  # doctest: +SKIP
        [2]
    """
    with _LOCK:
        folder = str(cached_base_dir(cache_dir=cache_dir))
        model, tokenizer = _load(folder)
    return (copy.deepcopy(model), tokenizer) if fresh else (model, tokenizer)


@dataclass(frozen=True)
class Encoded:
    """One tokenized example: prompt + answer token ids, and where the answer starts."""

    ids: tuple[int, ...]
    n_prompt: int
    earlier: tuple[tuple[int, int], ...] = ()
    """``(start, end)`` token spans of earlier answers that are trained on too (multi-turn examples)."""


def collate(items: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad examples into a batch whose labels are -100 everywhere but on the answers."""
    width = max(len(e.ids) for e in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full_like(ids, -100)
    mask = torch.zeros_like(ids)
    for row, e in enumerate(items):
        ids[row, : len(e.ids)], mask[row, : len(e.ids)] = torch.tensor(e.ids), 1
        labels[row, e.n_prompt: len(e.ids)] = torch.tensor(e.ids[e.n_prompt:])
        for start, end in e.earlier:
            labels[row, start:end] = torch.tensor(e.ids[start:end])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _hidden(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Last hidden states of the decoder, with prompt tuning's virtual tokens prepended (then cut)."""
    decoder = model.get_base_model().model
    if not model.peft_config[model.active_adapter].is_prompt_learning:
        return decoder(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
    embeds = decoder.embed_tokens(ids)
    virtual = model.get_prompt(batch_size=ids.shape[0]).to(embeds.dtype)  # as PeftModel.forward does
    mask = torch.cat([torch.ones(ids.shape[0], virtual.shape[1], dtype=mask.dtype), mask], dim=1)
    out = decoder(inputs_embeds=torch.cat([virtual, embeds], dim=1), attention_mask=mask, use_cache=False)
    return out.last_hidden_state[:, virtual.shape[1]:]


def label_nll(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the negative log-likelihood of every label token and the batch row it is in.

    Only positions that predict a label go through Gemma's 262k-row output layer, which
    dominates the cost of a full-logits forward.

    Example:
        >>> nll, rows = label_nll(peft_model, collate(examples, pad_id=0))  # doctest: +SKIP
    """
    hidden = _hidden(model, batch["input_ids"], batch["attention_mask"])
    targets = batch["labels"][:, 1:]
    keep = targets != -100
    logits = model.get_base_model().lm_head(hidden[:, :-1][keep])
    cap = getattr(model.get_base_model().config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return F.cross_entropy(logits.float(), targets[keep], reduction="none"), keep.nonzero()[:, 0]


@lru_cache(maxsize=2)
def _adapter(folder: str, stamp: float) -> tuple[Any, Any]:
    from peft import PeftModel

    base, tokenizer = load_base(fresh=True)
    model = PeftModel.from_pretrained(base, folder)
    return model.eval(), tokenizer


def load_adapter(peft_dir: str | Path) -> tuple[Any, Any]:
    """Return ``(peft_model, tokenizer)`` for a saved PEFT adapter on the base, in eval mode.

    Example:
        >>> model, tokenizer = load_adapter(".plait/adapters/intents/peft")  # doctest: +SKIP
    """
    config = Path(peft_dir) / "adapter_config.json"
    if not config.is_file():
        raise PlaitError(f"No PEFT adapter in {peft_dir}: train one with plait.finetune.lora.train.")
    return _adapter(str(Path(peft_dir).resolve()), config.stat().st_mtime)


@torch.no_grad()
def score_labels(model: Any, tokenizer: Any, prompt: str, answers: list[str]) -> list[float]:
    """Return the log-probability of each full answer text after ``prompt``.

    Example:
        >>> score_labels(model, tokenizer, "User: Text: hi\\nAssistant:", [" greet\\n", " bye\\n"])  # doctest: +SKIP
        [-0.2, -3.1]
    """
    prompt_ids = tokenizer(prompt).input_ids
    items = [Encoded(tuple(prompt_ids + tokenizer(a, add_special_tokens=False).input_ids), len(prompt_ids))
             for a in answers]
    nll, rows = label_nll(model, collate(items, tokenizer.pad_token_id or 0))
    return (-torch.zeros(len(items)).index_add_(0, rows, nll)).tolist()


@torch.no_grad()
def greedy_complete(model: Any, tokenizer: Any, prompt: str, *, max_tokens: int = 32, stop: str = "\n") -> str:
    """Greedy completion of ``prompt`` with transformers (the fallback for prompt-tuned adapters).

    Example:
        >>> greedy_complete(model, tokenizer, "User: Text: hi\\nAssistant:")  # doctest: +SKIP
        ' greeting'
    """
    ids = tokenizer(prompt).input_ids
    out: list[int] = []
    for _ in range(max_tokens):
        seq = torch.tensor([ids + out])
        hidden = _hidden(model, seq, torch.ones_like(seq))[0, -1]
        token = int(model.get_base_model().lm_head(hidden).argmax())
        if token == tokenizer.eos_token_id or stop in tokenizer.decode([token]):
            break
        out.append(token)
    return tokenizer.decode(out)
