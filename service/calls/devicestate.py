"""What a request from a locked call device carries (``appkeys.LOCKED_CALL``): a leaf module,
so the typed keys can name it without importing the device lock's middleware."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class LockedCall:
    device_id: uuid.UUID
    call_id: uuid.UUID
