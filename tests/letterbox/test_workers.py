"""The sanitiser's worker processes: a file past its time limit, or one that crashes its
process, costs that file alone; senders take turns, so one sender's pile of files cannot hold
up another family's letter.

The runaway and crashing files are stand-in jobs injected here (tests/support/worker_jobs.py);
the other families' files are real photos, really sanitised, in processes of their own.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from service.letterbox.sanitise import IntakeLimits, IntakeRefused, RefusalCode, sanitise_in_pool
from service.letterbox.workers import FileWorkers, JobCrashed, JobTimedOut
from service.settings import SettingsError
from tests.support import images, worker_jobs
from tests.support.settings import make_settings

PRELOAD = ("service.letterbox.sanitise", "tests.support.worker_jobs")
# Generous: a process starting on a busy two-core machine, or a real photo being sanitised.
PATIENCE = 120.0


async def until(condition: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(PATIENCE):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {PATIENCE:g} s waiting for {what}") from None


def pid_in(path: Path) -> int:
    return int(path.read_text())


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_a_runaway_file_is_killed_at_its_limit_while_other_families_files_complete(
    tmp_path: Path,
) -> None:
    workers = FileWorkers(slots=3, preload=PRELOAD)
    gate = tmp_path / "gate"
    photo = images.jpeg_with_everything()
    try:
        others = [
            asyncio.create_task(
                workers.run(
                    f"family-{n}",
                    PATIENCE,
                    worker_jobs.sanitise_when,
                    gate,
                    tmp_path / f"other-{n}",
                    photo,
                    f"photo-{n}.jpg",
                )
            )
            for n in (1, 2)
        ]
        await until(lambda: all((tmp_path / f"other-{n}").exists() for n in (1, 2)), "in flight")
        runaway = asyncio.create_task(
            workers.run("hostile", 1.0, worker_jobs.spin_forever, tmp_path / "runaway")
        )
        with pytest.raises(JobTimedOut):
            await runaway
        runaway_pid = pid_in(tmp_path / "runaway")
        await until(lambda: not alive(runaway_pid), "the runaway's process to be gone")
        # The kill touched the runaway alone: the other families' files are still being worked.
        assert not any(task.done() for task in others)
        assert all(alive(pid_in(tmp_path / f"other-{n}")) for n in (1, 2))
        gate.touch()
        for n, (pid, result) in zip((1, 2), await asyncio.gather(*others), strict=True):
            assert pid == pid_in(tmp_path / f"other-{n}")
            assert "GPS position" in result.removed
            assert result.pages[0].media_type == "image/jpeg"
    finally:
        await workers.shutdown()


async def test_one_senders_pile_of_files_does_not_hold_up_another_senders_file(
    tmp_path: Path,
) -> None:
    workers = FileWorkers(slots=1, preload=PRELOAD)
    gate = tmp_path / "gate"
    photo = images.small_jpeg((64, 48), (200, 40, 40))
    finished: list[tuple[str, int]] = []

    async def send(sender: str, n: int) -> None:
        await workers.run(
            sender,
            PATIENCE,
            worker_jobs.sanitise_when,
            gate,
            tmp_path / f"{sender}-{n}",
            photo,
            "p.jpg",
        )
        finished.append((sender, workers.waiting()))

    try:
        pile = [asyncio.create_task(send("A", n)) for n in range(6)]
        await until(lambda: (tmp_path / "A-0").exists(), "A's first file to be in flight")
        letter = asyncio.create_task(send("B", 0))
        await until(lambda: workers.waiting() == 6, "B's file to be queued behind A's five")
        gate.touch()
        await asyncio.gather(*pile, letter)
        senders = [sender for sender, _ in finished]
        # A's running file, then one more of A's (A was first in line), then B: never the pile.
        assert senders.index("B") <= 2
        waiting_when_b_finished = dict(finished)["B"]
        assert waiting_when_b_finished >= 3
        assert senders.count("A") == 6
    finally:
        await workers.shutdown()


async def test_one_sender_never_holds_every_slot(tmp_path: Path) -> None:
    workers = FileWorkers(slots=2, preload=PRELOAD)
    held, open_gate = tmp_path / "held", tmp_path / "open"
    open_gate.touch()
    photo = images.small_jpeg((64, 48), (40, 200, 40))
    try:
        pile = [
            asyncio.create_task(
                workers.run(
                    "A",
                    PATIENCE,
                    worker_jobs.sanitise_when,
                    held,
                    tmp_path / f"A-{n}",
                    photo,
                    "p.jpg",
                )
            )
            for n in range(3)
        ]
        await until(lambda: (tmp_path / "A-0").exists(), "A's first file to be in flight")
        # A's first file is held running; B's letter still gets the other slot and finishes.
        _, result = await workers.run(
            "B", PATIENCE, worker_jobs.sanitise_when, open_gate, tmp_path / "B-0", photo, "b.jpg"
        )
        assert result.pages[0].width == 64
        assert not (tmp_path / "A-1").exists()
        assert not any(task.done() for task in pile)
        held.touch()
        await asyncio.gather(*pile)
    finally:
        await workers.shutdown()


@pytest.mark.parametrize("crash", [worker_jobs.exit_at_once, worker_jobs.kill_own_process])
async def test_a_crashing_file_fails_alone_and_its_slot_works_again(
    tmp_path: Path, crash: Callable[[Path], None]
) -> None:
    workers = FileWorkers(slots=2, preload=PRELOAD)
    gate = tmp_path / "gate"
    photo = images.jpeg_with_everything()
    try:
        other = asyncio.create_task(
            workers.run(
                "family-1",
                PATIENCE,
                worker_jobs.sanitise_when,
                gate,
                tmp_path / "other",
                photo,
                "a.jpg",
            )
        )
        await until((tmp_path / "other").exists, "the other family's file to be in flight")
        with pytest.raises(JobCrashed):
            await workers.run("hostile", PATIENCE, crash, tmp_path / "crash")
        assert not other.done()
        gate.touch()
        pid, result = await other
        assert pid == pid_in(tmp_path / "other") and "GPS position" in result.removed
        # The crashed process's slot starts a fresh one for the next file.
        pid, result = await workers.run(
            "hostile", PATIENCE, worker_jobs.sanitise_when, gate, tmp_path / "next", photo, "b.jpg"
        )
        assert pid != pid_in(tmp_path / "crash") and "GPS position" in result.removed
    finally:
        await workers.shutdown()


async def test_a_caller_that_gives_up_has_its_running_file_killed(tmp_path: Path) -> None:
    workers = FileWorkers(slots=1, preload=PRELOAD)
    try:
        running = asyncio.create_task(
            workers.run("family-1", PATIENCE, worker_jobs.spin_forever, tmp_path / "spin")
        )
        await until((tmp_path / "spin").exists, "the file to be in flight")
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        spinning = pid_in(tmp_path / "spin")
        await until(lambda: not alive(spinning), "the abandoned file's process to be gone")
        # The slot is free for the next sender's file.
        gate = tmp_path / "gate"
        gate.touch()
        _, result = await workers.run(
            "family-2",
            PATIENCE,
            worker_jobs.sanitise_when,
            gate,
            tmp_path / "next",
            images.jpeg_with_everything(),
            "c.jpg",
        )
        assert "GPS position" in result.removed
    finally:
        await workers.shutdown()


async def test_a_file_past_its_limit_is_refused_with_its_name_and_what_to_do() -> None:
    # A real, valid picture that takes far longer than its limit to rebuild: 36 megapixels of
    # one colour, a few kilobytes on the wire.
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 6000), (30, 120, 200)).save(buffer, "PNG")
    workers = FileWorkers(slots=1, preload=PRELOAD)
    try:
        with pytest.raises(IntakeRefused) as caught:
            await sanitise_in_pool(
                workers, buffer.getvalue(), "poster.png", IntakeLimits(), sender="a", seconds=0.05
            )
    finally:
        await workers.shutdown()
    refused = caught.value
    assert refused.code is RefusalCode.TOOK_TOO_LONG
    assert refused.field == "poster.png"
    assert "poster.png" in refused.message and "0.05 seconds" in refused.message
    assert "send it again" in refused.message
    assert refused.status == 422


def test_the_per_file_time_limit_is_a_setting_that_refuses_nonsense(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/letterbox.db"
    assert make_settings(database, tmp_path).sanitise_seconds == 60
    assert make_settings(database, tmp_path, sanitise_seconds="5").sanitise_seconds == 5
    for nonsense in ("0", "-1", "soon"):
        with pytest.raises(SettingsError, match="LETTERBOX_SANITISE_SECONDS"):
            make_settings(database, tmp_path, sanitise_seconds=nonsense)
