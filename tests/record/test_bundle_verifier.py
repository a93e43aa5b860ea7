"""The offline verifier accepts a genuine bundle and rejects every kind of tampering."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.record import verifier as v
from service.record.bundle import (
    BundleMaterial,
    build_bundle,
    collect_material,
    material_from_events,
    public_key_pem,
)
from storage import db
from storage import recordformat as rf
from storage.record import EventAuthor, RecordLog, load_or_create_signer
from tests.support.record import ROOT, make_family, new_keyring

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.7 court record for the judge"
CENTRE_KEY = Ed25519PrivateKey.generate()
CENTRE_PUBLIC = CENTRE_KEY.public_key().public_bytes_raw()


def chain(
    family_id: str, count: int, *, kinds: Callable[[int], str] = lambda n: "call_joined"
) -> list[rf.EventRecord]:
    """A family's chain with one event a day from START; global seqs interleave (odd)."""
    events = []
    head = rf.GENESIS_HASH
    for n in range(1, count + 1):
        event = rf.EventRecord.build(
            seq=2 * n - 1,
            family_id=family_id,
            family_seq=n,
            at=rf.format_time(START + timedelta(days=n)),
            actor_id=str(uuid.UUID(int=n)),
            actor_role="staff",
            kind=kinds(n),
            payload={"n": n},
            prev_hash=head,
        )
        events.append(event)
        head = event.event_hash
    return events


def note_for(
    events: list[rf.EventRecord], key: Ed25519PrivateKey = CENTRE_KEY, size: int | None = None
) -> str:
    size = len(events) if size is None else size
    checkpoint = rf.Checkpoint(
        family_id=events[0].family_id,
        case_reference="LB-2025-0042",
        size=size,
        head=events[size - 1].event_hash if size else rf.GENESIS_HASH,
        time="2025-04-01T12:00:00Z",
    )
    return rf.make_signed_note(checkpoint, "letterbox-record", key)


FAMILY = str(uuid.UUID(int=42))
EVENTS = chain(FAMILY, 30)


def material(
    events: list[rf.EventRecord] = EVENTS,
    *,
    days: tuple[int, int] = (10, 20),
    key: Ed25519PrivateKey = CENTRE_KEY,
) -> BundleMaterial:
    return material_from_events(
        events,
        family_id=events[0].family_id,
        case_reference="LB-2025-0042",
        period_from=START + timedelta(days=days[0]),
        period_until=START + timedelta(days=days[1]),
        checkpoint_note=note_for(events, key),
        public_key=key.public_key().public_bytes_raw(),
    )


