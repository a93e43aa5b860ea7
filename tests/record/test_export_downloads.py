"""Exports from the admin pages, and downloads by referrers: only while their access lasts,
only for their families, and every download is written in the family's record."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update

from service.appkeys import KEYRING, SESSIONMAKER
from service.record import verifier
from storage import record
from storage import recordformat as rf
from storage.models import CentreKey, ContactLevel, RecordEvent, ReferrerAccess, Role
from tests.support.accounts import (
    Person,
    make_person,
)
from tests.support.export_world import SeededFamily, seed_family
from tests.support.exports import OFFICER, post_form_at, sign_in_at_home


async def _events(client: TestClient, family_id: uuid.UUID, kind: str) -> list[RecordEvent]:
    async with client.server.app[SESSIONMAKER]() as session:
        return list(
            (
                await session.scalars(
                    select(RecordEvent)
                    .where(RecordEvent.family_id == family_id, RecordEvent.kind == kind)
                    .order_by(RecordEvent.seq)
                )
            ).all()
        )


async def _grant(client: TestClient, family: SeededFamily, referrer: Person, days: int) -> None:
    async with client.server.app[SESSIONMAKER].begin() as session:
        session.add(
            ReferrerAccess(
                family_id=family.family_id,
                user_id=referrer.user_id,
                granted_by=family.admin_id,
                expires_at=datetime.now(UTC) + timedelta(days=days),
            )
        )


async def _exported_family(client: TestClient) -> tuple[SeededFamily, int]:
    """A family exported through the admin page; returns it and the export's number."""
    app = client.server.app
    family = await seed_family(app[SESSIONMAKER], app[KEYRING], level=ContactLevel.SUPERVISED)
    admin = await make_person(client, Role.ADMIN, family.centre_id)
    csrf = await sign_in_at_home(client, admin)
    path = f"/admin/families/{family.family_id}/exports"
    page = await client.get(path)
    assert page.status == 200 and "Make the export" in await page.text()
    made = await post_form_at(
        client, path, csrf, {"from": "2025-03-01", "to": "2025-03-31", **OFFICER}
    )
    assert made.status == 303, await made.text()
    assert made.headers["Location"].endswith("?done=export-made")
    listed = await (await client.get(made.headers["Location"])).text()
    assert "The export was made." in listed and "Court PDF" in listed
    (event,) = await _events(client, family.family_id, "export_made")
    return family, event.seq


async def test_admin_export_needs_a_named_certifying_officer(client: TestClient) -> None:
    app = client.server.app
    family = await seed_family(app[SESSIONMAKER], app[KEYRING], cycles=1)
    csrf = await sign_in_at_home(client, await make_person(client, Role.ADMIN, family.centre_id))
    path = f"/admin/families/{family.family_id}/exports"
    response = await post_form_at(
        client, path, csrf, {"from": "2025-03-01", "to": "2025-03-31", "officer_role": "Manager"}
    )
    assert response.status == 422
    assert "Enter the certifying officer" in await response.text()
    assert await _events(client, family.family_id, "export_made") == []


async def test_admin_export_form_refuses_backwards_dates(client: TestClient) -> None:
    app = client.server.app
    family = await seed_family(app[SESSIONMAKER], app[KEYRING], cycles=1)
    csrf = await sign_in_at_home(client, await make_person(client, Role.ADMIN, family.centre_id))
    response = await post_form_at(
        client,
        f"/admin/families/{family.family_id}/exports",
        csrf,
        {"from": "2025-03-31", "to": "2025-03-01", **OFFICER},
    )
    assert response.status == 422
    assert "before the start date" in await response.text()
    assert await _events(client, family.family_id, "export_made") == []


async def test_referrer_with_access_downloads_and_each_download_is_recorded(
    client: TestClient,
) -> None:
    family, seq = await _exported_family(client)
    referrer = await make_person(client, Role.REFERRER, family.centre_id)
    await _grant(client, family, referrer, days=30)
    csrf = await sign_in_at_home(client, referrer)
    listing = await client.get(f"/referrer/families/{family.family_id}/exports")
    assert listing.status == 200
    assert f"/exports/{seq}/pdf" in await listing.text()

    base = f"/referrer/families/{family.family_id}/exports/{seq}"
    pdf_response = await post_form_at(client, f"{base}/pdf", csrf)
    assert pdf_response.status == 200
    assert pdf_response.content_type == "application/pdf"
    assert "attachment" in pdf_response.headers["Content-Disposition"]
    pdf = await pdf_response.read()
    assert pdf.startswith(b"%PDF-")
    assert len(await _events(client, family.family_id, "export_downloaded")) == 1

    bundle_response = await post_form_at(client, f"{base}/bundle", csrf)
    assert bundle_response.status == 200 and bundle_response.content_type == "application/zip"
    bundle = await bundle_response.read()
    again = await post_form_at(client, f"{base}/pdf", csrf)
    assert await again.read() == pdf

    downloads = await _events(client, family.family_id, "export_downloaded")
    assert len(downloads) == 3, "every download is one record event"
    assert {d.actor_id for d in downloads} == {referrer.user_id}
    assert all(d.actor_role == "referrer" for d in downloads)
    files = [rf.parse_canonical(d.payload) for d in downloads]
    assert [f["file"] for f in files] == ["pdf", "bundle", "pdf"]
    assert files[0]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert all(f["export_seq"] == seq for f in files)
    # What the referrer got is the genuine, verifiable export.
    verdict = verifier.verify_bundle(bundle, pdf=pdf)
    (made,) = await _events(client, family.family_id, "export_made")
    assert verdict.digest == rf.parse_canonical(made.payload)["record_digest"]
    assert "3" in await (await client.get(f"/referrer/families/{family.family_id}/exports")).text()
    # The referrer's page shows the centre's fingerprint, and it is the key that signed.
    page = await (await client.get(f"/referrer/families/{family.family_id}/exports")).text()
    assert verdict.key_fingerprint in page


