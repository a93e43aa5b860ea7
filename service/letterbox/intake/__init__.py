"""Intake: a letter, reply or digital gift arrives, is screened (virus scan, sanitised in a
killable worker process, words read, scanned for personal details), and waits for review.

The steps, one module each: ``upload`` reads the multipart upload, ``idempotency`` makes a
repeat harmless, ``screening`` checks and rebuilds every file, ``storing`` stores the item in
one recorded transaction; ``pipeline.submit`` is the list of them and ``endpoint`` the upload
handlers' entry point. The names other modules use are importable from here.
"""

from __future__ import annotations

from service.letterbox.intake.endpoint import submit_from_request
from service.letterbox.intake.idempotency import Idempotency, Replay
from service.letterbox.intake.pipeline import submit
from service.letterbox.intake.screening import (
    SENSITIVE_TERM_PURPOSE,
    sanitise_uploads,
    sanitiser_pool_ctx,
    scan_for_malware,
    sensitive_terms,
)
from service.letterbox.intake.storing import (
    LANGUAGE_PURPOSE,
    READ_TEXT_PURPOSE,
    TEXT_MEDIA_TYPE,
    NewItem,
)
from service.letterbox.intake.upload import Submission, Upload, read_submission, sanitiser_limits

__all__ = [
    "LANGUAGE_PURPOSE",
    "READ_TEXT_PURPOSE",
    "SENSITIVE_TERM_PURPOSE",
    "TEXT_MEDIA_TYPE",
    "Idempotency",
    "NewItem",
    "Replay",
    "Submission",
    "Upload",
    "read_submission",
    "sanitise_uploads",
    "sanitiser_limits",
    "sanitiser_pool_ctx",
    "scan_for_malware",
    "sensitive_terms",
    "submit",
    "submit_from_request",
]
