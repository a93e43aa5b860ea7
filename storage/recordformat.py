"""The family record's wire format: canonical JSON, event hashing, chains, signed checkpoints.

Pure: the standard library and ``cryptography`` only, no database and no other Letterbox
module, so the offline verifier can be published with this one file. docs/record.md is the
specification; this module is its reference implementation.

An event is hashed in two steps::

    body_hash  = SHA-256(canonical JSON of the event body)          # everything but the links
    event_hash = SHA-256(0x00 || prev_hash || body_hash)            # the chain link

The body holds seq, family_id, family_seq, at, actor and kind, and the payload, so the link
covers all of them and the previous event's hash. Splitting off ``body_hash`` lets an export
prove where a date range sits in the family's chain while showing only the hashes of the
events outside the range, never their contents.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ACTOR_ROLES",
    "CENTRE_CONTEXT",
    "CENTRE_ORIGIN",
    "EVENT_KINDS",
    "GENESIS_HASH",
    "HASH_SIZE",
    "CentreCheckpoint",
    "Checkpoint",
    "CheckpointInvalid",
    "EventKind",
    "EventRecord",
    "NoteSignature",
    "RecordFormatError",
    "SignedNote",
    "canonical_json",
    "chain_hash",
    "format_time",
    "key_fingerprint",
    "make_signed_note",
    "note_key_hash",
    "parse_canonical",
    "parse_signed_note",
    "parse_time",
    "sign_detached",
    "verify_detached",
    "verify_signed_note",
]

HASH_SIZE: Final = 32
GENESIS_HASH: Final = bytes(HASH_SIZE)  # prev_hash of a family's first event
FORMAT_VERSION: Final = 1
ORIGIN_PREFIX: Final = "letterbox.record/v1/family/"
# JSON numbers beyond 2**53 lose precision in many readers; the record never needs them.
MAX_SAFE_INTEGER: Final = 2**53 - 1
_CHAIN_PREFIX: Final = b"\x00"
_NOTE_ED25519_TYPE: Final = b"\x01"
_EM_DASH: Final = "\u2014"


class RecordFormatError(ValueError):
    """Bytes or values that are not in the record format; the message says what is wrong."""


class CheckpointInvalid(RecordFormatError):
    """A signed checkpoint is malformed or its signature does not verify."""


class EventKind(enum.StrEnum):
    """The closed list of contact events. Adding one is a deliberate format change."""

    FAMILY_CREATED = "family_created"
    FAMILY_CHANGED = "family_changed"
    FAMILY_SHREDDED = "family_shredded"
    SENDER_APPROVED = "sender_approved"
    SENDER_REMOVED = "sender_removed"
    REFERRER_ACCESS_GRANTED = "referrer_access_granted"
    REFERRER_ACCESS_REVOKED = "referrer_access_revoked"
    # A translator given, or no longer given, the moderation of this family's items.
    TRANSLATOR_ASSIGNED = "translator_assigned"
    TRANSLATOR_REMOVED = "translator_removed"
    ITEM_SUBMITTED = "item_submitted"
    ITEM_IN_REVIEW = "item_in_review"
    ITEM_MODERATED = "item_moderated"
    ITEM_RETURNED = "item_returned"
    ITEM_REJECTED = "item_rejected"
    ITEM_APPROVED = "item_approved"
    ITEM_DELIVERED = "item_delivered"
    ITEM_OPENED = "item_opened"
    REPLY_SUBMITTED = "reply_submitted"
    GIFT_LOGGED = "gift_logged"
    GIFT_CHECKED = "gift_checked"
    GIFT_HANDED_OVER = "gift_handed_over"
    GIFT_RETURNED = "gift_returned"
    OPENING_SESSION_STARTED = "opening_session_started"
    OPENING_SESSION_ENDED = "opening_session_ended"
    OBSERVATION_NOTE_ADDED = "observation_note_added"
    CALL_SCHEDULED = "call_scheduled"
    CALL_CHANGED = "call_changed"
    CALL_CANCELLED = "call_cancelled"
    CALL_INTERPRETER_BOOKED = "call_interpreter_booked"
    CALL_INTERPRETER_REMOVED = "call_interpreter_removed"
    CALL_JOINED = "call_joined"
    CALL_LEFT = "call_left"
    CALL_ADMITTED = "call_admitted"
    CALL_ADMISSION_LAPSED = "call_admission_lapsed"
    CALL_PAUSED = "call_paused"
    CALL_RESUMED = "call_resumed"
    CALL_WARNED = "call_warned"
    CALL_STOP_REQUESTED = "call_stop_requested"
    CALL_ENDED = "call_ended"
    CALL_MISSED = "call_missed"
    EXPORT_MADE = "export_made"
    EXPORT_DOWNLOADED = "export_downloaded"
    # Supervised contact reports (issue 20): written, returned, approved (sealed), downloaded.
    REPORT_WRITTEN = "report_written"
    REPORT_RETURNED = "report_returned"
    REPORT_APPROVED = "report_approved"
    REPORT_DOWNLOADED = "report_downloaded"
    # Safeguarding concerns (issue 20): raised (an item withheld), acknowledged, action taken.
    CONCERN_RAISED = "concern_raised"
    CONCERN_ACKNOWLEDGED = "concern_acknowledged"
    CONCERN_ACTION_RECORDED = "concern_action_recorded"
    # The contact plan (issue 20): set or changed.
    PLAN_CHANGED = "plan_changed"
    # In-centre sessions, handovers and pre-visits (issue 20): attendance.
    VISIT_BOOKED = "visit_booked"
    VISIT_ATTENDANCE = "visit_attendance"
    # Retention (issue 20): a family's rule or legal hold changed.
    RETENTION_CHANGED = "retention_changed"
    # Subject access (issue 20): a request started (material gathered), a blacked-out part
    # shown or blacked out again by the reviewer (the reason sealed with the request), released.
    SUBJECT_ACCESS_STARTED = "subject_access_started"
    SUBJECT_ACCESS_SPAN_DECIDED = "subject_access_span_decided"
    SUBJECT_ACCESS_RELEASED = "subject_access_released"
    ITEM_BEYOND_PLAN = "item_beyond_plan"  # sent beyond what the plan allows: waits for staff


EVENT_KINDS: Final = frozenset(k.value for k in EventKind)
ACTOR_ROLES: Final = frozenset(
    {"admin", "staff", "supervisor", "parent", "referrer", "interpreter", "translator", "system"}
)


# --- canonical JSON ------------------------------------------------------------------


def _check_value(value: Any, depth: int = 0) -> None:
    # Hot path of the verifier: exact type tests; strings are left to the UTF-8 encode in
    # canonical_json, which refuses lone surrogates.
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return
    if kind is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise RecordFormatError("integer outside ±(2**53 - 1)")
        return
    if depth >= 32:
        raise RecordFormatError("JSON nested deeper than 32 levels")
    if kind is dict or isinstance(value, Mapping):
        for key, element in value.items():
            if type(key) is not str:
                raise RecordFormatError("object keys must be strings")
            if type(element) is not str:
                _check_value(element, depth + 1)
        return
    if kind is list or kind is tuple:
        for element in value:
            if type(element) is not str:
                _check_value(element, depth + 1)
        return
    if isinstance(value, float):
        raise RecordFormatError("floats are not allowed in the record; use integers or strings")
    raise RecordFormatError(f"{kind.__name__} is not a JSON value")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, integers only: one byte string per value."""
    _check_value(value)
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except UnicodeEncodeError:
        raise RecordFormatError("text holds a lone surrogate, which is not valid UTF-8") from None