async def test_centre_key_is_published_at_a_public_well_known_address(
    client: TestClient,
) -> None:
    await _exported_family(client)
    client.session.cookie_jar.clear()
    response = await client.get("/.well-known/letterbox-record-key")
    assert response.status == 200
    text = await response.text()
    async with client.server.app[SESSIONMAKER]() as session:
        public_key = await record.load_public_key(session, client.server.app[KEYRING])
    assert f"fingerprint (SHA-256): {rf.key_fingerprint(public_key)}" in text
    assert verifier.parse_public_key(text.split("\n\n", 1)[1].encode()) == public_key


async def test_well_known_key_is_withheld_when_the_stored_public_key_was_swapped(
    client: TestClient,
) -> None:
    # Someone with database access swaps in their own public key: the key ring no longer
    # opens the private half under it, so the centre refuses to publish it.
    await _exported_family(client)
    impostor = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(CentreKey)
            .where(CentreKey.name == record.SIGNING_KEY_NAME)
            .values(public_key=impostor)
        )
    response = await client.get("/.well-known/letterbox-record-key")
    assert response.status == 503
    assert rf.key_fingerprint(impostor) not in await response.text()


async def test_referrer_without_access_or_after_expiry_gets_not_found(client: TestClient) -> None:
    family, seq = await _exported_family(client)
    stranger = await make_person(client, Role.REFERRER, family.centre_id)
    csrf = await sign_in_at_home(client, stranger)
    base = f"/referrer/families/{family.family_id}/exports"
    assert (await client.get(base)).status == 404
    assert (await post_form_at(client, f"{base}/{seq}/pdf", csrf)).status == 404

    expired = await make_person(client, Role.REFERRER, family.centre_id)
    await _grant(client, family, expired, days=30)
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(ReferrerAccess)
            .where(ReferrerAccess.user_id == expired.user_id)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    csrf = await sign_in_at_home(client, expired)
    assert (await client.get(base)).status == 404
    assert (await post_form_at(client, f"{base}/{seq}/bundle", csrf)).status == 404
    assert await _events(client, family.family_id, "export_downloaded") == []


async def test_referrer_cannot_download_another_familys_export_through_their_own(
    client: TestClient,
) -> None:
    family, seq = await _exported_family(client)
    other, _ = await _exported_family(client)
    referrer = await make_person(client, Role.REFERRER, other.centre_id)
    await _grant(client, other, referrer, days=30)
    csrf = await sign_in_at_home(client, referrer)
    # Their own family in the path, the other family's export number: not found.
    response = await post_form_at(
        client, f"/referrer/families/{other.family_id}/exports/{seq}/pdf", csrf
    )
    assert response.status == 404
    assert await _events(client, family.family_id, "export_downloaded") == []
    assert await _events(client, other.family_id, "export_downloaded") == []


async def test_parent_and_other_centre_staff_cannot_download(client: TestClient) -> None:
    family, seq = await _exported_family(client)
    parent = await make_person(client, Role.PARENT, family.centre_id)
    csrf = await sign_in_at_home(client, parent)
    referrer_path = f"/referrer/families/{family.family_id}/exports/{seq}/pdf"
    admin_path = f"/admin/families/{family.family_id}/exports/{seq}/pdf"
    assert (await post_form_at(client, referrer_path, csrf)).status == 403
    assert (await post_form_at(client, admin_path, csrf)).status == 403

    other = await seed_family(client.server.app[SESSIONMAKER], client.server.app[KEYRING], cycles=1)
    for role in (Role.STAFF, Role.ADMIN):
        outsider = await make_person(client, role, other.centre_id)
        csrf = await sign_in_at_home(client, outsider)
        status = (await post_form_at(client, admin_path, csrf)).status
        assert status == (404 if role is Role.ADMIN else 403)
        assert (await client.get(f"/admin/families/{family.family_id}/exports")).status in (
            403,
            404,
        )
    async with client.server.app[SESSIONMAKER]() as session:
        downloads = await session.scalar(
            select(func.count())
            .select_from(RecordEvent)
            .where(RecordEvent.kind == "export_downloaded")
        )
    assert downloads == 0
