"""A child's name and year of birth, a sender's relationship to the child and a referral's
details, sealed with the family key (issue 19 part 6).

``children.details_sealed`` holds ``{"name": …, "birth_year": …}`` sealed under the family
key, so crypto-shredding the family destroys them with the rest of its content. Every reader
goes through ``open_children`` (many families at once: one key unwrap per family) or
``open_child``; every writer through ``seal_child``. A shredded family's children are simply
absent from ``open_children`` (lists of families carry on without them); ``open_child`` raises
``FamilyShredded`` so a page about that child says when its content was destroyed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.keyring import FamilyShredded, KeyRing
from storage.keys import MasterKey, WrappedKey
from storage.models import Child, Family, FamilyKey, FamilySender, Referral
from storage.stream import open_bytes, seal_bytes

__all__ = [
    "CHILD_PURPOSE",
    "REFERRAL_PURPOSE",
    "RELATIONSHIP_PURPOSE",
    "ChildFacts",
    "FamilyShredded",
    "ReferralDetails",
    "child_names",
    "court_order_references",
    "names_by_family",
    "open_child",
    "open_children",
    "open_referral",
    "open_relationship",
    "seal_child",
    "seal_child_with_key",
    "seal_referral_for_centre",
    "seal_referral_with_key",
    "seal_relationship",
    "seal_relationship_with_key",
]

CHILD_PURPOSE = "child"


@dataclass(frozen=True, slots=True)
class ChildFacts:
    id: uuid.UUID
    family_id: uuid.UUID
    name: str
    birth_year: int


def seal_child_with_key(key: bytes, family_id: uuid.UUID, name: str, birth_year: int) -> bytes:
    """The sealed details for a family whose key is already in hand (the migration)."""
    plain = json.dumps({"name": name, "birth_year": birth_year}).encode()
    return seal_bytes(key, CHILD_PURPOSE, str(family_id), plain)


async def seal_child(
    session: AsyncSession, keyring: KeyRing, family_id: uuid.UUID, name: str, birth_year: int
) -> bytes:
    key = await keyring.family_key(session, family_id)
    return seal_child_with_key(key, family_id, name, birth_year)


def _open(key: bytes, row: Child) -> ChildFacts:
    facts = json.loads(open_bytes(key, CHILD_PURPOSE, str(row.family_id), row.details_sealed))
    return ChildFacts(row.id, row.family_id, str(facts["name"]), int(facts["birth_year"]))


async def _live_keys(
    session: AsyncSession, master: MasterKey, family_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, bytes]:
    ids = list(set(family_ids))
    keys: dict[uuid.UUID, bytes] = {}
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(FamilyKey.family_id, FamilyKey.master_key_id, FamilyKey.wrapped_key).where(
                FamilyKey.family_id.in_(ids[start : start + 500]),
                FamilyKey.wrapped_key.is_not(None),
            )
        )
        for family_id, key_id, wrapped in rows:
            if wrapped is not None:
                keys[family_id] = master.unwrap(WrappedKey(key_id, wrapped))
    return keys


async def open_children(
    session: AsyncSession,
    keyring: KeyRing,
    *,
    family_ids: Iterable[uuid.UUID] | None = None,
    centre_id: uuid.UUID | None = None,
    child_ids: Iterable[uuid.UUID] | None = None,
) -> list[ChildFacts]:
    """The children of the given families (or of a centre, or the given children), youngest
    last (by year of birth, then name). Children of shredded families are left out."""
    query = select(Child)
    if family_ids is not None:
        ids = list(set(family_ids))
        if not ids:
            return []
        query = query.where(Child.family_id.in_(ids))
    if centre_id is not None:
        query = query.join(Family, Family.id == Child.family_id).where(
            Family.centre_id == centre_id
        )
    if child_ids is not None:
        wanted = list(set(child_ids))
        if not wanted:
            return []
        query = query.where(Child.id.in_(wanted))
    rows = (await session.scalars(query)).all()
    keys = await _live_keys(session, keyring.master, (r.family_id for r in rows))
    out = [_open(keys[r.family_id], r) for r in rows if r.family_id in keys]
    out.sort(key=lambda c: (c.birth_year, c.name, str(c.id)))
    return out


async def open_child(session: AsyncSession, keyring: KeyRing, child: Child) -> ChildFacts:
    """One child's details; ``FamilyShredded`` once the family's key is gone."""
    key = await keyring.family_key(session, child.family_id)
    return _open(key, child)


def names_by_family(children: Iterable[ChildFacts]) -> dict[uuid.UUID, list[str]]:
    out: dict[uuid.UUID, list[str]] = {}
    for c in children:
        out.setdefault(c.family_id, []).append(c.name)
    return out


async def child_names(
    session: AsyncSession, keyring: KeyRing, child_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """Names of the given children (``None`` ids ignored); a shredded family's are absent."""
    wanted = {c for c in child_ids if c is not None}
    if not wanted:
        return {}
    return {c.id: c.name for c in await open_children(session, keyring, child_ids=wanted)}


