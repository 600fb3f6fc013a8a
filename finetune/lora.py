"""Train a LoRA (or prompt-tuning) adapter for the packaged Gemma 3 270M on chat examples.

Each example is ``{"messages": [...]}`` whose last message is the assistant's answer. The
prompt is rendered exactly as plait renders it for llama.cpp at inference, and the loss
covers only the answer (``" " + answer + "\\n"``). Gemma 3's output layer has 262k rows, so
logits are computed only where a label is predicted (2.8x faster than full logits).

Example:
    >>> info = train("intents", [{"messages": [{"role": "user", "content": "Text: card lost"},
    ...     {"role": "assistant", "content": "lost_card"}]}], options=TrainOptions(epochs=3))  # doctest: +SKIP
    >>> resolve_model("lora:intents")  # llama.cpp + adapters/intents/adapter.gguf  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch

from plait.config import Settings
from plait.errors import PlaitError
from plait.finetune.base import Encoded, collate, greedy_complete, label_nll, load_adapter, load_base, score_labels
from plait.finetune.store import AdapterInfo, adapter_dir, load_info, save_info
from plait.models.packaged import gemma_270m_path
from plait.models.render import render_transcript

BASE_REF = "local:gemma-3-270m"
END_OF_TURN = "\n"
"""Ends every trained answer: plait's label decoding ends a choice on a newline, and free
generation stops at the ``\\nUser:`` that follows it in a transcript."""
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# 1e-3 for LoRA measured on BANKING77 (20/intent, 3 epochs): 85.3% held-out vs 71% at 2e-4.
DEFAULT_LEARNING_RATES = {"lora": 1e-3, "prompt-tuning": 3e-2}
"""AdamW peak learning rate per method when ``TrainOptions.learning_rate`` is None."""


@dataclass(frozen=True)
class TrainOptions:
    """How to train an adapter; change with ``dataclasses.replace``."""

    method: str = "lora"
    """``lora`` (exported to GGUF for llama.cpp) or ``prompt-tuning`` (transformers only)."""
    epochs: int = 2
    """Passes over the training examples (fewer when early stopping triggers)."""
    learning_rate: float | None = None
    """AdamW peak learning rate; None picks 1e-3 for LoRA, 3e-2 for prompt tuning."""
    batch_size: int = 16
    """Examples per optimizer step, batched by similar length."""
    rank: int = 16
    """LoRA rank r."""
    alpha: float = 32
    """LoRA alpha; the update is scaled by alpha / rank."""
    dropout: float = 0.05
    """Dropout on the LoRA input during training."""
    target_modules: tuple[str, ...] = ALL_LINEAR
    """Linear layers that get LoRA weights (the GGUF export supports exactly these seven)."""
    num_virtual_tokens: int = 16
    """Learned prompt length for prompt tuning."""
    max_tokens: int = 512
    """Longest example (prompt + answer) in tokens; longer ones are an error."""
    patience: int = 1
    """Epochs without a better validation loss before training stops (best weights kept)."""
    seed: int = 0
    """Seed for weight init, data order and dropout."""
    threads: int | None = None
    """torch CPU threads; None uses every core."""
    checkpoint_every: int = 50
    """Optimizer steps between checkpoints (one is also written at each epoch end)."""



@dataclass(frozen=True)
class Progress:
    """One report from :func:`train` to its ``on_progress`` hook."""

    kind: Literal["resumed", "step", "epoch"]
    """``resumed`` (restored from a checkpoint), ``step`` (one optimizer step) or ``epoch`` (an epoch ended)."""
    step: int
    """Optimizer steps done so far."""
    total_steps: int
    """Steps the run plans (fewer are done when early stopping triggers)."""
    epoch: int
    """Epochs completed."""
    loss: float | None = None
    """Training loss of this step (``step`` reports)."""
    val_loss: float | None = None
    """Validation loss at the end of the epoch (``epoch`` reports with validation data)."""
    checkpoint: bool = False
    """A checkpoint holding this progress was just written."""


class TrainingStopped(PlaitError):
    """``train`` stopped because its ``should_stop`` hook said so; its checkpoint holds the progress."""

    def __init__(self, message: str, *, step: int) -> None:
        super().__init__(message)
        self.step = step


ProgressHook = Callable[[Progress], object]
StopHook = Callable[[], bool]

_ROLES = {"system": "system", "user": "human", "human": "human", "assistant": "ai", "ai": "ai"}


def split_example(example: Mapping[str, Any], index: int = 0) -> tuple[str, str]:
    """Return ``(prompt, answer)`` text for a chat example, as the local model sees them.

    Example:
        >>> split_example({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]})
        ('User: Hi\\nAssistant:', ' Yo\\n')
    """
    messages = example.get("messages") if isinstance(example, Mapping) else None
    if not isinstance(messages, Sequence) or not messages:
        raise PlaitError(f"Example {index} has no 'messages' list: write each example as "
                         '{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}.')
    roles = [m.get("role") if isinstance(m, Mapping) else None for m in messages]
    if roles[-1] not in ("assistant", "ai"):
        raise PlaitError(f"Example {index}: the last message must be the assistant's answer (role 'assistant'), "
                         f"not {roles[-1]!r}. Append the answer to train on, or drop the example.")
    unknown = [r for r in roles if r not in _ROLES]
    if unknown:
        raise PlaitError(f"Example {index} has message role {unknown[0]!r}; use system, user or assistant.")
    return render_prompt(messages[:-1]), " " + str(messages[-1].get("content", "")).strip() + END_OF_TURN


def render_prompt(messages: Sequence[Mapping[str, Any]]) -> str:
    """Render role/content dicts into the transcript prompt llama.cpp sees (ends ``Assistant:``)."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "human": HumanMessage, "ai": AIMessage}
    return render_transcript([kinds[_ROLES[m["role"]]](str(m.get("content", ""))) for m in messages]).prompt


