"""The family record: one module per reason to change, the public names kept here.

- `sealing`: payload values holding personal data, sealed under the family key
- `appending`: `RecordLog.append` in the caller's transaction; a family's chain read back checked
- `guard`: a guarded session refuses to commit a contact change without its event
- `transaction`: `record_transaction`, the guarded transaction domain code works in
- `signing`: the centre's record-signing key
- `checkpoints`: signed heads of the families' chains
- `centre`: the centre-wide chain of checkpoints over every family's head
- `verification`: `verify_database`, every hash, link, sequence, head and checkpoint
- `errors`: what the record refuses, and why

The format itself (canonical JSON, hashing, signed notes) is `storage.recordformat`, which needs
only `cryptography`. See docs/record.md.
"""

from storage.record.appending import EventAuthor, RecordLog, family_chain, to_record
from storage.record.centre import (
    check_against_centre,
    latest_centre_checkpoint,
    make_centre_checkpoint,
)
from storage.record.checkpoints import (
    checkpoint_families_with_new_events,
    checkpoint_task,
    make_checkpoint,
)
from storage.record.errors import (
    CheckpointInconsistent,
    RecordError,
    RecordMissing,
    SigningKeyError,
)
from storage.record.guard import RecordGuardedSession, check_recorded, install_record_guard
from storage.record.sealing import (
    ERASED,
    SEALED_MARK,
    KeyRingPayloadSealer,
    PayloadSealer,
    Sealed,
    StaticKeyPayloadSealer,
    open_payload,
    reveal_payload,
)
from storage.record.signing import (
    NOTE_KEY_NAME,
    SIGNING_KEY_NAME,
    RecordSigner,
    load_or_create_signer,
    load_public_key,
)
from storage.record.transaction import RecordedWork, record_transaction
from storage.record.verification import Problem, VerifyReport, verify_database

__all__ = [
    "ERASED",
    "NOTE_KEY_NAME",
    "SEALED_MARK",
    "SIGNING_KEY_NAME",
    "CheckpointInconsistent",
    "EventAuthor",
    "KeyRingPayloadSealer",
    "PayloadSealer",
    "Problem",
    "RecordError",
    "RecordGuardedSession",
    "RecordLog",
    "RecordMissing",
    "RecordSigner",
    "RecordedWork",
    "Sealed",
    "SigningKeyError",
    "StaticKeyPayloadSealer",
    "VerifyReport",
    "check_against_centre",
    "check_recorded",
    "checkpoint_families_with_new_events",
    "checkpoint_task",
    "family_chain",
    "install_record_guard",
    "latest_centre_checkpoint",
    "load_or_create_signer",
    "load_public_key",
    "make_centre_checkpoint",
    "make_checkpoint",
    "open_payload",
    "record_transaction",
    "reveal_payload",
    "to_record",
    "verify_database",
]
