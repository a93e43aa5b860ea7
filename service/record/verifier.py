"""The offline verifier for a Letterbox court bundle.

Depends only on the standard library, ``cryptography`` and ``storage/recordformat.py``, so the
two files can be published on their own. It needs no database and no network::

    python -m service.record.verifier BUNDLE.zip --fingerprint FP [--pdf record.pdf]
        [--since EARLIER.zip]

It checks that every event in the bundle is intact and in order, belongs to one family, lies in
the stated period, and that the events before and after the period, given as hashes, link the
period to a checkpoint signed by the centre's key: no event of the family in the period can have
been left out, altered, reordered or added. Exit status 0 means valid; 3 means everything held
against the key inside the bundle but no key was pinned (not verified); anything else means not
valid.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import io
import sys
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from storage import recordformat as rf

__all__ = [
    "BUNDLE_FORMAT",
    "BundleInvalid",
    "BundleParts",
    "Verdict",
    "main",
    "parse_public_key",
    "read_bundle",
    "record_digest",
    "verify_bundle",
]

BUNDLE_FORMAT: Final = "letterbox-bundle/v2"
EVENTS: Final = "events.jsonl"
PROOF: Final = "proof.json"
CHECKPOINT: Final = "checkpoint.txt"
PUBLIC_KEY: Final = "public_key.pem"
PDF_SHA256: Final = "pdf.sha256"
README: Final = "README.txt"
MANIFEST: Final = "manifest.json"
MANIFEST_SIG: Final = "manifest.sig"
MANIFEST_CONTEXT: Final = b"letterbox-bundle-manifest/v1\n"
# The centre checkpoint made with the export, its signature, and its RFC 3161 token (optional).
CENTRE: Final = "centre.json"
CENTRE_SIG: Final = "centre.sig"
CENTRE_TSR: Final = "centre.tsr"

# Generous for a family's record (10,000 events are ~4 MB), small enough that a hostile bundle
# cannot exhaust memory: every member is read with a hard cap, whatever its header claims.
MAX_BUNDLE_BYTES: Final = 256 * 1024 * 1024
MAX_MEMBERS: Final = 16
MAX_RATIO: Final = 200  # DEFLATE tops out near 1:1032; honest JSON stays far below 1:200
LIMITS: Final = {
    EVENTS: 192 * 1024 * 1024,
    PROOF: 64 * 1024 * 1024,
    CHECKPOINT: 4096,
    PUBLIC_KEY: 4096,
    PDF_SHA256: 1024,
    README: 64 * 1024,
    MANIFEST: 4096,
    MANIFEST_SIG: 1024,
    CENTRE: 16 * 1024 * 1024,
    CENTRE_SIG: 1024,
    CENTRE_TSR: 64 * 1024,
}
REQUIRED: Final = (EVENTS, PROOF, CHECKPOINT, PUBLIC_KEY, PDF_SHA256, MANIFEST, MANIFEST_SIG)
MAX_EVENTS: Final = 1_000_000
EXIT_VALID: Final = 0
EXIT_INVALID: Final = 1
EXIT_USAGE: Final = 2
# Everything checked out against the key inside the bundle, but nobody said whose key that is:
# the bundle may have been re-signed by anyone, so this is never "valid".
EXIT_NOT_PINNED: Final = 3
NOT_PINNED: Final = "NOT VERIFIED: the centre's key was not pinned"


class BundleInvalid(Exception):
    """The bundle is unreadable, incomplete, altered, or not signed by the expected key.

    The message is plain English for the person running the verifier.
    """


@dataclass(frozen=True)
class BundleParts:
    events_jsonl: bytes
    proof_json: bytes
    checkpoint_txt: bytes
    public_key_pem: bytes
    pdf_sha256: bytes
    readme: bytes
    manifest: bytes
    manifest_sig: bytes
    centre: bytes | None = None
    centre_sig: bytes | None = None
    centre_tsr: bytes | None = None


@dataclass
class Verdict:
    """What a valid bundle proves, for printing."""

    case_reference: str
    family_id: str
    period_from: str
    period_until: str
    events: int
    first_position: int
    last_position: int
    checkpoint_size: int
    checkpoint_time: str
    key_fingerprint: str
    key_source: str
    pdf_sha256: str
    pdf_checked: bool
    digest: str
    previous_size: int | None = None
    notes: list[str] = field(default_factory=list)
    pinned: bool = True
    centre_seq: int | None = None
    timestamp: str | None = None  # "<time> by <authority>"

    @property
    def exit_code(self) -> int:
        return EXIT_VALID if self.pinned else EXIT_NOT_PINNED

    def lines(self) -> list[str]:
        span = (
            f"record positions {self.first_position}–{self.last_position}"
            if self.events
            else "no events in this period"
        )
        first = (
            "VALID: the bundle is complete and unaltered."
            if self.pinned
            else f"{NOT_PINNED} (give --key or --fingerprint). Checked only against the key "
            "inside the bundle, which anyone could have put there:"
        )
        out = [
            first,
            f"  Case reference:   {self.case_reference} (family {self.family_id})",
            f"  Period:           from {self.period_from} up to (not including) {self.period_until}",
            f"  Events in period: {self.events} ({span} of {self.checkpoint_size})",
            f"  Signed checkpoint: {self.checkpoint_size} events, signed {self.checkpoint_time}",
            f"  Centre key:       {self.key_fingerprint} ({self.key_source})",
            f"  Record digest:    {self.digest} (printed on every page of the PDF)",
        ]
        if self.pdf_checked:
            out.append(f"  PDF:              matches the bundle (SHA-256 {self.pdf_sha256})")
        else:
            out.append(
                f"  PDF:              not checked (give --pdf FILE); expected SHA-256 {self.pdf_sha256}"
            )
        if self.centre_seq is None:
            out.append("  Centre checkpoint: none in this bundle")
        else:
            out.append(
                f"  Centre checkpoint: number {self.centre_seq}, lists this family's signed head"
            )
            out.append(
                f"  Time-stamp:       {self.timestamp}"
                if self.timestamp
                else "  Time-stamp:       none (no time-stamp authority was configured or reached)"
            )
        if self.previous_size is not None:
            out.append(
                f"  Earlier export:   consistent (its {self.previous_size} events are the "
                "start of this record, unchanged)"
            )
        out.extend(f"  WARNING: {n}" for n in self.notes)
        return out


# --- reading -------------------------------------------------------------------------


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise BundleInvalid(f"{info.filename} is larger than allowed ({info.file_size} bytes)")
    if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise BundleInvalid(f"{info.filename} is compressed suspiciously well (a zip bomb?)")
    out = bytearray()
    with archive.open(info) as member:
        while True:
            chunk = member.read(min(1024 * 1024, limit + 1 - len(out)))
            if not chunk:
                break
            out += chunk
            if len(out) > limit:
                raise BundleInvalid(f"{info.filename} is larger than allowed")
    return bytes(out)


def read_bundle(data: bytes) -> BundleParts:
    """The bundle's members, read defensively; any defect is a `BundleInvalid`."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleInvalid("the bundle file is too large")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise BundleInvalid("the bundle holds too many files")
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                raise BundleInvalid("the bundle holds two files with the same name")
            unknown = sorted(set(names) - set(LIMITS))
            if unknown:
                raise BundleInvalid(f"the bundle holds an unexpected file: {unknown[0][:80]!r}")
            missing = [n for n in REQUIRED if n not in names]
            if missing:
                raise BundleInvalid(f"the bundle is missing {missing[0]}")
            members = {i.filename: _read_member(archive, i, LIMITS[i.filename]) for i in infos}
    except BundleInvalid:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        KeyError,
        IndexError,
        OverflowError,
        MemoryError,
    ) as exc:
        raise BundleInvalid(
            f"the bundle is not a readable zip file ({type(exc).__name__})"
        ) from None
    return BundleParts(
        events_jsonl=members[EVENTS],
        proof_json=members[PROOF],
        checkpoint_txt=members[CHECKPOINT],
        public_key_pem=members[PUBLIC_KEY],
        pdf_sha256=members[PDF_SHA256],
        readme=members.get(README, b""),
        manifest=members[MANIFEST],
        manifest_sig=members[MANIFEST_SIG],
        centre=members.get(CENTRE),
        centre_sig=members.get(CENTRE_SIG),
        centre_tsr=members.get(CENTRE_TSR),
    )


