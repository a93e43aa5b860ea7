"""Domain errors. Domain code raises these; one middleware maps them to HTTP
(``service.http.errors``) with one JSON shape: ``{"error": code, "message": text}``."""

from __future__ import annotations

from service.i18n.context import Message


class LetterboxError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        # Words for a person: shown in their language (the catalogue holds every literal
        # message raised; service.i18n.extract finds them).
        self.message: str = Message(message)
        self.field = field
        if code is not None:
            self.code = code


class Invalid(LetterboxError):
    """Bad input: the message says which field, which limit and what to do."""

    status = 422
    code = "invalid"


class TooLarge(LetterboxError):
    status = 413
    code = "too_large"


class Unsupported(LetterboxError):
    status = 415
    code = "unsupported_type"


class NotSignedIn(LetterboxError):
    status = 401
    code = "not_signed_in"


class Forbidden(LetterboxError):
    status = 403
    code = "forbidden"


class NotFound(LetterboxError):
    """Missing, or not this person's to see: the same words either way, so ids cannot be
    probed."""

    status = 404
    code = "not_found"

    def __init__(
        self, message: str = "We could not find that.", *, field: str | None = None
    ) -> None:
        super().__init__(message, field=field)


class Conflict(LetterboxError):
    status = 409
    code = "conflict"


class Throttled(LetterboxError):
    status = 429
    code = "too_many_attempts"


class Unavailable(LetterboxError):
    """A dependency (database, object store) is down. Safe to retry."""

    status = 503
    code = "unavailable"
