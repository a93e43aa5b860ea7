"""Killable worker processes for hostile files: one file per process at a time, a time limit per
file, and a fair turn for every sender.

Decoders parse bytes a sender chose. A file that makes one spin, balloon or crash must cost that
file alone: each job runs in a process of its own slot, and when it passes its time limit (or
its process dies) that process is killed and replaced, and only that job fails. Nothing is
shared between jobs, so a kill never touches another one (a ``ProcessPoolExecutor`` breaks as a
whole when one worker dies).

Jobs wait in a queue per sender, and a free slot takes the next job round-robin between senders.
One sender never runs on every slot at once (at most all but one, when there are two or more),
so a sender with twenty hostile files leaves a slot for everyone else, and another family's
letter waits for at most one running file to finish (or hit its limit) before its turn.

Processes start with the forkserver method, so they never inherit the event loop's threads or
open sockets. Each slot keeps its process warm between jobs (starting one costs the imports of
the decoders); a killed one is replaced on the slot's next job. This module must not import
``service.appkeys``: the app key that holds a ``FileWorkers`` names its type.
"""

from __future__ import annotations

import asyncio
import collections
import importlib
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# A new process imports the decoders before it says it is ready; on a busy machine that can
# take seconds. Not part of any file's time limit.
START_SECONDS = 120.0
_READY = "ready"


def default_slots() -> int:
    """One process per core, at least one and at most four."""
    return max(1, min(4, os.cpu_count() or 1))


class JobFailed(Exception):
    """A job did not finish: it passed its time limit, or its process died."""


class JobTimedOut(JobFailed):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the job ran for more than {seconds:g} s and was stopped")
        self.seconds = seconds


class JobCrashed(JobFailed):
    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"the worker process died (exit code {exitcode})")
        self.exitcode = exitcode


def _serve(connection: Connection, preload: Sequence[str]) -> None:
    """A worker process: import the decoders once, then run one job at a time."""
    for name in preload:
        importlib.import_module(name)
    connection.send(_READY)
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        function, args = message
        try:
            outcome: tuple[str, Any] = ("ok", function(*args))
        except Exception as exc:  # the job's own error goes back to its caller
            outcome = ("raised", exc)
        try:
            connection.send(outcome)
        except Exception as exc:  # an unpicklable result or error: say so, never hang
            connection.send(("raised", RuntimeError(f"the job's answer could not be sent: {exc}")))


