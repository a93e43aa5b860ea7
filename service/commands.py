"""What every ``letterbox`` sub-command shares: its type, the error that stops it with one
line, and the data-folder check. Command modules import this, never ``service.cli``."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable

from service.settings import Settings, SettingsError

Command = Callable[[argparse.Namespace, Settings], int]


class CommandError(Exception):
    """A command cannot go on; the message is printed as one line."""


def prepare_data_dir(settings: Settings) -> None:
    path = settings.data_dir
    try:
        # Only the service's own user may look inside: the database, the master key file and
        # the local object store live here.
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise SettingsError(
            "LETTERBOX_DATA_DIR", f"cannot write to {path} ({exc.strerror or exc})"
        ) from None