def _weighted(messages: Sequence[Any]) -> list[int]:
    """Positions of earlier assistant messages marked ``"weight": 1`` (OpenAI's chat fine-tuning field)."""
    return [i for i, m in enumerate(messages[:-1]) if isinstance(m, Mapping) and _ROLES.get(str(m.get("role"))) == "ai"
            and m.get("weight") == 1]


def _pieces(example: Mapping[str, Any], index: int) -> list[tuple[str, bool]]:
    """``(text, trained)`` pieces of an example: the prompt, then each trained answer and what follows it."""
    prompt, answer = split_example(example, index)
    messages = example["messages"]
    pieces: list[tuple[str, bool]] = []
    done = ""
    for position in _weighted(messages):
        before = render_prompt(messages[:position])
        reply = " " + str(messages[position].get("content", "")).strip() + END_OF_TURN
        pieces += [(before[len(done):], False), (reply, True)]
        done = before + reply
    if not prompt.startswith(done):  # cannot happen with plait's renderer; guards a custom one
        raise PlaitError(f"Example {index}: its transcript does not extend turn by turn; drop the 'weight' fields.")
    return [*pieces, (prompt[len(done):], False), (answer, True)]


def encode_examples(examples: Sequence[Mapping[str, Any]], tokenizer: Any, *, max_tokens: int) -> list[Encoded]:
    """Tokenize chat examples, prompt and answer separately as llama.cpp does at inference.

    Earlier assistant messages with ``"weight": 1`` are trained on as well (one pass over the
    conversation instead of one example per turn); only the last one is otherwise.
    """
    encoded = []
    for index, example in enumerate(examples):
        ids: list[int] = []
        spans = []
        for number, (text, trained) in enumerate(_pieces(example, index)):
            # The first piece gets BOS, like llama.cpp's add_bos=True; the rest are continuations.
            piece = tokenizer(text, add_special_tokens=number == 0).input_ids
            if trained:
                spans.append((len(ids), len(ids) + len(piece)))
            ids += piece
        if len(ids) > max_tokens:
            raise PlaitError(f"Example {index} is {len(ids)} tokens, over max_tokens="
                             f"{max_tokens}: shorten it, or raise TrainOptions.max_tokens.")
        encoded.append(Encoded(tuple(ids), spans[-1][0], earlier=tuple(spans[:-1])))
    return encoded