def _no_float(text: str) -> Any:
    raise RecordFormatError("floats are not allowed in the record")


def _no_constant(text: str) -> Any:
    raise RecordFormatError(f"{text} is not allowed in the record")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise RecordFormatError(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def parse_canonical(data: bytes | str) -> Any:
    """Parse JSON that must already be canonical; anything else is a `RecordFormatError`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text,
            parse_float=_no_float,
            parse_constant=_no_constant,
            object_pairs_hook=_no_duplicates,
        )
    except UnicodeDecodeError:
        raise RecordFormatError("not UTF-8") from None
    except RecursionError:
        raise RecordFormatError("JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise RecordFormatError(f"not JSON ({exc.msg} at {exc.pos})") from None
    if canonical_json(value) != raw:
        raise RecordFormatError("JSON is not in canonical form")
    return value


# --- time ----------------------------------------------------------------------------

_TIME_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z")


def format_time(moment: datetime, *, micro: bool = True) -> str:
    """UTC, ``Z``-suffixed; with ``micro`` always six fractional digits (one text per instant)."""
    if moment.tzinfo is None:
        raise RecordFormatError("naive datetime; the record holds UTC times only")
    moment = moment.astimezone(UTC)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    if not isinstance(text, str) or not _TIME_RE.fullmatch(text):
        raise RecordFormatError(f"time {str(text)[:40]!r} is not YYYY-MM-DDTHH:MM:SS[.ffffff]Z")
    try:
        moment = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    except ValueError:
        raise RecordFormatError(f"time {text!r} is not a real date") from None
    return moment


# --- events --------------------------------------------------------------------------


def chain_hash(prev_hash: bytes, body_hash: bytes) -> bytes:
    """The chain link: SHA-256(0x00 || prev_hash || body_hash)."""
    if len(prev_hash) != HASH_SIZE or len(body_hash) != HASH_SIZE:
        raise RecordFormatError("hashes are 32 bytes")
    return hashlib.sha256(_CHAIN_PREFIX + prev_hash + body_hash).digest()


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * HASH_SIZE:
        raise RecordFormatError(f"{what} must be 64 hex digits")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise RecordFormatError(f"{what} must be 64 hex digits") from None
    if raw.hex() != value:
        raise RecordFormatError(f"{what} must be lower-case hex")
    return raw


def _positive(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SAFE_INTEGER:
        raise RecordFormatError(f"{what} must be a positive integer")
    return value


_UUID_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _UUID_RE.fullmatch(value):
        raise RecordFormatError(f"{what} must be a lower-case hyphenated UUID")
    return value


_EVENT_KEYS: Final = frozenset(
    {
        "v",
        "seq",
        "family_id",
        "family_seq",
        "at",
        "actor",
        "kind",
        "payload",
        "prev_hash",
        "event_hash",
    }
)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event as the format sees it: plain values, no database types."""

    seq: int
    family_id: str
    family_seq: int
    at: str
    actor_id: str | None
    actor_role: str
    kind: str
    payload: Any
    prev_hash: bytes
    event_hash: bytes

    def body(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "seq": self.seq,
            "family_id": self.family_id,
            "family_seq": self.family_seq,
            "at": self.at,
            "actor": {"id": self.actor_id, "role": self.actor_role},
            "kind": self.kind,
            "payload": self.payload,
        }

    def body_hash(self) -> bytes:
        return hashlib.sha256(canonical_json(self.body())).digest()

    def computed_hash(self) -> bytes:
        return chain_hash(self.prev_hash, self.body_hash())

    def to_json(self) -> dict[str, Any]:
        return self.body() | {
            "prev_hash": self.prev_hash.hex(),
            "event_hash": self.event_hash.hex(),
        }

    def to_line(self) -> bytes:
        """One canonical JSON line (without the newline) for events.jsonl."""
        return canonical_json(self.to_json())

    @classmethod
    def build(
        cls,
        *,
        seq: int,
        family_id: str,
        family_seq: int,
        at: str,
        actor_id: str | None,
        actor_role: str,
        kind: str,
        payload: Any,
        prev_hash: bytes,
    ) -> EventRecord:
        """A new, checked event with its hash computed."""
        draft = cls(
            seq,
            family_id,
            family_seq,
            at,
            actor_id,
            actor_role,
            kind,
            payload,
            prev_hash,
            GENESIS_HASH,
        )
        draft.check_fields()
        return cls(
            seq,
            family_id,
            family_seq,
            at,
            actor_id,
            actor_role,
            kind,
            payload,
            prev_hash,
            draft.computed_hash(),
        )

    def check_fields(self) -> None:
        """Every field has its allowed shape; raises `RecordFormatError` naming the field."""
        _positive(self.seq, "seq")
        _uuid_text(self.family_id, "family_id")
        _positive(self.family_seq, "family_seq")
        if not isinstance(self.at, str) or len(self.at) != 27:
            raise RecordFormatError("event time must be YYYY-MM-DDTHH:MM:SS.ffffffZ")
        parse_time(self.at)
        if self.actor_id is not None:
            _uuid_text(self.actor_id, "actor.id")
        if self.actor_role not in ACTOR_ROLES:
            raise RecordFormatError(f"actor role {str(self.actor_role)[:40]!r} is not known")
        if self.kind not in EVENT_KINDS:
            raise RecordFormatError(f"event kind {str(self.kind)[:40]!r} is not in the closed list")
        if not isinstance(self.payload, dict):
            raise RecordFormatError("payload must be a JSON object")
        _check_value(self.payload)
        if len(self.prev_hash) != HASH_SIZE or len(self.event_hash) != HASH_SIZE:
            raise RecordFormatError("hashes are 32 bytes")

    @classmethod
    def from_json(cls, value: Any) -> EventRecord:
        """From the parsed object of one events.jsonl line; the shape is checked strictly."""
        if not isinstance(value, dict):
            raise RecordFormatError("an event must be a JSON object")
        if set(value) != _EVENT_KEYS:
            missing = sorted(_EVENT_KEYS - set(value))
            extra = sorted(set(value) - _EVENT_KEYS)
            raise RecordFormatError(
                f"event fields wrong (missing {missing[:5]}, unexpected {[k[:20] for k in extra[:5]]})"
            )
        if value["v"] != FORMAT_VERSION or isinstance(value["v"], bool):
            raise RecordFormatError(f"event format version {str(value['v'])[:10]} is not 1")
        actor = value["actor"]
        if not isinstance(actor, dict) or set(actor) != {"id", "role"}:
            raise RecordFormatError('actor must be {"id", "role"}')
        if not isinstance(actor["role"], str):
            raise RecordFormatError("actor role must be text")
        if not isinstance(value["kind"], str) or not isinstance(value["at"], str):
            raise RecordFormatError("kind and at must be text")
        record = cls(
            seq=value["seq"],
            family_id=value["family_id"],
            family_seq=value["family_seq"],
            at=value["at"],
            actor_id=actor["id"],
            actor_role=actor["role"],
            kind=value["kind"],
            payload=value["payload"],
            prev_hash=_hex32(value["prev_hash"], "prev_hash"),
            event_hash=_hex32(value["event_hash"], "event_hash"),
        )
        record.check_fields()
        return record


# --- keys ----------------------------------------------------------------------------


def key_fingerprint(public_key: bytes) -> str:
    """The centre key's fingerprint: SHA-256 of the raw 32-byte Ed25519 public key, hex."""
    if len(public_key) != 32:
        raise RecordFormatError("an Ed25519 public key is 32 bytes")
    return hashlib.sha256(public_key).hexdigest()


def note_key_hash(name: str, public_key: bytes) -> bytes:
    """The signed-note key id: SHA-256(name || "\\n" || 0x01 || public key)[:4] (C2SP signed-note)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _NOTE_ED25519_TYPE + public_key).digest()[
        :4
    ]


# --- checkpoints (signed notes) ------------------------------------------------------

_KEY_NAME_RE: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CASE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,63}")
_DECIMAL_RE: Final = re.compile(r"0|[1-9][0-9]{0,15}")
_MAX_NOTE_BYTES: Final = 4096


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed statement: family ``family_id`` has ``size`` events whose chain head is ``head``."""

    family_id: str
    case_reference: str
    size: int
    head: bytes
    time: str

    def body(self) -> str:
        """The note text that is signed (C2SP tlog-checkpoint order: origin, size, hash, extras)."""
        _uuid_text(self.family_id, "family id")
        if not _CASE_RE.fullmatch(self.case_reference):
            raise RecordFormatError("case reference must be 1-64 letters, digits, space . _ / -")
        if not isinstance(self.size, int) or not 0 <= self.size <= MAX_SAFE_INTEGER:
            raise RecordFormatError("checkpoint size must be a whole number")
        if len(self.head) != HASH_SIZE:
            raise RecordFormatError("checkpoint head is 32 bytes")
        parse_time(self.time)
        head = base64.b64encode(self.head).decode("ascii")
        return (
            f"{ORIGIN_PREFIX}{self.family_id}\n{self.size}\n{head}\n"
            f"case {self.case_reference}\ntime {self.time}\n"
        )


@dataclass(frozen=True, slots=True)
class NoteSignature:
    name: str
    key_hash: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class SignedNote:
    checkpoint: Checkpoint
    body: str
    signatures: tuple[NoteSignature, ...]


def make_signed_note(checkpoint: Checkpoint, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """The checkpoint as a signed note: body, blank line, ``— name base64(key id || sig)``."""
    if not _KEY_NAME_RE.fullmatch(key_name):
        raise RecordFormatError("key name must be 1-64 letters, digits, . _ -")
    body = checkpoint.body()
    public = private_key.public_key().public_bytes_raw()
    signature = private_key.sign(body.encode("utf-8"))
    blob = base64.b64encode(note_key_hash(key_name, public) + signature).decode("ascii")
    return f"{body}\n{_EM_DASH} {key_name} {blob}\n"


def parse_signed_note(text: str | bytes) -> SignedNote:
    """Parse a signed checkpoint strictly; no signature is checked here."""
    if isinstance(text, bytes):
        if len(text) > _MAX_NOTE_BYTES:
            raise CheckpointInvalid("checkpoint is too long")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointInvalid("checkpoint is not UTF-8 text") from None
    if len(text) > _MAX_NOTE_BYTES:
        raise CheckpointInvalid("checkpoint is too long")
    body, sep, signature_block = text.partition("\n\n")
    if not sep or not signature_block.endswith("\n"):
        raise CheckpointInvalid("checkpoint has no signature block")
    body += "\n"
    lines = body.split("\n")[:-1]
    if len(lines) != 5:
        raise CheckpointInvalid("checkpoint body must have 5 lines")
    origin, size_text, head_text, case_line, time_line = lines
    if not origin.startswith(ORIGIN_PREFIX):
        raise CheckpointInvalid("checkpoint origin is not a Letterbox family record")
    if not _DECIMAL_RE.fullmatch(size_text):
        raise CheckpointInvalid("checkpoint size is not a decimal number")
    try:
        head = base64.b64decode(head_text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointInvalid("checkpoint head is not base64") from None
    if not case_line.startswith("case ") or not time_line.startswith("time "):
        raise CheckpointInvalid("checkpoint lacks its case or time line")
    try:
        checkpoint = Checkpoint(
            family_id=origin[len(ORIGIN_PREFIX) :],
            case_reference=case_line[5:],
            size=int(size_text),
            head=head,
            time=time_line[5:],
        )
        if checkpoint.body() != body:
            raise CheckpointInvalid("checkpoint body is not in canonical form")
    except CheckpointInvalid:
        raise
    except RecordFormatError as exc:
        raise CheckpointInvalid(f"checkpoint: {exc}") from None
    signatures = []
    for line in signature_block[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _EM_DASH or not _KEY_NAME_RE.fullmatch(parts[1]):
            raise CheckpointInvalid("checkpoint signature line is malformed")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            raise CheckpointInvalid("checkpoint signature is not base64") from None
        if len(blob) != 4 + 64:
            raise CheckpointInvalid("checkpoint signature has the wrong length")
        signatures.append(NoteSignature(parts[1], blob[:4], blob[4:]))
    if not signatures or len(signatures) > 8:
        raise CheckpointInvalid("checkpoint must carry 1 to 8 signatures")
    return SignedNote(checkpoint, body, tuple(signatures))


def verify_signed_note(text: str | bytes, public_key: bytes) -> SignedNote:
    """Parse and check that one signature is by ``public_key`` (raw 32 bytes) and valid."""
    note = parse_signed_note(text)
    if len(public_key) != 32:
        raise CheckpointInvalid("an Ed25519 public key is 32 bytes")
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    by_key = [s for s in note.signatures if s.key_hash == note_key_hash(s.name, public_key)]
    if not by_key:
        raise CheckpointInvalid("checkpoint is not signed by this key")
    for signature in by_key:
        try:
            verifier.verify(signature.signature, note.body.encode("utf-8"))
        except InvalidSignature:
            continue
        return note
    raise CheckpointInvalid("checkpoint signature is not valid")


def fold_chain(start: bytes, body_hashes: Iterable[bytes]) -> bytes:
    """The chain head after linking ``body_hashes`` onto ``start``."""
    head = start
    for body_hash in body_hashes:
        head = chain_hash(head, body_hash)
    return head


# --- detached signatures (bundle manifests, centre checkpoints) ----------------------

_MAX_SIGNATURE_BYTES: Final = 1024


def sign_detached(
    context: bytes, data: bytes, key_name: str, private_key: Ed25519PrivateKey
) -> str:
    """A signature line ``— name base64(key id || sig)`` over ``context || data``.

    ``context`` names what is signed (e.g. ``b"letterbox-bundle-manifest/v1\\n"``), so a
    signature made for one kind of statement can never be presented as another.
    """
    if not _KEY_NAME_RE.fullmatch(key_name):
        raise RecordFormatError("key name must be 1-64 letters, digits, . _ -")
    public = private_key.public_key().public_bytes_raw()
    signature = private_key.sign(context + data)
    blob = base64.b64encode(note_key_hash(key_name, public) + signature).decode("ascii")
    return f"{_EM_DASH} {key_name} {blob}\n"


def verify_detached(
    context: bytes, data: bytes, signature_text: str | bytes, public_key: bytes
) -> None:
    """Raise `RecordFormatError` unless ``signature_text`` is a valid signature by the key."""
    if isinstance(signature_text, bytes):
        if len(signature_text) > _MAX_SIGNATURE_BYTES:
            raise RecordFormatError("signature is too long")
        try:
            signature_text = signature_text.decode("utf-8")
        except UnicodeDecodeError:
            raise RecordFormatError("signature is not UTF-8 text") from None
    if len(public_key) != 32:
        raise RecordFormatError("an Ed25519 public key is 32 bytes")
    parts = signature_text.rstrip("\n").split(" ")
    if len(parts) != 3 or parts[0] != _EM_DASH or not _KEY_NAME_RE.fullmatch(parts[1]):
        raise RecordFormatError("signature line is malformed")
    try:
        blob = base64.b64decode(parts[2], validate=True)
    except (binascii.Error, ValueError):
        raise RecordFormatError("signature is not base64") from None
    if len(blob) != 4 + 64:
        raise RecordFormatError("signature has the wrong length")
    if blob[:4] != note_key_hash(parts[1], public_key):
        raise RecordFormatError("not signed by this key")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(blob[4:], context + data)
    except InvalidSignature:
        raise RecordFormatError("signature is not valid") from None


# --- centre checkpoints: one signed chain over every family's head ---------------------------

CENTRE_ORIGIN: Final = "letterbox.record/v1/centre"
CENTRE_CONTEXT: Final = b"letterbox-centre-checkpoint/v1\n"
_CENTRE_KEYS: Final = frozenset({"origin", "seq", "previous", "time", "events", "families"})


@dataclass(frozen=True, slots=True)
class CentreCheckpoint:
    """The centre's statement at ``time``: ``events`` events in all, and each family's chain
    at ``(size, head)``. ``seq`` runs 1, 2, 3… without gaps and ``previous`` is the SHA-256 of
    the previous centre checkpoint's body (32 zero bytes for the first), so a deleted or altered
    checkpoint breaks the chain of checkpoints.

    The body is canonical JSON::

        {"events":N,"families":{"<family id>":[size,"<head hex>"],…},
         "origin":"letterbox.record/v1/centre","previous":"<hex>","seq":n,"time":"…Z"}

    signed (detached, `sign_detached`) over ``CENTRE_CONTEXT || body``.
    """

    seq: int
    previous: bytes
    time: str
    events: int
    families: Mapping[str, tuple[int, bytes]]

    def body(self) -> bytes:
        if not isinstance(self.seq, int) or not 1 <= self.seq <= MAX_SAFE_INTEGER:
            raise RecordFormatError("centre checkpoint seq must be a positive whole number")
        if len(self.previous) != HASH_SIZE:
            raise RecordFormatError("centre checkpoint previous hash is 32 bytes")
        parse_time(self.time)
        families: dict[str, list[Any]] = {}
        for family_id, (size, head) in self.families.items():
            _uuid_text(family_id, "family id")
            if len(head) != HASH_SIZE:
                raise RecordFormatError("a family head is 32 bytes")
            families[family_id] = [size, head.hex()]
        return canonical_json(
            {
                "origin": CENTRE_ORIGIN,
                "seq": self.seq,
                "previous": self.previous.hex(),
                "time": self.time,
                "events": self.events,
                "families": families,
            }
        )

    def digest(self) -> bytes:
        """What the next checkpoint's ``previous`` must be."""
        return hashlib.sha256(self.body()).digest()

    @classmethod
    def parse(cls, body: bytes) -> CentreCheckpoint:
        """Parse strictly: canonical JSON, exactly these fields, re-serialising to the same bytes."""
        value = parse_canonical(body)
        if not isinstance(value, dict) or set(value) != _CENTRE_KEYS:
            raise RecordFormatError("centre checkpoint does not have the expected fields")
        if value["origin"] != CENTRE_ORIGIN:
            raise RecordFormatError("not a Letterbox centre checkpoint")
        families = value["families"]
        if not isinstance(families, dict):
            raise RecordFormatError("centre checkpoint families must be an object")
        parsed: dict[str, tuple[int, bytes]] = {}
        for family_id, entry in families.items():
            if not isinstance(entry, list) or len(entry) != 2:
                raise RecordFormatError("a family entry is [size, head]")
            parsed[family_id] = (
                _positive(entry[0], "family size"),
                _hex32(entry[1], "family head"),
            )
        checkpoint = cls(
            seq=_positive(value["seq"], "seq"),
            previous=_hex32(value["previous"], "previous"),
            time=value["time"] if isinstance(value["time"], str) else "",
            events=_positive(value["events"], "events") if value["events"] else 0,
            families=parsed,
        )
        if checkpoint.body() != body:
            raise RecordFormatError("centre checkpoint is not in canonical form")
        return checkpoint
