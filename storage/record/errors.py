"""The family record's errors: each says which safeguard refused and why."""

from __future__ import annotations

from storage.errors import StorageError

__all__ = ["CheckpointInconsistent", "RecordError", "RecordMissing", "SigningKeyError"]


class RecordError(StorageError):
    """A failure of the family record."""


class RecordMissing(RecordError):
    """A contact change was about to commit without its record event."""


class CheckpointInconsistent(RecordError):
    """A new checkpoint does not extend the previous one: the chain was rewritten."""


class SigningKeyError(RecordError):
    """The centre's record-signing key is missing, or does not open under the master key."""