def parse_public_key(data: bytes) -> bytes:
    """A raw Ed25519 public key from PEM (SubjectPublicKeyInfo) or base64 of the 32 bytes."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except (ValueError, TypeError):
            raise BundleInvalid("the public key is not a readable PEM key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise BundleInvalid("the public key is not an Ed25519 key")
        return key.public_bytes_raw()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BundleInvalid("the public key is neither PEM nor base64") from None
    if len(raw) != 32:
        raise BundleInvalid("the public key is not 32 bytes (Ed25519)")
    return raw


def normalise_fingerprint(text: str) -> str:
    cleaned = "".join(c for c in text.lower() if c not in " :-")
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise BundleInvalid("a fingerprint is 64 hexadecimal digits (SHA-256)")
    return cleaned


def record_digest(events_jsonl: bytes, proof_json: bytes, checkpoint_txt: bytes) -> str:
    """The digest printed on the PDF: it names this exact record, checkpoint and proof."""
    framed = b"letterbox-record-digest/v1\n" + b"".join(
        hashlib.sha256(part).digest() for part in (events_jsonl, proof_json, checkpoint_txt)
    )
    return hashlib.sha256(framed).hexdigest()


def _json(data: bytes, what: str) -> Any:
    try:
        return rf.parse_canonical(data)
    except rf.RecordFormatError as exc:
        raise BundleInvalid(f"{what} is not valid canonical JSON ({exc})") from None


def _event(value: Any, what: str) -> rf.EventRecord:
    try:
        return rf.EventRecord.from_json(value)
    except rf.RecordFormatError as exc:
        raise BundleInvalid(f"{what} is malformed ({exc})") from None


def _hashes(value: Any, what: str) -> list[bytes]:
    if not isinstance(value, list) or len(value) > 10 * MAX_EVENTS:
        raise BundleInvalid(f"proof.json: {what} must be a list of hashes")
    out = []
    for item in value:
        if not isinstance(item, str) or len(item) != 64:
            raise BundleInvalid(f"proof.json: {what} holds a value that is not a hash")
        try:
            raw = bytes.fromhex(item)
        except ValueError:
            raise BundleInvalid(f"proof.json: {what} holds a value that is not a hash") from None
        if raw.hex() != item:
            raise BundleInvalid(f"proof.json: {what} must use lower-case hex")
        out.append(raw)
    return out


_PROOF_KEYS: Final = frozenset(
    {
        "format",
        "family_id",
        "case_reference",
        "from",
        "until",
        "size",
        "preceding",
        "before",
        "after",
        "following",
    }
)


_MANIFEST_KEYS: Final = frozenset(
    {
        "format",
        "family_id",
        "case_reference",
        "from",
        "until",
        "events",
        "first_position",
        "last_position",
        "checkpoint_size",
        "record_digest",
        "pdf_sha256",
        "key_fingerprint",
        "centre_checkpoint_sha256",
    }
)


def _check_manifest(parts: BundleParts, trusted: bytes, actual: dict[str, Any]) -> None:
    """The signed manifest must be by the trusted key and agree with the contents, field by field.

    ``actual`` holds what the verifier computed from the other members."""
    try:
        rf.verify_detached(MANIFEST_CONTEXT, parts.manifest, parts.manifest_sig, trusted)
    except rf.RecordFormatError as exc:
        raise BundleInvalid(f"the signed manifest does not verify: {exc}") from None
    manifest = _json(parts.manifest, "manifest.json")
    if not isinstance(manifest, dict) or set(manifest) != _MANIFEST_KEYS:
        raise BundleInvalid("manifest.json does not have the expected fields")
    for name in sorted(_MANIFEST_KEYS):
        if manifest[name] != actual[name] or type(manifest[name]) is not type(actual[name]):
            raise BundleInvalid(
                f"the signed manifest's {name} does not match the bundle's contents: "
                "the bundle was altered after it was signed"
            )


# --- verifying -----------------------------------------------------------------------


def verify_bundle(
    data: bytes,
    *,
    public_key: bytes | None = None,
    fingerprint: str | None = None,
    pdf: bytes | None = None,
    previous_checkpoint: bytes | None = None,
    tsa_ca: bytes | None = None,
) -> Verdict:
    """Check everything; return what the bundle proves, or raise `BundleInvalid` saying why."""
    parts = read_bundle(data)
    included = parse_public_key(parts.public_key_pem)
    notes: list[str] = []
    if public_key is not None:
        if included != public_key:
            raise BundleInvalid(
                "the bundle's key is not the key you supplied: it was not signed by that centre"
            )
        trusted, source = public_key, "matches the key you supplied"
    elif fingerprint is not None:
        if rf.key_fingerprint(included) != normalise_fingerprint(fingerprint):
            raise BundleInvalid(
                "the bundle's key does not have the fingerprint you supplied: "
                "it was not signed by that centre"
            )
        trusted, source = included, "matches the fingerprint you supplied"
    else:
        trusted, source = included, "taken from the bundle itself, NOT pinned"
        notes.append(
            "no --key or --fingerprint given: the signature was checked against the key inside "
            "the bundle, which proves nothing about who made it. Get the centre's fingerprint "
            "from the centre or the court's earlier records and run again with --fingerprint."
        )

    try:
        note = rf.verify_signed_note(parts.checkpoint_txt, trusted)
    except rf.RecordFormatError as exc:
        raise BundleInvalid(f"the signed checkpoint does not verify: {exc}") from None
    checkpoint = note.checkpoint

    proof = _json(parts.proof_json, "proof.json")
    if not isinstance(proof, dict) or set(proof) != _PROOF_KEYS:
        raise BundleInvalid("proof.json does not have the expected fields")
    if proof["format"] != BUNDLE_FORMAT:
        raise BundleInvalid(f"proof.json is not in the {BUNDLE_FORMAT} format")
    if proof["family_id"] != checkpoint.family_id:
        raise BundleInvalid("proof.json names a different family than the signed checkpoint")
    if proof["case_reference"] != checkpoint.case_reference:
        raise BundleInvalid("proof.json names a different case than the signed checkpoint")
    if proof["size"] != checkpoint.size or isinstance(proof["size"], bool):
        raise BundleInvalid("proof.json names a different record size than the checkpoint")
    try:
        period_from = rf.parse_time(proof["from"])
        period_until = rf.parse_time(proof["until"])
    except rf.RecordFormatError as exc:
        raise BundleInvalid(f"proof.json: period is malformed ({exc})") from None
    if period_until <= period_from:
        raise BundleInvalid("proof.json: the period ends before it starts")
    preceding = _hashes(proof["preceding"], "preceding")
    following = _hashes(proof["following"], "following")
    before = None if proof["before"] is None else _event(proof["before"], "proof.json: before")
    after = None if proof["after"] is None else _event(proof["after"], "proof.json: after")

    events = _read_events(parts.events_jsonl)

    # Lay out the whole chain, position 1 to size: hashes, the boundary events, the period.
    family_id = checkpoint.family_id
    period: list[tuple[str, rf.EventRecord]] = []
    if before is not None:
        period.append(("the event before the period", before))
    period.extend((f"event {e.seq}", e) for e in events)
    if after is not None:
        period.append(("the event after the period", after))
    if before is None and preceding:
        raise BundleInvalid("proof.json gives earlier hashes but no event before the period")
    if after is None and following:
        raise BundleInvalid("proof.json gives later hashes but no event after the period")

    position = len(preceding)
    head = rf.fold_chain(rf.GENESIS_HASH, preceding)
    positions: dict[int, bytes] = {}
    previous_size = None
    previous_head = b""
    if previous_checkpoint is not None:
        try:
            earlier = rf.verify_signed_note(previous_checkpoint, trusted).checkpoint
        except rf.RecordFormatError as exc:
            raise BundleInvalid(f"the earlier checkpoint does not verify: {exc}") from None
        if earlier.family_id != family_id:
            raise BundleInvalid("the earlier checkpoint is for a different family")
        if earlier.size > checkpoint.size:
            raise BundleInvalid(
                f"the earlier export recorded {earlier.size} events but this one only "
                f"{checkpoint.size}: events were removed since"
            )
        previous_size, previous_head = earlier.size, earlier.head
        if previous_size <= len(preceding):
            positions[previous_size] = rf.fold_chain(rf.GENESIS_HASH, preceding[:previous_size])

    last_seq = 0
    last_at = ""
    for label, event in period:
        position += 1
        if event.family_id != family_id:
            raise BundleInvalid(f"{label} belongs to another family")
        if event.family_seq != position:
            raise BundleInvalid(
                f"{label} is at record position {event.family_seq}, expected {position}: "
                "events are missing, added or reordered"
            )
        if event.seq <= last_seq:
            raise BundleInvalid(f"{label} is out of order")
        if event.at < last_at:
            raise BundleInvalid(f"{label} is dated before the event preceding it")
        if event.prev_hash != head:
            raise BundleInvalid(
                f"{label} does not link to the event before it: events are missing or reordered"
            )
        if event.computed_hash() != event.event_hash:
            raise BundleInvalid(f"{label} has been altered: its content does not match its hash")
        head = event.event_hash
        positions[position] = head
        last_seq, last_at = event.seq, event.at
    for body_hash in following:
        position += 1
        head = rf.chain_hash(head, body_hash)
        if position == previous_size:
            positions[position] = head
    if position != checkpoint.size or head != checkpoint.head:
        raise BundleInvalid(
            "the events do not lead to the signed checkpoint: the record was altered, "
            "or events were removed or added"
        )

    first_position = len(preceding) + (1 if before is not None else 0) + 1
    from_text, until_text = rf.format_time(period_from), rf.format_time(period_until)
    if before is not None and not before.at < from_text:
        raise BundleInvalid("the event before the period is not before the period")
    if after is not None and not after.at >= until_text:
        raise BundleInvalid("the event after the period is not after the period")
    for event in events:
        if not from_text <= event.at < until_text:
            raise BundleInvalid(f"event {event.seq} is dated outside the period")

    if previous_size is not None:
        expected = rf.GENESIS_HASH if previous_size == 0 else positions.get(previous_size)
        if expected != previous_head:
            raise BundleInvalid(
                "this record is not consistent with the earlier export: the events it "
                "covered were changed"
            )

    centre_seq, stamp = _check_centre(parts, trusted, checkpoint, tsa_ca)
    pdf_hash = _pdf_hash(parts.pdf_sha256)
    digest = record_digest(parts.events_jsonl, parts.proof_json, parts.checkpoint_txt)
    _check_manifest(
        parts,
        trusted,
        {
            "format": BUNDLE_FORMAT,
            "family_id": family_id,
            "case_reference": checkpoint.case_reference,
            "from": from_text,
            "until": until_text,
            "events": len(events),
            "first_position": first_position,
            "last_position": first_position + len(events) - 1,
            "checkpoint_size": checkpoint.size,
            "record_digest": digest,
            "pdf_sha256": pdf_hash,
            "key_fingerprint": rf.key_fingerprint(trusted),
            "centre_checkpoint_sha256": (
                None if parts.centre is None else hashlib.sha256(parts.centre).hexdigest()
            ),
        },
    )
    if pdf is not None and hashlib.sha256(pdf).hexdigest() != pdf_hash:
        raise BundleInvalid("the PDF is not the one this bundle was made with")

    return Verdict(
        case_reference=checkpoint.case_reference,
        family_id=family_id,
        period_from=from_text,
        period_until=until_text,
        events=len(events),
        first_position=first_position,
        last_position=first_position + len(events) - 1,
        checkpoint_size=checkpoint.size,
        checkpoint_time=checkpoint.time,
        key_fingerprint=rf.key_fingerprint(trusted),
        key_source=source,
        pdf_sha256=pdf_hash,
        pdf_checked=pdf is not None,
        digest=digest,
        previous_size=previous_size,
        notes=notes,
        pinned=public_key is not None or fingerprint is not None,
        centre_seq=centre_seq,
        timestamp=stamp,
    )


def _check_centre(
    parts: BundleParts, trusted: bytes, checkpoint: rf.Checkpoint, tsa_ca: bytes | None
) -> tuple[int | None, str | None]:
    """The centre checkpoint, when the bundle has one: signed by the trusted key, listing this
    family at the signed size and head; its time-stamp token, when present, for exactly it."""
    if parts.centre is None:
        if parts.centre_sig is not None or parts.centre_tsr is not None:
            raise BundleInvalid(
                "the bundle has a centre signature or time-stamp but no centre.json"
            )
        if tsa_ca is not None:
            raise BundleInvalid("--tsa-ca given, but the bundle holds no time-stamped checkpoint")
        return None, None
    if parts.centre_sig is None:
        raise BundleInvalid("the bundle is missing centre.sig")
    try:
        rf.verify_detached(rf.CENTRE_CONTEXT, parts.centre, parts.centre_sig, trusted)
        centre = rf.CentreCheckpoint.parse(parts.centre)
    except rf.RecordFormatError as exc:
        raise BundleInvalid(f"the centre checkpoint does not verify: {exc}") from None
    if centre.families.get(checkpoint.family_id) != (checkpoint.size, checkpoint.head):
        raise BundleInvalid(
            "the centre checkpoint does not list this family at the signed size and head"
        )
    if parts.centre_tsr is None:
        if tsa_ca is not None:
            raise BundleInvalid("--tsa-ca given, but the centre checkpoint is not time-stamped")
        return centre.seq, None
    # Imported here: only a time-stamped bundle needs asn1crypto.
    from service.record import timestamp

    try:
        token = timestamp.check_token(
            parts.centre_tsr, hashlib.sha256(parts.centre).digest(), ca_pem=tsa_ca
        )
    except timestamp.TimestampInvalid as exc:
        raise BundleInvalid(f"the time-stamp does not verify: {exc}") from None
    authority = token.authority + ("" if tsa_ca is not None else " (authority not pinned)")
    return centre.seq, f"{token.gen_time:%Y-%m-%d %H:%M:%S %Z} by {authority}"


def _read_events(data: bytes) -> list[rf.EventRecord]:
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise BundleInvalid("events.jsonl must end with a newline")
    lines = data[:-1].split(b"\n")
    if len(lines) > MAX_EVENTS:
        raise BundleInvalid("events.jsonl holds too many events")
    return [
        _event(_json(line, f"events.jsonl line {n}"), f"events.jsonl line {n}")
        for n, line in enumerate(lines, 1)
    ]


def _pdf_hash(data: bytes) -> str:
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise BundleInvalid("pdf.sha256 is not text") from None
    value = text.split(" ", 1)[0].lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise BundleInvalid("pdf.sha256 does not hold a SHA-256 hash")
    return value


# --- command line --------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="the bundle (.zip) to check")
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument("--key", metavar="PUBLIC_KEY_FILE", help="the centre's public key (PEM)")
    trust.add_argument("--fingerprint", metavar="FP", help="the centre's key fingerprint (hex)")
    parser.add_argument("--pdf", metavar="FILE", help="the court PDF, to check it belongs")
    parser.add_argument(
        "--since",
        "--previous",
        dest="since",
        metavar="EARLIER",
        help="an earlier bundle (.zip) or its checkpoint.txt: prove this record extends it",
    )
    parser.add_argument(
        "--tsa-ca",
        metavar="PEM",
        help="the time-stamp authority's CA certificate, to check who time-stamped it",
    )


def _read_file(path: str, what: str, limit: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise BundleInvalid(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise BundleInvalid(f"the {what} {path} is too large")
    return data


def run(args: argparse.Namespace, out: Any = None) -> int:
    out = out or sys.stdout
    try:
        data = _read_file(args.bundle, "bundle", MAX_BUNDLE_BYTES)
        key = None if args.key is None else parse_public_key(_read_file(args.key, "key file", 4096))
        pdf = None if args.pdf is None else _read_file(args.pdf, "PDF", 2 * 1024**3)
        previous = None if args.since is None else _earlier_checkpoint(args.since, key, args)
        verdict = verify_bundle(
            data,
            public_key=key,
            fingerprint=args.fingerprint,
            pdf=pdf,
            previous_checkpoint=previous,
            tsa_ca=None if args.tsa_ca is None else _read_file(args.tsa_ca, "CA file", 65536),
        )
    except BundleInvalid as exc:
        print(f"NOT VALID: {exc}", file=out)
        return EXIT_INVALID
    for line in verdict.lines():
        print(line, file=out)
    return verdict.exit_code


def _earlier_checkpoint(path: str, key: bytes | None, args: argparse.Namespace) -> bytes:
    """The signed checkpoint of an earlier export: its bundle is verified in full first (same
    key), so ``--since OLD.zip`` proves the new record extends exactly what the court holds."""
    data = _read_file(path, "earlier bundle or checkpoint", MAX_BUNDLE_BYTES)
    if not data.startswith(b"PK"):
        if len(data) > 4096:
            raise BundleInvalid(f"the earlier checkpoint {path} is too large")
        return data
    try:
        verify_bundle(data, public_key=key, fingerprint=args.fingerprint)
    except BundleInvalid as exc:
        raise BundleInvalid(f"the earlier bundle {path} is not valid itself: {exc}") from None
    return read_bundle(data).checkpoint_txt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="letterbox-verify", description="Check a Letterbox court bundle offline."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