def bundle(m: BundleMaterial | None = None, key: Ed25519PrivateKey = CENTRE_KEY) -> bytes:
    return build_bundle(m or material(), hashlib.sha256(PDF).hexdigest(), key)


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(contents: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return out.getvalue()


def with_member(data: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    contents = members(data)
    contents[name] = change(contents[name])
    return rezip(contents)


def edit_lines(change: Callable[[list[bytes]], list[bytes]]) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        return b"".join(line + b"\n" for line in change(data.splitlines()))

    return apply


def verify(data: bytes, **kwargs: object) -> v.Verdict:
    kwargs.setdefault("public_key", CENTRE_PUBLIC)
    return v.verify_bundle(data, **kwargs)  # type: ignore[arg-type]


# --- a genuine bundle ----------------------------------------------------------------


def test_genuine_bundle_is_valid_against_the_centre_key_and_pdf() -> None:
    verdict = verify(bundle(), pdf=PDF)
    assert verdict.events == 10  # days 10 … 19
    assert (verdict.first_position, verdict.last_position, verdict.checkpoint_size) == (10, 19, 30)
    assert verdict.pdf_checked
    assert verdict.notes == []
    assert verdict.lines()[0] == "VALID: the bundle is complete and unaltered."


def test_genuine_bundle_is_valid_against_the_centre_fingerprint() -> None:
    fingerprint = rf.key_fingerprint(CENTRE_PUBLIC)
    assert verify(bundle(), public_key=None, fingerprint=fingerprint.upper()).key_source == (
        "matches the fingerprint you supplied"
    )


def test_without_key_or_fingerprint_the_verdict_says_the_key_was_not_checked() -> None:
    verdict = verify(bundle(), public_key=None)
    assert verdict.key_source == "taken from the bundle itself, NOT pinned"
    assert not verdict.pinned and verdict.exit_code == v.EXIT_NOT_PINNED
    assert verdict.lines()[0].startswith("NOT VERIFIED: the centre's key was not pinned")
    assert any("proves nothing about who made it" in note for note in verdict.notes)


@pytest.mark.parametrize(
    "days", [(0, 40), (0, 5), (25, 40), (10, 11), (12, 12 + 0), (40, 50)], ids=str
)
def test_any_period_including_the_edges_and_empty_ones_verifies(days: tuple[int, int]) -> None:
    if days[0] == days[1]:
        days = (days[0], days[0] + 1)
    verdict = verify(bundle(material(days=days)))
    expected = [e for e in EVENTS if START + timedelta(days=days[0]) <= rf.parse_time(e.at)]
    expected = [e for e in expected if rf.parse_time(e.at) < START + timedelta(days=days[1])]
    assert verdict.events == len(expected)


def test_bundle_digest_is_known_before_the_pdf_and_reported_by_the_verifier() -> None:
    m = material()
    assert verify(bundle(m)).digest == m.digest()


# --- tampering -----------------------------------------------------------------------


def _edit_payload(lines: list[bytes]) -> list[bytes]:
    lines[3] = lines[3].replace(b'"payload":{"n":13}', b'"payload":{"n":99}')
    return lines


def _edit_and_rehash(lines: list[bytes]) -> list[bytes]:
    event = rf.EventRecord.from_json(rf.parse_canonical(lines[3]))
    forged = rf.EventRecord.build(
        **{
            f: getattr(event, f)
            for f in ("seq", "family_id", "family_seq", "at", "actor_id", "actor_role", "kind")
        },
        payload={"n": 99},
        prev_hash=event.prev_hash,
    )
    lines[3] = forged.to_line()
    return lines


def _delete(lines: list[bytes]) -> list[bytes]:
    del lines[4]
    return lines


def _delete_last(lines: list[bytes]) -> list[bytes]:
    return lines[:-1]


def _reorder(lines: list[bytes]) -> list[bytes]:
    lines[2], lines[3] = lines[3], lines[2]
    return lines


def _other_family(lines: list[bytes]) -> list[bytes]:
    stranger = chain(str(uuid.UUID(int=7)), 30)[12]
    lines[3] = stranger.to_line()
    return lines


def _duplicate(lines: list[bytes]) -> list[bytes]:
    return [*lines[:4], lines[3], *lines[4:]]


EVENT_TAMPERING = {
    "edited_event": (_edit_payload, "altered"),
    "edited_and_rehashed_event": (_edit_and_rehash, "does not link to the event before"),
    "deleted_event": (_delete, "missing"),
    "deleted_last_event_of_period": (_delete_last, "events are missing"),
    "reordered_events": (_reorder, "expected"),
    "event_from_another_family": (_other_family, "another family"),
    "duplicated_event": (_duplicate, "expected"),
}


@pytest.mark.parametrize("tamper", list(EVENT_TAMPERING))
def test_tampered_events_are_rejected(tamper: str) -> None:
    change, reason = EVENT_TAMPERING[tamper]
    tampered = with_member(bundle(), v.EVENTS, edit_lines(change))
    with pytest.raises(v.BundleInvalid, match=reason):
        verify(tampered)


def test_event_hidden_at_the_edge_of_the_period_is_rejected() -> None:
    # The exporter leaves day 10 out of the period by moving the period's start in the proof
    # only: the verifier sees that the "event before" is inside the period.
    genuine = material(days=(11, 20))
    lying = rf.parse_canonical(genuine.proof_json())
    lying["from"] = rf.format_time(START + timedelta(days=10))
    tampered = with_member(bundle(genuine), v.PROOF, lambda _: rf.canonical_json(lying))
    with pytest.raises(v.BundleInvalid, match="not before the period"):
        verify(tampered)


def test_swapped_pdf_is_rejected() -> None:
    with pytest.raises(v.BundleInvalid, match="PDF"):
        verify(bundle(), pdf=PDF + b" (edited)")


def test_other_pdf_with_its_hash_swapped_into_the_bundle_is_rejected() -> None:
    # The attack from issue 19: a different PDF, its hash written into pdf.sha256.
    other = b"%PDF-1.7 a different record"
    swapped = with_member(
        bundle(),
        v.PDF_SHA256,
        lambda _: f"{hashlib.sha256(other).hexdigest()}  record.pdf\n".encode(),
    )
    with pytest.raises(v.BundleInvalid, match="manifest's pdf_sha256 does not match"):
        verify(swapped, pdf=other)


def _edit_manifest(field: str, value: object) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        manifest = rf.parse_canonical(data)
        manifest[field] = value
        return rf.canonical_json(manifest)

    return change


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("family_id", str(uuid.UUID(int=7))),
        ("case_reference", "LB-2025-0043"),
        ("from", rf.format_time(START + timedelta(days=9))),
        ("until", rf.format_time(START + timedelta(days=25))),
        ("events", 11),
        ("first_position", 9),
        ("last_position", 20),
        ("checkpoint_size", 31),
        ("record_digest", "0" * 64),
        ("pdf_sha256", "1" * 64),
        ("format", "letterbox-bundle/v1"),
        ("key_fingerprint", "2" * 64),
        ("centre_checkpoint_sha256", "3" * 64),
    ],
)
def test_edited_manifest_field_breaks_its_signature(field: str, value: object) -> None:
    tampered = with_member(bundle(), v.MANIFEST, _edit_manifest(field, value))
    with pytest.raises(v.BundleInvalid, match="signed manifest does not verify"):
        verify(tampered)


