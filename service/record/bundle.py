"""The court bundle: a zip that the offline verifier (service/record/verifier.py) checks.

Members (docs/record.md has the details):
- ``events.jsonl``: the family's events in the period, one canonical JSON line each;
- ``proof.json``: what ties the period to the signed checkpoint — the body hashes of the
  family's events before and after the period, and the two events on either side of it in
  full, so the verifier can see that nothing of the period was left out at either end;
- ``checkpoint.txt``: the signed note; ``public_key.pem``: the centre's key;
- ``pdf.sha256``: the court PDF's SHA-256; ``README.txt``: how to verify, in plain English;
- ``manifest.json`` and ``manifest.sig``: what the bundle claims (family, case, period, first and
  last positions, record digest, the PDF's SHA-256, format version), signed with the centre's
  key, so neither the PDF's hash nor the period can be swapped without the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession

from service.record import verifier as v
from storage import recordformat as rf
from storage.record import (
    NOTE_KEY_NAME,
    RecordSigner,
    family_chain,
    make_centre_checkpoint,
    make_checkpoint,
)

__all__ = ["BundleMaterial", "build_bundle", "collect_material", "public_key_pem"]

_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)  # fixed, so the same record gives the same bytes

README_TEXT: Final = """\
LETTERBOX FAMILY RECORD - HOW TO CHECK THIS BUNDLE
==================================================

This bundle is the record behind the court PDF for case {case}, covering
{period_from} up to (not including) {period_until}.

What it proves
--------------
The contact centre keeps every contact event (letters, moderation, openings,
gifts, calls, attendance) in a log where each event carries a fingerprint of
the one before it. The centre signs the state of the log with its key. If any
event of this family in this period were changed, removed, added or put in a
different order, or if an event of another family were slipped in, the check
below fails.

How to check it
---------------
1. Get the centre's key fingerprint from the centre itself (by letter, phone
   or its website), not from this bundle. It should be:
       {fingerprint}