# --- a sender's relationship to the child -----------------------------------------------

RELATIONSHIP_PURPOSE = "relationship"


def seal_relationship_with_key(key: bytes, family_id: uuid.UUID, relationship: str) -> bytes:
    return seal_bytes(key, RELATIONSHIP_PURPOSE, str(family_id), relationship.encode())


async def seal_relationship(
    session: AsyncSession, keyring: KeyRing, family_id: uuid.UUID, relationship: str
) -> bytes:
    key = await keyring.family_key(session, family_id)
    return seal_relationship_with_key(key, family_id, relationship)


async def open_relationship(session: AsyncSession, keyring: KeyRing, sender: FamilySender) -> str:
    """A sender's relationship to the child; ``FamilyShredded`` once the key is gone."""
    key = await keyring.family_key(session, sender.family_id)
    return open_bytes(
        key, RELATIONSHIP_PURPOSE, str(sender.family_id), sender.relationship_sealed
    ).decode()


# --- a referral's personal details --------------------------------------------------------

REFERRAL_PURPOSE = "referral"


@dataclass(frozen=True, slots=True)
class ReferralDetails:
    """What a referral says about the family: sealed under the centre key while it waits, with
    the family key once it is accepted (a shred then destroys it)."""

    children: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "birth_year"}]
    court_order_reference: str | None = None
    known_risks: str | None = None
    parents: list[dict[str, Any]] = field(default_factory=list)  # display_name, email, rel…
    risk_terms: list[str] = field(default_factory=list)
    # Who referred the family: their name, organisation and e-mail say which case it is.
    referrer_name: str = ""
    referrer_organisation: str = ""
    referrer_email: str = ""

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, plain: bytes) -> ReferralDetails:
        value = json.loads(plain)
        return cls(
            children=list(value.get("children") or []),
            court_order_reference=value.get("court_order_reference"),
            known_risks=value.get("known_risks"),
            parents=list(value.get("parents") or []),
            risk_terms=[str(t) for t in value.get("risk_terms") or []],
            referrer_name=str(value.get("referrer_name") or ""),
            referrer_organisation=str(value.get("referrer_organisation") or ""),
            referrer_email=str(value.get("referrer_email") or ""),
        )


def seal_referral_with_key(key: bytes, family_id: uuid.UUID, details: ReferralDetails) -> bytes:
    return seal_bytes(key, REFERRAL_PURPOSE, str(family_id), details.encode())


def seal_referral_for_centre(keyring: KeyRing, details: ReferralDetails) -> bytes:
    return keyring.seal_for_centre(details.encode(), REFERRAL_PURPOSE)


async def open_referral(
    session: AsyncSession, keyring: KeyRing, referral: Referral
) -> ReferralDetails:
    """A referral's details; ``FamilyShredded`` once its family's key is gone."""
    if referral.family_id is None:
        return ReferralDetails.decode(
            keyring.open_for_centre(referral.details_sealed, REFERRAL_PURPOSE)
        )
    key = await keyring.family_key(session, referral.family_id)
    return ReferralDetails.decode(
        open_bytes(key, REFERRAL_PURPOSE, str(referral.family_id), referral.details_sealed)
    )


async def court_order_references(
    session: AsyncSession, keyring: KeyRing, family_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Each family's court order reference from its latest referral (shredded: none)."""
    ids = list(set(family_ids))
    if not ids:
        return {}
    rows = (
        await session.scalars(
            select(Referral)
            .where(Referral.family_id.in_(ids))
            .order_by(Referral.received_at.desc())
        )
    ).all()
    keys = await _live_keys(session, keyring.master, (r.family_id for r in rows if r.family_id))
    out: dict[uuid.UUID, str] = {}
    for referral in rows:
        family_id = referral.family_id
        if family_id is None or family_id in out or family_id not in keys:
            continue
        plain = open_bytes(
            keys[family_id], REFERRAL_PURPOSE, str(family_id), referral.details_sealed
        )
        reference = ReferralDetails.decode(plain).court_order_reference
        if reference:
            out[family_id] = reference
    return out