def plan_batches(lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int) -> list[list[int]]:
    """Shuffle, then group examples of similar length (windows of 8 batches) to cut padding."""
    rng = random.Random(seed * 100_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 8
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start: start + window], key=lambda i: lengths[i])
        batches += [chunk[i: i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _peft_model(base: Any, options: TrainOptions, base_adapter: str | None, settings: Settings | None) -> Any:
    from peft import LoraConfig, PeftModel, PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model

    if base_adapter is not None:  # incremental: keep the old adapter's shape, continue its weights
        old = adapter_dir(base_adapter, settings) / "peft"
        if load_info(base_adapter, settings).method != options.method or not old.is_dir():
            raise PlaitError(f"Adapter {base_adapter!r} has no PEFT {options.method} weights to start from; pick "
                             f"a {options.method} adapter trained by plait, or pass base_adapter=None.")
        return PeftModel.from_pretrained(base, str(old), is_trainable=True)
    if options.method == "lora":
        config = LoraConfig(task_type=TaskType.CAUSAL_LM, r=options.rank, lora_alpha=options.alpha,
                            lora_dropout=options.dropout, target_modules=list(options.target_modules))
    elif options.method == "prompt-tuning":
        config = PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=options.num_virtual_tokens,
                                    prompt_tuning_init=PromptTuningInit.SAMPLE_VOCAB)
    else:
        raise PlaitError(f"Unknown training method {options.method!r}; use 'lora' or 'prompt-tuning'.")
    return get_peft_model(base, config)


@dataclass
class _State:
    """Everything a resumed run needs besides weights and optimizer (saved in each checkpoint)."""

    step: int = 0
    epoch: int = 0
    batch_index: int = 0
    batches: list[list[int]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    val_losses: list[tuple[int, float]] = field(default_factory=list)
    best_val: float = math.inf
    bad_epochs: int = 0
    stopped: bool = False
    seconds: float = 0.0
    tokens: int = 0



class _Trainer:
    """One training run: model, optimizer, schedule, data order and progress, checkpointed together."""

    def __init__(self, model: Any, options: TrainOptions, data: list[Encoded], val: list[Encoded], *,
                 pad_id: int, checkpoint: Path, meta: dict[str, Any], on_progress: ProgressHook | None = None,
                 should_stop: StopHook | None = None) -> None:
        self.model, self.options, self.data, self.val, self.pad_id = model, options, data, val, pad_id
        self.checkpoint, self.meta, self.state = checkpoint, meta, _State()
        self.on_progress, self.should_stop = on_progress, should_stop
        self.params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self.optimizer = torch.optim.AdamW(self.params.values(), lr=options.learning_rate, weight_decay=0.0)
        self.total_steps = options.epochs * math.ceil(len(data) / options.batch_size)
        warmup = max(1, self.total_steps // 20)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / self.total_steps))
        self.best: dict[str, torch.Tensor] | None = None

    def snapshot(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().clone() for n, p in self.params.items()}

    def save(self) -> None:
        """Write the checkpoint atomically: a kill mid-write leaves the previous one intact."""
        self.checkpoint.mkdir(parents=True, exist_ok=True)
        payload = {"meta": self.meta, "state": asdict(self.state), "weights": self.snapshot(), "best": self.best,
                   "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                   "rng": torch.get_rng_state()}
        tmp = self.checkpoint / "state.pt.tmp"
        torch.save(payload, tmp)
        os.replace(tmp, self.checkpoint / "state.pt")

    def restore(self) -> bool:
        """Continue from the checkpoint, if there is one; refuse one made for other data or options."""
        path = self.checkpoint / "state.pt"
        if not path.is_file():
            return False
        payload = torch.load(path, weights_only=False)
        if payload["meta"] != self.meta:
            raise PlaitError(f"The checkpoint in {self.checkpoint} was made with other data, options or base "
                             "adapter; train with resume=False to start over (it replaces the checkpoint).")
        with torch.no_grad():
            for name, value in payload["weights"].items():
                self.params[name].copy_(value)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        torch.set_rng_state(payload["rng"])
        self.state, self.best = _State(**payload["state"]), payload["best"]
        self.report("resumed")
        return True

    def report(self, kind: Literal["resumed", "step", "epoch"], *, loss: float | None = None,
               checkpoint: bool = False) -> None:
        if self.on_progress is not None:
            val = self.state.val_losses[-1][1] if kind == "epoch" and self.state.val_losses else None
            self.on_progress(Progress(kind, self.state.step, self.total_steps, self.state.epoch, loss, val, checkpoint))

    def stop_if_asked(self) -> None:
        """Save and raise :class:`TrainingStopped` when the stop hook says so (checked before every step)."""
        if self.should_stop is not None and self.should_stop():
            self.save()
            raise TrainingStopped(f"Training stopped at step {self.state.step} of {self.total_steps}; "
                                  "train again with resume=True to continue from the checkpoint.",
                                  step=self.state.step)

    def step(self, indices: list[int]) -> float:
        batch = collate([self.data[i] for i in indices], self.pad_id)
        started = time.perf_counter()
        self.model.train()
        nll, _ = label_nll(self.model, batch)
        loss = nll.mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params.values(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state.seconds += time.perf_counter() - started
        self.state.tokens += int(batch["attention_mask"].sum())
        return loss.item()

    @torch.no_grad()
    def validation_loss(self) -> float:
        self.model.eval()
        order = sorted(range(len(self.val)), key=lambda i: len(self.val[i].ids))
        total, count = 0.0, 0
        for start in range(0, len(order), self.options.batch_size):
            nll, _ = label_nll(self.model, collate([self.val[i] for i in order[start: start + self.options.batch_size]],
                                                    self.pad_id))
            total, count = total + float(nll.sum()), count + nll.numel()
        return total / max(count, 1)

    def end_epoch(self) -> None:
        state = self.state
        state.epoch, state.batch_index, state.batches = state.epoch + 1, 0, []
        if not self.val:
            return
        loss = self.validation_loss()
        state.val_losses.append((state.step, loss))
        if loss < state.best_val - 1e-4:
            state.best_val, state.bad_epochs, self.best = loss, 0, self.snapshot()
        else:
            state.bad_epochs += 1
            state.stopped = state.bad_epochs >= self.options.patience

    def fit(self, *, progress: bool, desc: str) -> None:
        from tqdm.auto import tqdm

        state, every = self.state, max(1, self.options.checkpoint_every)
        bar = tqdm(total=self.total_steps, initial=state.step, disable=not progress, desc=desc, unit="step")
        while state.epoch < self.options.epochs and not state.stopped:
            if not state.batches:
                state.batches = plan_batches([len(e.ids) for e in self.data], self.options.batch_size,
                                             seed=self.options.seed, epoch=state.epoch)
            while state.batch_index < len(state.batches):
                self.stop_if_asked()
                state.losses.append(self.step(state.batches[state.batch_index]))
                state.batch_index, state.step = state.batch_index + 1, state.step + 1
                bar.update(1)
                bar.set_postfix(loss=f"{sum(state.losses[-10:]) / len(state.losses[-10:]):.3f}")
                if state.step % every == 0:
                    self.save()
                self.report("step", loss=state.losses[-1], checkpoint=state.step % every == 0)
            self.end_epoch()
            self.save()
            self.report("epoch", checkpoint=True)
        bar.close()
        if self.best is not None:  # early stopping keeps the weights of the best validation loss
            with torch.no_grad():
                for name, value in self.best.items():
                    self.params[name].copy_(value)


def _plot(state: _State, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    ax.plot(range(1, len(state.losses) + 1), state.losses, label="train loss (per step)", linewidth=1)
    if state.val_losses:
        steps, losses = zip(*state.val_losses)
        ax.plot(steps, losses, "o-", label="validation loss (per epoch)")
    ax.set(xlabel="step", ylabel="loss (answer tokens)")
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")


def _save_peft(model: Any, folder: Path) -> Path:
    target, tmp, old = folder / "peft", folder / "peft.partial", folder / "peft.old"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    if target.exists():  # swap whole folders, so a reader never sees a mix of two adapters
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _data_hash(*datasets: Sequence[Mapping[str, Any]]) -> str:
    text = json.dumps([list(d) for d in datasets], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def train(name: str, train_examples: Sequence[Mapping[str, Any]], *, validation: Sequence[Mapping[str, Any]] = (),
          options: TrainOptions = TrainOptions(), task: Mapping[str, Any] | None = None, resume: bool = False,
          base_adapter: str | None = None, progress: bool = True, settings: Settings | None = None,
          on_progress: ProgressHook | None = None, should_stop: StopHook | None = None) -> AdapterInfo:
    """Train adapter ``name`` on chat examples and save it to the adapter store.

    ``resume=True`` continues from the last checkpoint of an interrupted run (or starts
    fresh if there is none); ``base_adapter`` continues training an existing adapter.
    ``on_progress`` receives a :class:`Progress` after every step and epoch (and on resume);
    ``should_stop`` is asked before every step: when it returns True, the run saves a
    checkpoint and raises :class:`TrainingStopped` (``resume=True`` continues it later).

    Example:
        >>> info = train("intents", examples, validation=held_out, task={"kind": "classification"})  # doctest: +SKIP
        >>> info.metrics["val_loss"]  # doctest: +SKIP
        0.21
    """
    folder = adapter_dir(name, settings)
    options = replace(options, learning_rate=options.learning_rate or DEFAULT_LEARNING_RATES.get(options.method, 1e-3))
    torch.set_num_threads(options.threads or os.cpu_count() or 1)
    base, tokenizer = load_base(fresh=True)
    data = encode_examples(train_examples, tokenizer, max_tokens=options.max_tokens)
    val = encode_examples(validation, tokenizer, max_tokens=options.max_tokens)
    if not data:
        raise PlaitError("No training examples: pass at least one {'messages': [...]} example.")
    torch.manual_seed(options.seed)
    model = _peft_model(base, options, base_adapter, settings)
    # The thread count does not change the result, so a run may resume with another one.
    shape = {k: v for k, v in asdict(options).items() if k != "threads"}
    meta = {"data": _data_hash(train_examples, validation), "options": shape, "base_adapter": base_adapter}
    trainer = _Trainer(model, options, data, val, pad_id=tokenizer.pad_token_id or 0,
                       checkpoint=folder / "checkpoint", meta=meta, on_progress=on_progress, should_stop=should_stop)
    if resume:
        trainer.restore()
    trainer.fit(progress=progress, desc=f"training {name}")
    return _finish(name, trainer, folder, task=dict(task or {}), settings=settings)


def _finish(name: str, trainer: _Trainer, folder: Path, *, task: dict[str, Any],
            settings: Settings | None) -> AdapterInfo:
    from plait.finetune.gguf_lora import export_gguf_lora

    state, options = trainer.state, trainer.options
    peft_dir = _save_peft(trainer.model, folder)
    gguf = None
    if options.method == "lora":
        gguf = export_gguf_lora(peft_dir, folder / "adapter.gguf", base_gguf=gemma_270m_path()).name
    _plot(state, folder / "loss.png")
    last_epoch = state.losses[-math.ceil(len(trainer.data) / options.batch_size):]
    metrics = {"first_loss": state.losses[0] if state.losses else None,
               "train_loss": sum(last_epoch) / max(len(last_epoch), 1),
               "val_loss": state.best_val if trainer.val else None, "train_seconds": round(state.seconds, 2),
               "train_tokens": state.tokens, "tokens_per_second": round(state.tokens / max(state.seconds, 1e-9), 2),
               "epochs_run": state.epoch, "steps": state.step}
    info = AdapterInfo(name=name, method=options.method, base=BASE_REF, data_hash=trainer.meta["data"],
                       hyperparameters=asdict(options), metrics=metrics, task=task, gguf=gguf)
    save_info(info, settings)
    shutil.rmtree(trainer.checkpoint, ignore_errors=True)  # the run is complete; the adapter is saved
    return load_info(name, settings)


def predict_labels(name: str, conversations: Sequence[Sequence[Mapping[str, Any]]], labels: Sequence[str], *,
                   settings: Settings | None = None) -> list[str]:
    """Pick the most likely label for each conversation with transformers + PEFT (no llama.cpp).

    Conversations are examples' messages without the answer; each label is scored whole.

    Example:
        >>> asks = [[{"role": "user", "content": "Text: card lost"}]]
        >>> predict_labels("intents", asks, ["lost_card", "refund"])  # doctest: +SKIP
        ['lost_card']
    """
    model, tokenizer = load_adapter(adapter_dir(name, settings) / "peft")
    answers = [" " + label.strip() + END_OF_TURN for label in labels]
    scores = [score_labels(model, tokenizer, render_prompt(messages), answers) for messages in conversations]
    return [labels[max(range(len(labels)), key=row.__getitem__)] for row in scores]


def complete(name: str, messages: Sequence[Mapping[str, Any]], *, max_tokens: int = 32,
             settings: Settings | None = None) -> str:
    """Greedy answer of adapter ``name`` with transformers + PEFT (works for prompt tuning too).

    Example:
        >>> complete("intents", [{"role": "user", "content": "Text: card lost"}])  # doctest: +SKIP
        ' lost_card'
    """
    model, tokenizer = load_adapter(adapter_dir(name, settings) / "peft")
    return greedy_complete(model, tokenizer, render_prompt(messages), max_tokens=max_tokens, stop=END_OF_TURN)
