"""Exceptions raised by the storage layer.

One root class, `StorageError`, so the HTTP error middleware can map every storage failure in one
place; the subclasses say which kind of failure it was and whether a retry can help.
"""

from __future__ import annotations


class StorageError(Exception):
    """Any failure of the encrypted storage layer."""


class StreamTampered(StorageError):
    """An encrypted object failed authentication: altered, truncated, reordered, or moved.

    Raised before any plaintext of the failing chunk is handed out. Plaintext of *earlier* chunks
    may already have been yielded; a caller that streams must therefore abort its own output
    (e.g. cut the HTTP response) instead of finishing it, so the receiver sees an incomplete body.
    """


class KeyHierarchyError(StorageError):
    """A key could not be loaded, wrapped or unwrapped."""


class InsecureKeyFile(KeyHierarchyError):
    """The master key file is readable or writable by other users, or is not a regular file."""


class KeyUnwrapError(KeyHierarchyError):
    """A wrapped key failed its RFC 5649 integrity check (wrong wrapping key or altered bytes)."""


class WrongMasterKey(KeyUnwrapError):
    """A wrapped key names a different master key id than the one loaded."""


class ObjectStoreError(StorageError):
    """A failure of an object store backend."""


class InvalidObjectName(ObjectStoreError, ValueError):
    """An object name is not a generated id of the allowed shape."""


class ObjectNotFound(ObjectStoreError):
    """No object exists under the requested name."""


class StoreUnavailable(ObjectStoreError):
    """The object store could not be reached or failed mid-request; retrying later may succeed."""

    retryable = True