def test_changed_period_is_rejected_even_when_the_proof_is_consistent() -> None:
    # The period in proof.json moved to another period that the events also satisfy: the
    # events, edges and checkpoint all still hold, only the signed manifest disagrees.
    genuine = material(days=(10, 20))
    lying = rf.parse_canonical(genuine.proof_json())
    lying["from"] = rf.format_time(START + timedelta(days=9, hours=1))
    tampered = with_member(bundle(genuine), v.PROOF, lambda _: rf.canonical_json(lying))
    with pytest.raises(v.BundleInvalid, match="manifest's from does not match"):
        verify(tampered)


def test_manifest_signed_by_another_key_is_rejected() -> None:
    impostor = Ed25519PrivateKey.generate()
    manifest = members(bundle())[v.MANIFEST]
    resigned = with_member(
        bundle(),
        v.MANIFEST_SIG,
        lambda _: rf.sign_detached(
            v.MANIFEST_CONTEXT, manifest, "letterbox-record", impostor
        ).encode(),
    )
    with pytest.raises(v.BundleInvalid, match="manifest does not verify"):
        verify(resigned)


@pytest.mark.parametrize("member", [v.MANIFEST, v.MANIFEST_SIG])
def test_bundle_without_its_manifest_is_rejected(member: str) -> None:
    contents = members(bundle())
    del contents[member]
    with pytest.raises(v.BundleInvalid, match=f"missing {member}"):
        verify(rezip(contents))


def test_forged_signature_is_rejected() -> None:
    def forge(note: bytes) -> bytes:
        body, sep, signature = note.partition(b"\n\n")
        return body.replace(b"\n30\n", b"\n30\n", 1) + sep + signature[:-4] + b"AAA=\n"

    with pytest.raises(v.BundleInvalid, match="checkpoint"):
        verify(with_member(bundle(), v.CHECKPOINT, forge))


def test_checkpoint_signed_with_another_key_is_rejected() -> None:
    impostor = Ed25519PrivateKey.generate()
    forged = bundle(material(key=impostor), impostor)
    with pytest.raises(v.BundleInvalid, match="not the key you supplied"):
        verify(forged)
    with pytest.raises(v.BundleInvalid, match="fingerprint"):
        verify(forged, public_key=None, fingerprint=rf.key_fingerprint(CENTRE_PUBLIC))
    # Keeping the centre's public key in the bundle does not help the impostor.
    swapped = with_member(forged, v.PUBLIC_KEY, lambda _: public_key_pem(CENTRE_PUBLIC))
    with pytest.raises(v.BundleInvalid, match="not signed by this key"):
        verify(swapped)


def test_checkpoint_consistent_with_an_earlier_export_is_accepted() -> None:
    earlier = note_for(EVENTS, size=8).encode()
    assert verify(bundle(), previous_checkpoint=earlier).previous_size == 8
    inside = note_for(EVENTS, size=15).encode()
    assert verify(bundle(), previous_checkpoint=inside).previous_size == 15
    after = note_for(EVENTS, size=25).encode()
    assert verify(bundle(), previous_checkpoint=after).previous_size == 25


@pytest.mark.parametrize("size", [5, 15, 25])
def test_checkpoint_inconsistent_with_an_earlier_export_is_rejected(size: int) -> None:
    # The earlier export saw a different history: the centre rewrote the record since.
    other_history = chain(FAMILY, 30, kinds=lambda n: "call_left" if n == 3 else "call_joined")
    earlier = note_for(other_history, size=size).encode()
    with pytest.raises(v.BundleInvalid, match="not consistent with the earlier export"):
        verify(bundle(), previous_checkpoint=earlier)


