"""Stand-in jobs for service.letterbox.workers, injected by the tests (never by domain code).

They run in a worker process, so they are module-level functions (the runner pickles them by
name) and talk to the test through files: each writes its process id where the test can see it,
and a gated job waits for a file the test creates, so the test decides when it finishes.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from service.letterbox.sanitise import SanitisedFile, sanitise
from service.limits import IntakeLimits


def _say_pid(pidfile: Path) -> int:
    pid = os.getpid()
    pidfile.write_text(f"{pid}\n")
    return pid


def spin_forever(pidfile: Path) -> None:
    """A runaway file: a decoder stuck in a loop, never answering."""
    _say_pid(pidfile)
    while True:
        pass


def sanitise_when(gate: Path, pidfile: Path, data: bytes, name: str) -> tuple[int, SanitisedFile]:
    """Say which process this is, wait for ``gate`` to exist, then sanitise for real."""
    pid = _say_pid(pidfile)
    while not gate.exists():
        time.sleep(0.01)
    return pid, sanitise(data, name, IntakeLimits())


def exit_at_once(pidfile: Path) -> None:
    """A native decoder crashing its process."""
    _say_pid(pidfile)
    os._exit(70)


def kill_own_process(pidfile: Path) -> None:
    _say_pid(pidfile)
    os.kill(os.getpid(), signal.SIGKILL)
