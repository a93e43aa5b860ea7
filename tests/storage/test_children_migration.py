"""Migration 0011 seals the children and senders already stored: names, years of birth and
relationships leave the clear columns and open only with their family's key (issue 19 part 6)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import make_url

from storage import db
from storage.children import open_children, open_referral, open_relationship
from storage.keyring import FamilyShredded, KeyRing
from storage.keys import MasterKey
from storage.models import (
    AccountStatus,
    ContactLevel,
    FamilySender,
    Referral,
    Role,
)
from tests.support.postgres import PostgresServer, unique_name

_SENDERS = sa.table(
    "family_senders",
    sa.column("id", sa.Uuid()),
    sa.column("family_id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("relationship_to_child", sa.String()),
    sa.column("approved", sa.Boolean()),
)
_REFERRALS = sa.table(
    "referrals",
    sa.column("id", sa.Uuid()),
    sa.column("centre_id", sa.Uuid()),
    sa.column("referrer_name", sa.String()),
    sa.column("referrer_organisation", sa.String()),
    sa.column("referrer_email", sa.String()),
    sa.column("referrer_kind", sa.String()),
    sa.column("court_order_reference", sa.String()),
    sa.column("contact_level", sa.String()),
    sa.column("channels", sa.JSON()),
    sa.column("children", sa.JSON()),
    sa.column("known_risks_sealed", sa.LargeBinary()),
    sa.column("parents_sealed", sa.LargeBinary()),
    sa.column("risk_terms_sealed", sa.LargeBinary()),
    sa.column("status", sa.String()),
    sa.column("received_at", sa.DateTime(timezone=True)),
    sa.column("recorded_by", sa.Uuid()),
    sa.column("family_id", sa.Uuid()),
)
# The tables as revision 0010 had them: the ORM models have columns later revisions add.
_CENTRES = sa.table(
    "centres", sa.column("id", sa.Uuid()), sa.column("name"), sa.column("created_at")
)
_FAMILIES = sa.table(
    "families",
    sa.column("id", sa.Uuid()),
    sa.column("centre_id", sa.Uuid()),
    sa.column("case_reference", sa.String()),
    sa.column("contact_level", sa.String()),
    sa.column("channels", sa.JSON()),
    sa.column("status", sa.String()),
    sa.column("requires_second_approval", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_USERS = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("centre_id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("display_name", sa.String()),
    sa.column("role", sa.String()),
    sa.column("status", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_CHILDREN = sa.table(
    "children",
    sa.column("id", sa.Uuid()),
    sa.column("family_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("birth_year", sa.Integer()),
)


@dataclass(frozen=True)
class _Row:
    """A row inserted as revision 0010 had it: only its id is needed afterwards."""

    id: uuid.UUID


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, to migrate step by step."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'letterbox.db'}"
        return
    server: PostgresServer = request.getfixturevalue("pg")
    name = unique_name("letterbox_mig")
    server.psql(f"CREATE DATABASE {name}")
    try:
        yield server.url(name)
    finally:
        server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _families_at_0010(url: str, ring: KeyRing) -> tuple[uuid.UUID, uuid.UUID]:
    """A live family with two children and a shredded one with one, stored as 0010 did."""
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine, "0010")
        sessionmaker = db.create_sessionmaker(engine)
        async with sessionmaker.begin() as session:
            now = datetime.now(UTC)
            centre_id, live_id, gone_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            await session.execute(
                sa.insert(_CENTRES), [{"id": centre_id, "name": "Riverside", "created_at": now}]
            )
            await session.execute(
                sa.insert(_FAMILIES),
                [
                    {
                        "id": family_id,
                        "centre_id": centre_id,
                        "case_reference": ref,
                        "contact_level": ContactLevel.SUPERVISED.value,
                        "channels": ["letters"],
                        "status": "active",
                        "requires_second_approval": False,
                        "created_at": now,
                    }
                    for family_id, ref in ((live_id, "LB-MIG-1"), (gone_id, "LB-MIG-2"))
                ],
            )
            live, gone = (_Row(live_id), _Row(gone_id))
            for family in (live, gone):
                await ring.create_family_key(session, family.id)
            await session.flush()
            await session.execute(
                sa.insert(_CHILDREN),
                [
                    {
                        "id": uuid.uuid4(),
                        "family_id": live.id,
                        "name": "Zephyrine",
                        "birth_year": 2017,
                    },
                    {
                        "id": uuid.uuid4(),
                        "family_id": live.id,
                        "name": "Albertine",
                        "birth_year": 2014,
                    },
                    {
                        "id": uuid.uuid4(),
                        "family_id": gone.id,
                        "name": "Quillon",
                        "birth_year": 2015,
                    },
                ],
            )
            parent = _Row(uuid.uuid4())
            await session.execute(
                sa.insert(_USERS),
                [
                    {
                        "id": parent.id,
                        "centre_id": centre_id,
                        "email": "dana@example.org",
                        "display_name": "Dana",
                        "role": Role.PARENT.value,
                        "status": AccountStatus.ACTIVE.value,
                        "created_at": now,
                    }
                ],
            )
            await session.execute(
                sa.insert(_SENDERS),
                [
                    {
                        "id": uuid.uuid4(),
                        "family_id": family.id,
                        "user_id": parent.id,
                        "relationship_to_child": relationship,
                        "approved": True,
                    }
                    for family, relationship in ((live, "Grandmother"), (gone, "Stepfather"))
                ],
            )
            referral = {
                "centre_id": centre_id,
                "referrer_name": "Priya Shah",
                "referrer_organisation": "Shah & Co",
                "referrer_email": "priya@shah.example",
                "referrer_kind": "solicitor",
                "contact_level": "supervised",
                "channels": ["letters"],
                "received_at": datetime.now(UTC),
                "recorded_by": parent.id,
            }
            parents = [
                {
                    "display_name": "Dana",
                    "email": "dana@x.example",
                    "relationship_to_child": "Mother",
                }
            ]
            await session.execute(
                sa.insert(_REFERRALS),
                [
                    referral
                    | {
                        "id": uuid.uuid4(),
                        "family_id": live.id,
                        "status": "accepted",
                        "court_order_reference": "ZW24C00123",
                        "children": [{"name": "Zephyrine", "birth_year": 2017}],
                        "known_risks_sealed": ring.seal_for_centre(
                            b"Barnaby knows the school", "referral-known-risks"
                        ),
                        "parents_sealed": ring.seal_for_centre(
                            json.dumps(parents).encode(), "referral-parents"
                        ),
                        "risk_terms_sealed": ring.seal_for_centre(
                            b'["Mill Lane"]', "referral-risk-terms"
                        ),
                    },
                    referral
                    | {
                        "id": uuid.uuid4(),
                        "family_id": None,
                        "status": "received",
                        "court_order_reference": "WAITING-1",
                        "children": [{"name": "Ottoline", "birth_year": 2019}],
                        "known_risks_sealed": None,
                        "parents_sealed": None,
                        "risk_terms_sealed": None,
                    },
                ],
            )
            await ring.shred(session, gone.id)
        return live.id, gone.id
    finally:
        await engine.dispose()


async def test_migration_seals_existing_children_with_their_family_key(empty_url: str) -> None:
    ring = KeyRing(MasterKey.generate())
    live, gone = await _families_at_0010(empty_url, ring)
    engine = db.create_engine(empty_url)
    try:
        await db.upgrade(engine, master=ring.master)
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda c: {col["name"] for col in sa.inspect(c).get_columns("children")}
            )
        assert "name" not in columns and "birth_year" not in columns
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda c: {col["name"] for col in sa.inspect(c).get_columns("family_senders")}
            )
        assert "relationship_to_child" not in columns
        async with db.create_sessionmaker(engine)() as session:
            opened = await open_children(session, ring, family_ids=[live, gone])
            assert [(c.family_id, c.name, c.birth_year) for c in opened] == [
                (live, "Albertine", 2014),
                (live, "Zephyrine", 2017),
            ]
            senders = (await session.scalars(select(FamilySender))).all()
            assert {s.family_id for s in senders} == {live, gone}
            (kept,) = [s for s in senders if s.family_id == live]
            assert await open_relationship(session, ring, kept) == "Grandmother"
            referrals = {
                r.family_id: await open_referral(session, ring, r)
                for r in (await session.scalars(select(Referral))).all()
            }
            accepted, waiting = referrals[live], referrals[None]
            assert accepted.court_order_reference == "ZW24C00123"
            assert (accepted.referrer_name, accepted.referrer_email) == (
                "Priya Shah",
                "priya@shah.example",
            )
            assert accepted.children == [{"name": "Zephyrine", "birth_year": 2017}]
            assert accepted.known_risks == "Barnaby knows the school"
            assert accepted.parents[0]["relationship_to_child"] == "Mother"
            assert accepted.risk_terms == ["Mill Lane"]
            assert waiting.court_order_reference == "WAITING-1"
            assert waiting.children == [{"name": "Ottoline", "birth_year": 2019}]
            # Sealed with the family key: shredding the family destroys it.
            await ring.shred(session, live)
            live_referral = await session.scalar(select(Referral).where(Referral.family_id == live))
            assert live_referral is not None
            with pytest.raises(FamilyShredded):
                await open_referral(session, ring, live_referral)
    finally:
        await engine.dispose()
    if empty_url.startswith("sqlite"):
        database = Path(make_url(empty_url).database or "")
        for path in database.parent.iterdir():
            if path.name.startswith(database.name):
                data = path.read_bytes()
                for name in (b"Zephyrine", b"Albertine", b"Quillon", b"Grandmother", b"ZW24C00123"):
                    assert name not in data, f"{name!r} is still in the clear in {path.name}"


async def test_migration_without_the_master_key_refuses_and_names_it(empty_url: str) -> None:
    ring = KeyRing(MasterKey.generate())
    await _families_at_0010(empty_url, ring)
    engine = db.create_engine(empty_url)
    try:
        with pytest.raises(RuntimeError, match="LETTERBOX_MASTER_KEY"):
            await db.upgrade(engine)
        assert await db.current_revision(engine) == "0010"  # nothing half-done
    finally:
        await engine.dispose()