def test_earlier_export_with_more_events_is_rejected() -> None:
    longer = chain(FAMILY, 31)
    with pytest.raises(v.BundleInvalid, match="removed"):
        verify(bundle(), previous_checkpoint=note_for(longer).encode())


@pytest.mark.parametrize(
    ("contents", "reason"),
    [
        ({}, "missing"),
        ({"evil/../../x": b""}, "unexpected file"),
        ({v.EVENTS: b"not json\n"}, "canonical JSON"),
        ({v.PROOF: b"{}"}, "expected fields"),
        ({v.CHECKPOINT: b"hello"}, "checkpoint"),
    ],
)
def test_broken_bundles_give_plain_messages(contents: dict[str, bytes], reason: str) -> None:
    genuine = members(bundle())
    data = rezip(contents if not contents or "evil/../../x" in contents else genuine | contents)
    with pytest.raises(v.BundleInvalid, match=reason):
        verify(data)


def test_zip_bomb_member_is_refused_without_inflating_it() -> None:
    genuine = members(bundle())
    genuine[v.PROOF] = b" " * (v.LIMITS[v.PROOF] + 1)
    with pytest.raises(v.BundleInvalid, match=r"larger than allowed|zip bomb"):
        verify(rezip(genuine))


# --- fuzzing -------------------------------------------------------------------------

