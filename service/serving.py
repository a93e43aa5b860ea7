"""``letterbox serve``: one worker process, or a parent keeping N workers on one public port.

Every worker binds the public port with ``SO_REUSEPORT`` (Linux spreads new connections over
the listening sockets of one user), so no worker depends on a parent's socket and a worker
that dies takes only its own connections with it. Each worker also listens on an internal
address of its own (``LETTERBOX_INTERNAL_HOST``, a free port): a call lives in one worker's
memory, and another worker that receives its signalling forwards the WebSocket there
(``service.calls.forwarding``). Each worker is its own media node, named ``NODE#index``.

The parent only supervises: it starts the workers, restarts one that dies (the restarted
worker ends the calls its predecessor held, with a reason), and on SIGINT or SIGTERM sends
SIGTERM to every worker, waits, then SIGKILLs what is left. Each worker asks the kernel to
send it SIGTERM if the parent dies (``PR_SET_PDEATHSIG``), so a killed parent leaves no
orphan serving the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType

from aiohttp import web

from service.settings import Settings

log = logging.getLogger(__name__)

#: A worker that exits with an error this soon after starting failed to start (a bad setting,
#: a database it cannot reach): the parent stops everything rather than restart it in a loop.
#: A worker killed by a signal was running: it is restarted whenever it died.
START_FAILURE_SECONDS = 5.0
#: How long workers get to finish after SIGTERM before they are killed.
STOP_GRACE_SECONDS = 15.0
#: A worker that died is restarted after this pause (a crash loop cannot spin the CPU).
RESTART_PAUSE_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def worker_node(settings: Settings, index: int) -> str:
    """Worker ``index``'s media node name: the node's name (``LETTERBOX_MEDIA_NODE``, else
    ``hostname:port``) and the index, so each worker's calls are told apart."""
    base = settings.media_node or f"{socket.gethostname()}:{settings.port}"
    return f"{base[:90]}#{index}"


def _internal_socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def run_worker(
    settings: Settings, make_app: Callable[[Settings], web.Application], *, reuse_port: bool
) -> None:
    """Serve ``make_app(settings)`` (``service.app.create_app``: the platform never imports the
    front door) until SIGINT or SIGTERM, on the public port and a private internal port."""
    internal = _internal_socket(settings.internal_host)
    port = internal.getsockname()[1]
    host = (
        f"[{settings.internal_host}]" if ":" in settings.internal_host else settings.internal_host
    )
    settings = dataclasses.replace(settings, internal_url=f"http://{host}:{port}")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        runner = web.AppRunner(make_app(settings), access_log=None, shutdown_timeout=5)
        await runner.setup()
        try:
            public = web.TCPSite(
                runner, settings.host, settings.port, reuse_port=reuse_port, shutdown_timeout=5
            )
            await public.start()
            await web.SockSite(runner, internal, shutdown_timeout=5).start()
            await stop.wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent goes (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Supervisor:
    """The parent of ``--workers N``: starts, restarts and stops the worker processes."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        self.count = workers
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.started: dict[int, float] = {}
        self.stopping = False

    def _start(self, index: int) -> None:
        env = os.environ | {
            "LETTERBOX_MEDIA_NODE": worker_node(self.settings, index),
            "LETTERBOX_WORKER_INDEX": str(index),
        }
        self.processes[index] = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--workers", "1", "--reuse-port"],
            env=env,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # the parent has no threads: safe
        )
        self.started[index] = time.monotonic()
        log.info("worker %d started (pid %d)", index, self.processes[index].pid)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        status = 0
        try:
            for index in range(self.count):
                self._start(index)
            while not self.stopping:
                time.sleep(0.2)
                for index, process in list(self.processes.items()):
                    code = process.poll()
                    if code is None or self.stopping:
                        continue
                    if code > 0 and time.monotonic() - self.started[index] < START_FAILURE_SECONDS:
                        log.error("worker %d failed to start (exit %s); stopping", index, code)
                        self.stopping, status = True, code or 1
                        break
                    log.warning("worker %d exited (%s); starting it again", index, code)
                    time.sleep(RESTART_PAUSE_SECONDS)
                    if not self.stopping:
                        self._start(index)
        finally:
            self._stop_all()
        return status

    def _stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            if process.poll() is None:
                log.warning("worker pid %d did not stop in time; killing it", process.pid)
                process.kill()
                process.wait()
