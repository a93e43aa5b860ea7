"""Test mode only: the pause before intake's commit, installed from outside the domain code.

``LETTERBOX_TEST_PAUSE_BEFORE_COMMIT`` (refused by the settings unless LETTERBOX_ENV=test) names
a marker file. With it set, intake's before-commit hook writes the marker once every object of
the letter is in the store and the transaction is not committed, then holds there, so a fault
test can kill the process at exactly this point (tests/reliability/test_crash_before_commit.py);
a test that does not kill it lets the commit go ahead after ``FAULT_TEST_HOLD``.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from service.appkeys import INTAKE_BEFORE_COMMIT, SETTINGS

FAULT_TEST_HOLD = timedelta(minutes=2)


def install(app: web.Application) -> None:
    marker = app[SETTINGS].test_pause_before_commit
    if marker is None:
        return

    async def pause() -> None:
        await _pause_for_fault_test(marker)

    app[INTAKE_BEFORE_COMMIT].append(pause)


async def _pause_for_fault_test(marker: Path) -> None:
    await asyncio.to_thread(marker.write_text, f"{os.getpid()}\n")
    await asyncio.sleep(FAULT_TEST_HOLD.total_seconds())
