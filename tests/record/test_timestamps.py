"""Centre checkpoints leave the centre time-stamped by an RFC 3161 authority (a local
``openssl ts`` with a throw-away CA here); the token is kept with the checkpoint and in the
bundle, and the offline verifier checks it."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.record import timestamp, verifier
from service.record.checkpoints import stamp_centre_checkpoint
from service.record.export import Maker, Period, make_export
from storage import db
from storage.keyring import KeyRing
from storage.models import CentreCheckpoint, ContactLevel
from storage.record import (
    EventAuthor,
    install_record_guard,
    load_or_create_signer,
    make_centre_checkpoint,
)
from tests.support.export_world import SeededFamily, seed_family
from tests.support.record import new_keyring
from tests.support.tsa import LocalAuthority, local_authority, make_ca


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    try:
        maker = db.create_sessionmaker(engine)
        install_record_guard(maker)
        yield maker
    finally:
        await engine.dispose()


@pytest.fixture
async def authority(tmp_path: Path) -> AsyncIterator[LocalAuthority]:
    async with local_authority(tmp_path / "tsa") as running:
        yield running


async def _export(
    sessionmaker: async_sessionmaker[AsyncSession],
    keyring: KeyRing,
    family: SeededFamily,
    tsa_url: str | None,
) -> bytes:
    made = await make_export(
        sessionmaker,
        keyring,
        None,
        family.family_id,
        Period(family.first_at.date(), family.last_at.date()),
        Maker(EventAuthor(family.admin_id, "admin"), "Alex Admin (centre admin)"),
        tsa_url=tsa_url,
    )
    return made.bundle


def _members(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def _rezip(contents: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return out.getvalue()


async def test_export_bundle_carries_a_time_stamp_the_verifier_checks_offline(
    sessionmaker: async_sessionmaker[AsyncSession], authority: LocalAuthority, tmp_path: Path
) -> None:
    keyring = new_keyring()
    family = await seed_family(sessionmaker, keyring, level=ContactLevel.SUPPORTED, cycles=1)
    bundle = await _export(sessionmaker, keyring, family, authority.url)
    members = _members(bundle)
    assert verifier.CENTRE_TSR in members
    assert len(authority.queries) == 1

    verdict = verifier.verify_bundle(bundle, tsa_ca=authority.ca_pem)
    assert verdict.timestamp is not None
    assert "Test Time-Stamp Authority" in verdict.timestamp
    assert "not pinned" not in verdict.timestamp
    # The token is kept with the checkpoint in the database too.
    async with sessionmaker() as session:
        stored = await session.scalar(
            select(CentreCheckpoint.timestamp_token).order_by(CentreCheckpoint.seq.desc())
        )
    assert stored == members[verifier.CENTRE_TSR]

    # Another authority's CA: the token is refused.
    other_ca, _, _ = make_ca(tmp_path / "other", label="Other")
    with pytest.raises(verifier.BundleInvalid, match="not issued by the CA you gave"):
        verifier.verify_bundle(bundle, tsa_ca=other_ca)


async def test_altered_or_swapped_time_stamp_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession], authority: LocalAuthority
) -> None:
    keyring = new_keyring()
    family = await seed_family(sessionmaker, keyring, level=ContactLevel.SUPPORTED, cycles=1)
    first = _members(await _export(sessionmaker, keyring, family, authority.url))
    second = _members(await _export(sessionmaker, keyring, family, authority.url))

    flipped = bytearray(first[verifier.CENTRE_TSR])
    flipped[-3] ^= 1
    with pytest.raises(verifier.BundleInvalid, match="time-stamp"):
        verifier.verify_bundle(_rezip(first | {verifier.CENTRE_TSR: bytes(flipped)}))
    # The token of another checkpoint (the second export's) does not fit the first.
    swapped = first | {verifier.CENTRE_TSR: second[verifier.CENTRE_TSR]}
    with pytest.raises(verifier.BundleInvalid, match="for a different checkpoint"):
        verifier.verify_bundle(_rezip(swapped))


async def test_interval_round_time_stamps_the_newest_centre_checkpoint(
    sessionmaker: async_sessionmaker[AsyncSession], authority: LocalAuthority
) -> None:
    keyring = new_keyring()
    await seed_family(sessionmaker, keyring, level=ContactLevel.SUPPORTED, cycles=1)
    async with sessionmaker.begin() as session:
        signer = await load_or_create_signer(session, keyring)
        row = await make_centre_checkpoint(session, signer)
        body = bytes(row.body)
    token = await stamp_centre_checkpoint(sessionmaker, authority.url)
    assert token is not None
    checked = timestamp.check_token(token, hashlib.sha256(body).digest(), ca_pem=authority.ca_pem)
    assert "Test Time-Stamp Authority" in checked.authority
    # Asking again sends nothing: the token is kept.
    assert await stamp_centre_checkpoint(sessionmaker, authority.url) == token
    assert len(authority.queries) == 1


async def test_export_goes_ahead_without_a_time_stamp_when_the_authority_is_down(
    sessionmaker: async_sessionmaker[AsyncSession], authority: LocalAuthority
) -> None:
    keyring = new_keyring()
    family = await seed_family(sessionmaker, keyring, level=ContactLevel.SUPPORTED, cycles=1)
    authority.failing = True
    bundle = await _export(sessionmaker, keyring, family, authority.url)
    assert verifier.CENTRE_TSR not in _members(bundle)
    verdict = verifier.verify_bundle(bundle)
    assert verdict.timestamp is None
    assert any("Time-stamp:       none" in line for line in verdict.lines())
    with pytest.raises(verifier.BundleInvalid, match="not time-stamped"):
        verifier.verify_bundle(bundle, tsa_ca=authority.ca_pem)