SMALL = bundle(material(chain(FAMILY, 6), days=(2, 4)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(SMALL) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    st.integers(0, len(SMALL)),
)
def test_fuzzed_bundle_bytes_only_ever_give_clean_errors(
    flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(SMALL)
    for offset, value in flips:
        data[offset] = value
    with contextlib.suppress(v.BundleInvalid):
        verify(bytes(data[: max(cut, 1)] if cut < len(SMALL) // 2 else data))


MEMBER_NAMES = st.sampled_from(
    [v.EVENTS, v.PROOF, v.CHECKPOINT, v.PUBLIC_KEY, v.PDF_SHA256, v.MANIFEST, v.MANIFEST_SIG]
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        MEMBER_NAMES,
        st.binary(max_size=300)
        | JSONISH.map(lambda j: rf.canonical_json(j) if _json_ok(j) else b"{}")
        | st.text(max_size=200).map(str.encode),
        max_size=5,
    )
)
def test_fuzzed_zip_members_only_ever_give_clean_errors(replacements: dict[str, bytes]) -> None:
    contents = members(SMALL) | replacements
    with contextlib.suppress(v.BundleInvalid):
        verify(rezip(contents))


def _json_ok(value: object) -> bool:
    try:
        rf.canonical_json(value)
    except rf.RecordFormatError:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(st.lists(JSONISH.filter(_json_ok), min_size=1, max_size=4))
def test_fuzzed_event_lines_only_ever_give_clean_errors(lines: list[object]) -> None:
    events = b"".join(rf.canonical_json(line) + b"\n" for line in lines)
    with contextlib.suppress(v.BundleInvalid):
        verify(with_member(SMALL, v.EVENTS, lambda _: events))


# --- from the database, and the command line -----------------------------------------


async def test_bundle_from_the_database_verifies(database_url: str) -> None:
    engine = db.create_engine(database_url)
    keyring = new_keyring()
    log = RecordLog()
    actor = EventAuthor(uuid.UUID(int=1), "supervisor")
    times = iter([START + timedelta(days=d) for d in range(10)])
    timed = replace(log, clock=lambda: next(times))
    try:
        maker = db.create_sessionmaker(engine)
        async with maker.begin() as session:
            family = await make_family(session, "LB-DB-1")
            other = await make_family(session)
            signer = await load_or_create_signer(session, keyring)
            for n in range(10):
                await timed.append(session, family.id, "call_joined", {"n": n}, actor)
                await log.append(session, other.id, "call_left", {"n": n}, actor)
            m = await collect_material(
                session,
                family.id,
                START + timedelta(days=3),
                START + timedelta(days=6),
                signer,
            )
    finally:
        await engine.dispose()
    verdict = verify(bundle(m, signer.private_key), public_key=signer.public_key, pdf=PDF)
    assert (verdict.case_reference, verdict.events, verdict.checkpoint_size) == ("LB-DB-1", 3, 10)


def test_letterbox_verify_command_needs_no_database(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle())
    (tmp_path / "record.pdf").write_bytes(PDF)
    (tmp_path / "centre.pem").write_bytes(public_key_pem(CENTRE_PUBLIC))
    env = {k: val for k, val in os.environ.items() if not k.startswith("LETTERBOX_")}
    # An unreachable database proves no connection is attempted.
    env |= {
        "PYTHONPATH": str(ROOT),
        "LETTERBOX_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        "LETTERBOX_DATA_DIR": str(tmp_path / "data"),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "service", "verify", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    good = run(str(path), "--key", "centre.pem", "--pdf", "record.pdf")
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("VALID")
    (tmp_path / "record.pdf").write_bytes(PDF + b"x")
    bad = run(str(path), "--fingerprint", rf.key_fingerprint(CENTRE_PUBLIC), "--pdf", "record.pdf")
    assert bad.returncode == 1
    assert bad.stdout.startswith("NOT VALID: the PDF")


# --- pinning the centre's key, and proving the record extends an earlier export -------------


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_bundle_re_signed_with_another_key_is_not_verified_without_a_pinned_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    impostor = Ed25519PrivateKey.generate()
    forged = _write(tmp_path, "forged.zip", bundle(material(key=impostor), impostor))
    code = v.main([forged])
    out = capsys.readouterr().out
    assert code == v.EXIT_NOT_PINNED
    assert code not in (v.EXIT_VALID, v.EXIT_INVALID, v.EXIT_USAGE)
    assert out.startswith("NOT VERIFIED: the centre's key was not pinned")
    assert "VALID: the bundle" not in out
    # It still says what it checked, with the key it used.
    assert rf.key_fingerprint(impostor.public_key().public_bytes_raw()) in out
    # The same bundle with the centre's fingerprint pinned is refused outright.
    pinned = v.main([forged, "--fingerprint", rf.key_fingerprint(CENTRE_PUBLIC)])
    assert pinned == v.EXIT_INVALID
    assert capsys.readouterr().out.startswith("NOT VALID:")


def test_genuine_bundle_with_a_pinned_fingerprint_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "bundle.zip", bundle())
    assert v.main([path, "--fingerprint", rf.key_fingerprint(CENTRE_PUBLIC)]) == v.EXIT_VALID
    assert capsys.readouterr().out.startswith("VALID")


def test_since_an_earlier_bundle_proves_the_record_extends_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = _write(tmp_path, "old.zip", bundle(material(EVENTS[:12], days=(2, 6))))
    newer = _write(tmp_path, "new.zip", bundle())
    fingerprint = rf.key_fingerprint(CENTRE_PUBLIC)
    assert v.main([newer, "--fingerprint", fingerprint, "--since", earlier]) == v.EXIT_VALID
    assert "its 12 events are the start of this record, unchanged" in capsys.readouterr().out


def test_since_an_earlier_bundle_detects_a_rewrite_made_with_the_centres_own_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The court holds an export of the first 12 events. The centre then rewrites event 3
    # (re-chaining everything after it) and signs the new chain with its real key: the new
    # bundle verifies on its own, but not as an extension of what the court holds.
    earlier = _write(tmp_path, "old.zip", bundle(material(EVENTS[:12], days=(2, 6))))
    rewritten = chain(FAMILY, 30, kinds=lambda n: "call_left" if n == 3 else "call_joined")
    newer = _write(tmp_path, "new.zip", bundle(material(rewritten)))
    fingerprint = rf.key_fingerprint(CENTRE_PUBLIC)
    assert v.main([newer, "--fingerprint", fingerprint]) == v.EXIT_VALID
    capsys.readouterr()
    code = v.main([newer, "--fingerprint", fingerprint, "--since", earlier])
    assert code == v.EXIT_INVALID
    assert "not consistent with the earlier export" in capsys.readouterr().out


def test_since_an_altered_earlier_bundle_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = with_member(
        bundle(material(EVENTS[:12], days=(2, 6))), v.EVENTS, edit_lines(lambda ls: ls[:-1])
    )
    earlier = _write(tmp_path, "old.zip", old)
    newer = _write(tmp_path, "new.zip", bundle())
    code = v.main(
        [
            newer,
            "--key",
            _write(tmp_path, "k.pem", public_key_pem(CENTRE_PUBLIC)),
            "--since",
            earlier,
        ]
    )
    assert code == v.EXIT_INVALID
    assert "earlier bundle" in capsys.readouterr().out
