"""The worker behind ``/v1/fine_tuning/jobs``: one thread per app trains queued jobs, oldest first.

A job trains a LoRA adapter with :func:`plait.finetune.lora.train` into the app's adapter
store, so its model ``lora:NAME`` answers on ``/v1/chat/completions`` as soon as the job
succeeds. Steps and checkpoints become job events. Training stops at the next step when a
job is cancelled or the app shuts down; in the latter case the job stays ``running``, and
the next start of an app on the same ``data_dir`` resumes it from its checkpoint.

The thread starts and stops with the app's lifespan (uvicorn runs it by default). It holds
``<data_dir>/fine_tuning.lock`` while it runs, so of two servers sharing a data folder only
one trains its jobs.

Example:
    >>> tuner = FineTuner(data_dir, settings)  # doctest: +SKIP
    >>> tuner.start(); tuner.wake(); tuner.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows: no lock; run one server per data folder there
    fcntl = None  # type: ignore[assignment]

import anyio
from fastapi import FastAPI

from plait.config import Settings
from plait.errors import PlaitError
from plait.serve import job_records as records
from plait.serve.files import RESULTS_PURPOSE, file_bytes, find_file, store_file

logger = logging.getLogger(__name__)
IDLE_POLL_SECONDS = 5.0
"""How often an idle worker looks for jobs it was not woken for."""
RETRY_SECONDS = 5.0
"""Pause after the worker itself fails (a broken database, a full disk), or between tries for the lock."""
LOCK_FILE = "fine_tuning.lock"
"""Held by the worker that runs a data folder's jobs, so two servers on one folder never train the same job."""