class _Process:
    """One live worker process and its end of the pipe."""

    def __init__(self, context: Any, preload: Sequence[str]) -> None:
        ours, theirs = multiprocessing.Pipe(duplex=True)
        self.connection = ours
        self.process: BaseProcess = context.Process(
            target=_serve, args=(theirs, tuple(preload)), daemon=True, name="letterbox-worker"
        )
        self.process.start()
        theirs.close()
        self.ready = False

    async def readable(self) -> None:
        """Wait until the worker has sent something (or died: end of file is readable too)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        fd = self.connection.fileno()

        def wake() -> None:
            if not waiter.done():
                waiter.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await waiter
        finally:
            loop.remove_reader(fd)

    async def receive(self) -> Any:
        await self.readable()
        try:
            # The first bytes are here; the rest follow as fast as the worker writes them.
            return await asyncio.to_thread(self.connection.recv)
        except (EOFError, OSError):
            raise JobCrashed(await self.exitcode()) from None

    async def exitcode(self) -> int | None:
        await asyncio.to_thread(self.process.join, 5)
        return self.process.exitcode

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.connection.close()

    async def stop(self) -> None:
        self.kill()
        await asyncio.to_thread(self.process.join, 10)


@dataclass
class _Job:
    sender: Hashable
    function: Callable[..., Any]
    args: tuple[Any, ...]
    seconds: float
    done: asyncio.Future[Any]


@dataclass
class _Slot:
    number: int
    process: _Process | None = None


@dataclass
class FileWorkers:
    """At most ``slots`` jobs at once, each in its own killable process, fairly between senders.

    ``preload`` names modules each new process imports before its first job (the decoders), so
    their import time never counts against a file's limit.
    """

    slots: int = field(default_factory=default_slots)
    preload: Sequence[str] = ()
    # How many of one sender's jobs may run at once; default all slots but one (at least one).
    per_sender: int = 0
    _queues: dict[Hashable, collections.deque[_Job]] = field(init=False, default_factory=dict)
    # Senders with waiting jobs, in the order they get their next turn.
    _turns: collections.deque[Hashable] = field(init=False, default_factory=collections.deque)
    _idle: list[_Slot] = field(init=False)
    _running: set[asyncio.Task[None]] = field(init=False, default_factory=set)
    _running_for: collections.Counter[Hashable] = field(
        init=False, default_factory=collections.Counter
    )
    _closed: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        if not 1 <= self.slots <= 64:
            raise ValueError("FileWorkers.slots must be between 1 and 64")
        if self.per_sender <= 0:
            self.per_sender = max(1, self.slots - 1)
        self._context = multiprocessing.get_context("forkserver")
        self._idle = [_Slot(number) for number in range(self.slots)]

    async def run(
        self, sender: Hashable, seconds: float, function: Callable[..., T], *args: Any
    ) -> T:
        """Run ``function(*args)`` in a worker process, in ``sender``'s turn.

        ``function`` and its arguments must pickle (a module-level function). Raises what the
        function raised, ``JobTimedOut`` when it ran for more than ``seconds`` (its process is
        killed), or ``JobCrashed`` when its process died. Cancelling the caller withdraws a
        waiting job, or kills the process running it.
        """
        if self._closed:
            raise RuntimeError("the worker processes are shut down")
        job = _Job(sender, function, args, seconds, asyncio.get_running_loop().create_future())
        queue = self._queues.get(sender)
        if queue is None:
            queue = self._queues[sender] = collections.deque()
            self._turns.append(sender)
        queue.append(job)
        self._dispatch()
        try:
            return await asyncio.shield(job.done)
        except asyncio.CancelledError:
            if not job.done.done():
                # Still waiting: gone from its queue. Running: its process is killed.
                job.done.cancel()
                self._withdraw(sender, job)
            raise

    def waiting(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    async def shutdown(self) -> None:
        self._closed = True
        for queue in self._queues.values():
            for job in queue:
                if not job.done.done():
                    job.done.set_exception(JobFailed("the service is shutting down"))
        self._queues.clear()
        self._turns.clear()
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await asyncio.gather(
            *(slot.process.stop() for slot in self._idle if slot.process is not None)
        )

    # --- scheduling ---------------------------------------------------------------------------

    def _next_job(self) -> _Job | None:
        """The first job of the first sender in line who is under its share of the slots."""
        for sender in list(self._turns):
            if self._running_for[sender] >= self.per_sender:
                continue
            self._turns.remove(sender)
            queue = self._queues[sender]
            job = queue.popleft()
            if queue:
                self._turns.append(sender)  # the back of the line for its next file
            else:
                del self._queues[sender]
            return job
        return None

    def _withdraw(self, sender: Hashable, job: _Job) -> None:
        queue = self._queues.get(sender)
        if queue is not None and job in queue:
            queue.remove(job)
            if not queue:
                del self._queues[sender]
                self._turns.remove(sender)

    def _dispatch(self) -> None:
        while self._idle and not self._closed:
            job = self._next_job()
            if job is None:
                return
            slot = self._idle.pop()
            self._running_for[job.sender] += 1
            task = asyncio.create_task(self._run_on(slot, job), name=f"worker-slot-{slot.number}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run_on(self, slot: _Slot, job: _Job) -> None:
        try:
            result = await self._attempt(slot, job)
        except asyncio.CancelledError:
            self._kill(slot)
            if not job.done.done():
                job.done.cancel()
            raise
        except BaseException as exc:  # handed to the waiting caller
            if not job.done.done():
                job.done.set_exception(exc)
        else:
            if not job.done.done():
                job.done.set_result(result)
        finally:
            self._running_for[job.sender] -= 1
            if self._running_for[job.sender] <= 0:
                del self._running_for[job.sender]
            self._idle.append(slot)
            self._dispatch()

    async def _attempt(self, slot: _Slot, job: _Job) -> Any:
        process = await self._ready_process(slot)
        await asyncio.to_thread(process.connection.send, (job.function, job.args))
        started = time.monotonic()
        receiving = asyncio.ensure_future(process.receive())
        try:
            done, _ = await asyncio.wait(
                {receiving, job.done}, timeout=job.seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not receiving.done():
                receiving.cancel()
        if receiving not in done:
            # Over its limit, or its caller gave up: this process alone is killed.
            self._kill(slot)
            if job.done.done():
                return None  # its caller gave up; nobody waits for an answer
            log.warning(
                "a worker job passed its limit of %g s after %.1f s and was killed",
                job.seconds,
                time.monotonic() - started,
            )
            raise JobTimedOut(job.seconds)
        try:
            kind, value = receiving.result()
        except JobCrashed:
            self._kill(slot)
            raise
        if kind == "raised":
            raise value
        return value

    async def _ready_process(self, slot: _Slot) -> _Process:
        if slot.process is not None and slot.process.ready and slot.process.process.is_alive():
            return slot.process
        if slot.process is not None:
            self._kill(slot)
        # Off the loop: the first start also starts the forkserver.
        process = slot.process = await asyncio.to_thread(_Process, self._context, self.preload)
        try:
            async with asyncio.timeout(START_SECONDS):
                hello = await process.receive()
        except (TimeoutError, JobCrashed):
            self._kill(slot)
            raise JobCrashed(process.process.exitcode) from None
        if hello != _READY:  # pragma: no cover - only _serve writes to the pipe
            self._kill(slot)
            raise JobCrashed(None)
        process.ready = True
        return process

    def _kill(self, slot: _Slot) -> None:
        if slot.process is not None:
            process = slot.process
            slot.process = None
            process.kill()
            # Reaped off the loop; the slot starts a fresh process for its next job.
            task = asyncio.get_running_loop().run_in_executor(None, process.process.join, 10)
            task.add_done_callback(lambda _: None)