2. Run the free verifier (needs Python 3.11 and the "cryptography" package;
   no internet access and no access to the centre's systems):
       letterbox verify THIS_BUNDLE.zip --fingerprint FINGERPRINT --pdf THE_PDF.pdf
   or, with the published verifier files:
       python -m service.record.verifier THIS_BUNDLE.zip --fingerprint FINGERPRINT --pdf THE_PDF.pdf
3. The verifier prints VALID or NOT VALID with the reason. Without a fingerprint
   it prints NOT VERIFIED: it cannot tell who signed the bundle. It also prints
   the record digest, which must match the digest printed on every page of the PDF.
4. If you hold an earlier export of this family, add --since EARLIER.zip: the
   verifier then proves that nothing in the earlier record was changed since.

Files
-----
events.jsonl    the events of the period, one per line
proof.json      the links from the period to the signed checkpoint
checkpoint.txt  the centre's signed statement of the record
public_key.pem  the centre's public key (check its fingerprint, step 1)
pdf.sha256      the SHA-256 of the court PDF
manifest.json   what this bundle is: family, case, period, positions, record
                digest, the PDF's SHA-256 and the format version
manifest.sig    the centre's signature over manifest.json
centre.json     the centre's checkpoint over every family's record (if present),
centre.sig      its signature, and centre.tsr its time-stamp from an outside
                time-stamp authority (if one is configured)
"""


@dataclass(frozen=True)
class BundleMaterial:
    """Everything the bundle holds except the PDF hash."""

    family_id: str
    case_reference: str
    period_from: datetime
    period_until: datetime
    events: Sequence[rf.EventRecord]
    before: rf.EventRecord | None
    after: rf.EventRecord | None
    preceding: Sequence[bytes]  # body hashes of positions 1 … before-1
    following: Sequence[bytes]  # body hashes of positions after+1 … size
    checkpoint_note: str
    public_key: bytes
    # The centre checkpoint made with this export (body, signature line) and, when a time-stamp
    # authority is configured, its RFC 3161 token. Empty: a bundle made without the database.
    centre_body: bytes = b""
    centre_signature: str = ""
    centre_token: bytes | None = None

    @property
    def size(self) -> int:
        return (
            len(self.preceding)
            + (self.before is not None)
            + len(self.events)
            + (self.after is not None)
            + len(self.following)
        )

    def events_jsonl(self) -> bytes:
        return b"".join(e.to_line() + b"\n" for e in self.events)

    def proof_json(self) -> bytes:
        proof: dict[str, Any] = {
            "format": v.BUNDLE_FORMAT,
            "family_id": self.family_id,
            "case_reference": self.case_reference,
            "from": rf.format_time(self.period_from),
            "until": rf.format_time(self.period_until),
            "size": self.size,
            "preceding": [h.hex() for h in self.preceding],
            "before": None if self.before is None else self.before.to_json(),
            "after": None if self.after is None else self.after.to_json(),
            "following": [h.hex() for h in self.following],
        }
        return rf.canonical_json(proof)

    @property
    def first_position(self) -> int:
        return len(self.preceding) + (self.before is not None) + 1

    def manifest(self, pdf_sha256: str) -> dict[str, Any]:
        """What the bundle claims, field by field; the verifier checks each against the contents."""
        first = self.first_position
        return {
            "format": v.BUNDLE_FORMAT,
            "family_id": self.family_id,
            "case_reference": self.case_reference,
            "from": rf.format_time(self.period_from),
            "until": rf.format_time(self.period_until),
            "events": len(self.events),
            "first_position": first,
            "last_position": first + len(self.events) - 1,
            "checkpoint_size": self.size,
            "record_digest": self.digest(),
            "pdf_sha256": pdf_sha256,
            "key_fingerprint": rf.key_fingerprint(self.public_key),
            "centre_checkpoint_sha256": (
                hashlib.sha256(self.centre_body).hexdigest() if self.centre_body else None
            ),
        }

    def digest(self) -> str:
        """The record digest to print on every PDF page (known before the PDF exists)."""
        return v.record_digest(
            self.events_jsonl(), self.proof_json(), self.checkpoint_note.encode("utf-8")
        )


def public_key_pem(public_key: bytes) -> bytes:
    return Ed25519PublicKey.from_public_bytes(public_key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def build_bundle(
    material: BundleMaterial,
    pdf_sha256: str,
    key: Ed25519PrivateKey,
    *,
    key_name: str = NOTE_KEY_NAME,
) -> bytes:
    """The bundle zip. ``pdf_sha256`` is the hex SHA-256 of the court PDF; ``key`` (the centre's
    record-signing key) signs the manifest."""
    if len(pdf_sha256) != 64 or any(c not in "0123456789abcdef" for c in pdf_sha256):
        raise ValueError("pdf_sha256 must be 64 lower-case hex digits")
    if key.public_key().public_bytes_raw() != material.public_key:
        raise ValueError("the manifest must be signed with the key that signed the checkpoint")
    manifest = rf.canonical_json(material.manifest(pdf_sha256))
    signature = rf.sign_detached(v.MANIFEST_CONTEXT, manifest, key_name, key)
    readme = README_TEXT.format(
        case=material.case_reference,
        period_from=rf.format_time(material.period_from, micro=False),
        period_until=rf.format_time(material.period_until, micro=False),
        fingerprint=rf.key_fingerprint(material.public_key),
    )
    members = [
        (v.README, readme.encode("utf-8")),
        (v.CHECKPOINT, material.checkpoint_note.encode("utf-8")),
        (v.PUBLIC_KEY, public_key_pem(material.public_key)),
        (v.PDF_SHA256, f"{pdf_sha256}  record.pdf\n".encode("ascii")),
        (v.PROOF, material.proof_json()),
        (v.EVENTS, material.events_jsonl()),
        (v.MANIFEST, manifest),
        (v.MANIFEST_SIG, signature.encode("utf-8")),
    ]
    if material.centre_body:
        members += [
            (v.CENTRE, material.centre_body),
            (v.CENTRE_SIG, material.centre_signature.encode("utf-8")),
        ]
        if material.centre_token is not None:
            members.append((v.CENTRE_TSR, material.centre_token))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def material_from_events(
    family_events: Sequence[rf.EventRecord],
    *,
    family_id: str,
    case_reference: str,
    period_from: datetime,
    period_until: datetime,
    checkpoint_note: str,
    public_key: bytes,
) -> BundleMaterial:
    """Split a family's whole chain (positions 1 … size, in order) around the period."""
    if any(e.family_id != family_id for e in family_events):
        raise ValueError("every event of a bundle must belong to its family")
    start, end = rf.format_time(period_from), rf.format_time(period_until)
    first = next((i for i, e in enumerate(family_events) if e.at >= start), len(family_events))
    stop = next((i for i, e in enumerate(family_events) if e.at >= end), len(family_events))
    stop = max(stop, first)
    before = family_events[first - 1] if first > 0 else None
    after = family_events[stop] if stop < len(family_events) else None
    return BundleMaterial(
        family_id=family_id,
        case_reference=case_reference,
        period_from=period_from,
        period_until=period_until,
        events=family_events[first:stop],
        before=before,
        after=after,
        preceding=[e.body_hash() for e in family_events[: max(first - 1, 0)]],
        following=[e.body_hash() for e in family_events[stop + 1 :]],
        checkpoint_note=checkpoint_note,
        public_key=public_key,
    )


async def collect_material(
    session: AsyncSession,
    family_id: uuid.UUID,
    period_from: datetime,
    period_until: datetime,
    signer: RecordSigner,
) -> BundleMaterial:
    """Make a checkpoint (every export makes one) and gather the bundle's contents.

    The chain is read and re-checked once; the checkpoint signs exactly that chain.
    """
    chain = await family_chain(session, family_id)
    checkpoint = await make_checkpoint(session, family_id, signer, chain=chain)
    # Every export is also a link of the centre's chain of checkpoints.
    centre = await make_centre_checkpoint(session, signer, chains={family_id: chain})
    note = rf.parse_signed_note(checkpoint.signed_note).checkpoint
    material = material_from_events(
        chain,
        family_id=str(family_id),
        case_reference=note.case_reference,
        period_from=period_from,
        period_until=period_until,
        checkpoint_note=checkpoint.signed_note,
        public_key=signer.public_key,
    )
    return dataclasses.replace(
        material, centre_body=bytes(centre.body), centre_signature=centre.signature
    )