class FineTuner:
    """Runs an app's fine-tuning jobs in one background thread, one job at a time, FIFO."""

    def __init__(self, data_dir: Path, settings: Settings) -> None:
        self.data_dir, self.settings = data_dir, settings
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (a no-op when it runs); jobs left ``running`` or ``queued`` are picked up."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="plait-fine-tuning", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Tell the thread a job was queued."""
        self._wake.set()

    def stop(self) -> None:
        """Stop training at the next step, checkpointed, and wait for the thread to end."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        lock = self._lock()
        try:
            self._work()
        finally:
            if lock is not None:
                lock.close()  # releases the lock

    def _lock(self) -> IO[str] | None:
        """Hold the data folder's lock, waiting while another server's worker holds it."""
        if fcntl is None:
            return None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.data_dir / LOCK_FILE, "a")  # noqa: SIM115 (held until the thread ends)
        while not self._stopping.is_set():
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                self._stopping.wait(RETRY_SECONDS)
        return handle

    def _work(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before looking: a job queued from now on sets it again
            job = records.next_job(self.data_dir)
            if job is None:
                # Bounded: a job queued by another server sharing this data folder sets no event here.
                self._wake.wait(IDLE_POLL_SECONDS)
                continue
            try:
                self._run(job)
            except Exception:  # the thread must outlive one bad job; the job's own errors are handled in _run
                logger.exception("plait serve: fine-tuning job %s could not be run", job["id"])
                self._stopping.wait(RETRY_SECONDS)

    def _run(self, job: sqlite3.Row) -> None:
        job_id, interrupted = job["id"], job["status"] == "running"
        if not records.set_status(self.data_dir, job_id, "running", only_from=records.RUNNABLE):
            return  # cancelled in the meantime
        self._event(job_id, "Fine-tuning job resumed after a server restart" if interrupted
                    else "Fine-tuning job started")
        progress = _Reporter(self, job_id, interrupted)
        try:
            info = self._train(job, progress)
        except Exception as exc:  # TrainingStopped included: what follows depends on why it stopped
            self._stopped(job, exc)
        else:
            self._succeeded(job, info)

    def _train(self, job: sqlite3.Row, progress: _Reporter) -> Any:
        from plait.finetune.lora import BASE_REF, train

        examples = self._examples(job["training_file"])
        validation = self._examples(job["validation_file"]) if job["validation_file"] else []
        options = train_options(json.loads(job["hyperparameters"]), job["seed"], self.settings)
        base_adapter = None if job["model"] == BASE_REF else job["model"].removeprefix("lora:")
        # resume=True always: a fresh job has no checkpoint, an interrupted one continues from its own.
        return train(job["adapter"], examples, validation=validation, options=options, resume=True,
                     base_adapter=base_adapter, task={"kind": "chat", "fine_tuning_job": job["id"]},
                     progress=False, settings=self.settings, on_progress=progress,
                     should_stop=lambda: self._stopping.is_set() or self._cancelled(job["id"]))

    def _cancelled(self, job_id: str) -> bool:
        # Asked before every step: a cancel is a status change in the database, seen at the next step.
        return records.find_job(self.data_dir, job_id)["status"] == "cancelled"

    def _examples(self, file_id: str) -> list[dict[str, Any]]:
        from plait.finetune.data import parse_examples

        row = find_file(self.data_dir, file_id)
        if row is None:
            raise PlaitError(f"File {file_id} no longer exists; upload the data again and create a new job.")
        return parse_examples(file_bytes(self.data_dir, row).decode("utf-8"), source=row["filename"])

    def _stopped(self, job: sqlite3.Row, exc: Exception) -> None:
        from plait.finetune.lora import TrainingStopped

        job_id = job["id"]
        if self._cancelled(job_id):
            self._remove_adapter(job)
            self._event(job_id, "Fine-tuning job cancelled" + (f" at step {exc.step}" if isinstance(
                exc, TrainingStopped) else ""))
        elif isinstance(exc, TrainingStopped):
            self._event(job_id, f"Paused at step {exc.step}: the server is stopping. The job resumes from its "
                                "checkpoint when a server starts on the same data folder.")
        else:
            if not isinstance(exc, PlaitError):  # plait's own errors say what to do; others need the traceback
                logger.error("plait serve: fine-tuning job %s failed", job_id, exc_info=exc)
            message = str(exc) if isinstance(exc, PlaitError) else f"{type(exc).__name__}: {exc}"
            error = {"code": "training_failed", "message": message, "param": None}
            if records.set_status(self.data_dir, job_id, "failed", only_from=("running",), error=error):
                self._event(job_id, f"Fine-tuning job failed: {message}", level="error")
            self._remove_adapter(job)

    def _succeeded(self, job: sqlite3.Row, info: Any) -> None:
        model = f"lora:{info.name}"
        results = self._result_file(job["id"])
        if records.set_status(self.data_dir, job["id"], "succeeded", only_from=("running",), fine_tuned_model=model,
                              trained_tokens=info.metrics.get("train_tokens"), result_files=[results]):
            self._event(job["id"], f"New fine-tuned model created: {model}")
            self._event(job["id"], "The job has successfully completed")
        else:  # cancelled while its last step ran: a cancelled job leaves no model behind
            self._remove_adapter(job)

    def _result_file(self, job_id: str) -> str:
        lines = ["step,train_loss,valid_loss"]
        for m in records.metrics(self.data_dir, job_id):
            lines.append(f"{m['step']},{m.get('train_loss', '')},{m.get('valid_loss', '')}")
        content = ("\n".join(lines) + "\n").encode()
        return store_file(self.data_dir, content, filename=f"{job_id}-results.csv", purpose=RESULTS_PURPOSE)["id"]

    def _remove_adapter(self, job: sqlite3.Row) -> None:
        from plait.finetune.store import adapter_dir

        shutil.rmtree(adapter_dir(job["adapter"], self.settings), ignore_errors=True)

    def _event(self, job_id: str, message: str, **options: Any) -> None:
        records.add_event(self.data_dir, job_id, message, **options)


class _Reporter:
    """Turns training progress into job events."""

    def __init__(self, tuner: FineTuner, job_id: str, interrupted: bool) -> None:
        self.tuner, self.job_id, self.interrupted, self.started = tuner, job_id, interrupted, False

    def __call__(self, progress: Any) -> None:
        say = self.tuner._event
        if progress.kind == "resumed":
            say(self.job_id, f"Resumed from the checkpoint at step {progress.step}/{progress.total_steps}")
        elif progress.kind == "step":
            if self.interrupted and not self.started:
                say(self.job_id, "No checkpoint was saved before the interruption; training starts over")
            say(self.job_id, f"Step {progress.step}/{progress.total_steps}: training loss={progress.loss:.4f}",
                data={"step": progress.step, "total_steps": progress.total_steps, "train_loss": progress.loss})
        else:
            valid = "" if progress.val_loss is None else f", validation loss={progress.val_loss:.4f}"
            say(self.job_id, f"Epoch {progress.epoch} done at step {progress.step}{valid}")
            if progress.val_loss is not None:
                say(self.job_id, f"Step {progress.step}: validation loss={progress.val_loss:.4f}",
                    data={"step": progress.step, "valid_loss": progress.val_loss})
        if progress.checkpoint:
            say(self.job_id, f"Checkpoint saved at step {progress.step}")
        self.started = True


def train_options(hyper: dict[str, Any], seed: int, settings: Settings) -> Any:
    """plait's :class:`~plait.finetune.lora.TrainOptions` for OpenAI hyperparameters.

    The multiplier scales plait's default LoRA learning rate; torch uses as many threads as
    the server's local models (``[local] n_threads``), so training and inference share the cores.

    Example:
        >>> hyper = {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 0.5}
        >>> train_options(hyper, 0, Settings()).learning_rate
        0.0005
    """
    from plait.finetune.lora import DEFAULT_LEARNING_RATES, TrainOptions

    return replace(TrainOptions(), epochs=hyper["n_epochs"], batch_size=hyper["batch_size"], seed=seed,
                   learning_rate=DEFAULT_LEARNING_RATES["lora"] * hyper["learning_rate_multiplier"],
                   threads=settings.local.get("n_threads"))


def fine_tuner(app: FastAPI) -> FineTuner:
    """The app's :class:`FineTuner`, created on first use."""
    if getattr(app.state, "fine_tuner", None) is None:
        app.state.fine_tuner = FineTuner(app.state.data_dir, app.state.settings)
    return app.state.fine_tuner


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the app's fine-tuning thread while the app runs; stop it (checkpointed) on shutdown."""
    tuner = fine_tuner(app)
    tuner.start()
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(tuner.stop)
