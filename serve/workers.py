"""How routes run model calls: in worker threads, local models through one FIFO queue.

Local (llama.cpp) calls go through one queue per app, an ``anyio.CapacityLimiter(1)``: its
waiters are served first come, first served (the model's own lock promises no order), and
two generations never split the CPU cores between them. Other calls (OpenAI references,
embeddings) use anyio's shared thread pool.

Streaming uses :class:`Pump`: the generation runs to its end in its worker, which hands each
piece to the event loop through an unbounded queue and never waits for the client. A slow
reader therefore holds a few kilobytes of text, never the model (whose lock is released
when generation ends); a client that disconnects stops its generation at the next piece.

Example:
    >>> reply = await in_worker(request, llm.invoke, messages, local=True)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
from fastapi import Request

DONE = object()
"""Put on a :class:`Pump`'s queue after the last item."""


def _local_queue(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    if getattr(state, "local_queue", None) is None:
        # Created on first use: an anyio limiter needs a running event loop, which create_app lacks.
        state.local_queue = anyio.CapacityLimiter(1)
    return state.local_queue


async def in_worker(request: Request, fn: Callable[..., Any], *args: Any, local: bool = False) -> Any:
    """Run ``fn(*args)`` in a worker thread; ``local=True`` queues it FIFO behind other local-model calls.

    Example:
        >>> vectors = await in_worker(request, embeddings.encode, texts)  # doctest: +SKIP
    """
    return await anyio.to_thread.run_sync(fn, *args, limiter=_local_queue(request) if local else None)


class Pump:
    """Runs a blocking iterator in a worker thread and hands its items to the event loop.

    Example:
        >>> pump = await Pump.start(request, lambda: llm.stream(messages), local=True)  # doctest: +SKIP
        >>> item = await pump.next()  # a chunk, an Exception raised by the iterator, or DONE
    """

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Any] = asyncio.Queue()  # unbounded: the worker never waits for the client
        self.cancelled = threading.Event()
        self.task: asyncio.Task[Any] | None = None

    @classmethod
    async def start(cls, request: Request, iterate: Callable[[], Iterator[Any]], *, local: bool = False) -> Pump:
        """Start ``iterate()`` in a worker thread (queued like :func:`in_worker`) and return the pump."""
        pump = cls()
        pump.task = asyncio.create_task(in_worker(request, pump._run, iterate, local=local))
        return pump

    async def next(self) -> Any:
        """The next item, an Exception the iterator raised, or :data:`DONE`; cancelling stops the worker."""
        try:
            return await self.queue.get()
        except BaseException:
            self.cancelled.set()
            raise

    def stop(self) -> None:
        """Ask the worker to stop after its current item (the client went away)."""
        self.cancelled.set()

    def _run(self, iterate: Callable[[], Iterator[Any]]) -> None:
        iterator: Iterator[Any] | None = None
        try:
            iterator = iterate()
            for item in iterator:
                if self.cancelled.is_set():
                    break  # nobody reads any more: stop generating and free the model
                self._put(item)
        except Exception as exc:  # handed over: the route turns it into an error response or event
            self._put(exc)
        finally:
            getattr(iterator, "close", lambda: None)()  # a generator we broke off releases the model's lock
            self._put(DONE)

    def _put(self, item: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:
            pass  # the event loop is closed (server shutting down); nobody is left to read
