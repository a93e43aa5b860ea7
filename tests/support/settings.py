"""Settings for a test app: the test environment, a fresh master key, cheap (never disabled)
argon2, and any overrides as ``name=value``."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from service.settings import Settings


def make_settings(database_url: str, data_dir: Path, **overrides: str) -> Settings:
    environ = {
        "LETTERBOX_ENV": "test",
        "LETTERBOX_DATA_DIR": str(data_dir),
        "LETTERBOX_DATABASE_URL": database_url,
        "LETTERBOX_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        # Cheap, never disabled: argon2id still runs, with small parameters.
        "LETTERBOX_ARGON2_TIME_COST": "1",
        "LETTERBOX_ARGON2_MEMORY_KIB": "64",
        "LETTERBOX_PUBLIC_URL": "http://127.0.0.1",
    }
    environ.update({f"LETTERBOX_{k.upper()}": v for k, v in overrides.items()})
    return Settings.from_env(environ)
