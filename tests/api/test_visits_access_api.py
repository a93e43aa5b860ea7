"""Issue 20 in the JSON API, continued: in-centre visits, subject access and retention
through the same domain functions and access rules as their pages, and in the OpenAPI
document with their schemas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.api import visits_access
from service.api.routes import ROUTES
from service.appkeys import KEYRING, SESSIONMAKER
from service.subjectaccess.requests import BLACKED_OUT
from storage.models import ContactLevel, RecordEvent
from tests.support.call_api import api
from tests.support.calls import CallWorld, make_world
from tests.support.families import set_children_born
from tests.support.letterbox_world import Person, send_letter
from tests.support.letterbox_world import make_world as letterbox_world
from tests.support.seeding import seeding_sessionmaker

UK = ZoneInfo("Europe/London")


async def _kinds(client: TestClient, world_family: Any, prefix: str) -> list[str]:
    async with client.server.app[SESSIONMAKER]() as session:
        return list(
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.family_id == world_family, RecordEvent.kind.like(prefix + "%"))
                .order_by(RecordEvent.seq)
            )
        )


async def _refused(response: ClientResponse, status: int, field: str | None = None) -> None:
    body = await response.json()
    assert response.status == status, body
    if field is not None:
        assert body["field"] == field, body


# --- visits --------------------------------------------------------------------------------


async def test_visits_are_booked_and_attended_through_the_api_with_the_pages_rules(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    base = f"/api/v1/families/{world.family_id}/visits"
    handover = {"kind": "handover", "planned_at": "2026-12-05T10:00", "stagger_minutes": 20}
    booked = await api(client, world, "staff", "POST", base, handover)
    assert booked.status == 201, await booked.text()
    visit = await booked.json()
    resident = datetime.fromisoformat(visit["resident_due"])
    visiting = datetime.fromisoformat(visit["visiting_due"])
    assert resident == datetime(2026, 12, 5, 10, 0, tzinfo=UK)
    assert visiting - resident == timedelta(minutes=20)

    # A time with its zone is the same moment in centre time (10:00 BST is 09:00 UTC).
    summer = {"kind": "session", "planned_at": "2026-07-01T09:00Z"}
    session = await (await api(client, world, "admin", "POST", base, summer)).json()
    assert datetime.fromisoformat(session["planned_at"]) == datetime(2026, 7, 1, 9, tzinfo=UTC)

    for bad, field in (
        ({**handover, "stagger_minutes": 3}, "stagger_minutes"),
        ({**handover, "planned_at": "next Saturday"}, "planned_at"),
        ({"kind": "pre_visit", "planned_at": "2026-12-05T10:00"}, "party"),
        ({"kind": "picnic", "planned_at": "2026-12-05T10:00"}, "kind"),
    ):
        await _refused(await api(client, world, "staff", "POST", base, bad), 422, field)

    attendance = f"{base}/{visit['id']}/attendance"
    times = {
        "resident_arrived": "09:55",
        "child_arrived": "09:55",
        "resident_left": "10:05",
        "visiting_arrived": "10:20",
        "notes": "Sam settled quickly.",
    }
    recorded = await api(client, world, "staff", "PUT", attendance, times)
    assert recorded.status == 200, await recorded.text()
    after = await recorded.json()
    assert datetime.fromisoformat(after["visiting_arrived"]) == datetime(
        2026, 12, 5, 10, 20, tzinfo=UK
    )
    assert after["child_left"] is None and after["has_notes"] and not after["adults_met"]
    await _refused(
        await api(client, world, "staff", "PUT", attendance, {"child_left": "half past"}),
        422,
        "child_left",
    )

    listed = await (await api(client, world, "staff", "GET", base)).json()
    assert listed["supervised"] and [v["id"] for v in listed["visits"]] == [
        visit["id"],
        session["id"],
    ]
    assert await _kinds(client, world.family_id, "visit_") == [
        "visit_booked",
        "visit_booked",
        "visit_attendance",
    ]

    # The pages' rule: staff and admins of the family's centre, nobody else.
    for who in ("parent", "other_parent", "supervisor"):
        await _refused(await api(client, world, who, "GET", base), 403)
        await _refused(await api(client, world, who, "PUT", attendance, times), 403)
    other = await make_world(app)
    await _refused(await api(client, other, "staff", "GET", base), 404)
    await _refused(await api(client, other, "staff", "POST", base, handover), 404)
    # A visit of another family is not found through this family.
    theirs = await (
        await api(
            client, other, "staff", "POST", f"/api/v1/families/{other.family_id}/visits", handover
        )
    ).json()
    wrong = f"{base}/{theirs['id']}/attendance"
    await _refused(await api(client, world, "staff", "PUT", wrong, times), 404)


async def test_a_supported_familys_visit_keeps_times_but_refuses_notes_naming_the_field(
    client: TestClient,
) -> None:
    world = await make_world(client.server.app, level=ContactLevel.SUPPORTED)
    base = f"/api/v1/families/{world.family_id}/visits"
    body = {"kind": "session", "planned_at": "2026-12-05T10:00"}
    visit = await (await api(client, world, "staff", "POST", base, body)).json()
    attendance = f"{base}/{visit['id']}/attendance"
    with_notes = {"child_arrived": "10:00", "notes": "Sam cried."}
    refused = await api(client, world, "staff", "PUT", attendance, with_notes)
    await _refused(refused, 403, "notes")
    assert (await refused.json())["error"] == "supported_contact"
    kept = await api(client, world, "staff", "PUT", attendance, {"child_arrived": "10:00"})
    assert kept.status == 200 and not (await kept.json())["has_notes"]
    listed = await (await api(client, world, "staff", "GET", base)).json()
    assert not listed["supervised"] and listed["visits"][0]["child_arrived"] is not None


# --- subject access ------------------------------------------------------------------------


async def _as(client: TestClient, person: Person, method: str, path: str, body: Any = None) -> Any:
    return await client.request(method, path, json=body, headers=person.headers())


async def test_subject_access_is_started_reviewed_released_and_downloaded_through_the_api(
    client: TestClient,
) -> None:
    world = await letterbox_world(client, terms=["Oakfield Primary"])
    status, _ = await send_letter(
        client, world, "Dear Sam, see you at Oakfield Primary. Ring me on 07700 900123."
    )
    assert status == 201
    base = f"/api/v1/families/{world.family_id}/subject-access"
    child = {"kind": "child", "person_id": str(world.child_id)}

    # Only an admin of the centre starts one (the page's rule); errors name the field.
    await _refused(await _as(client, world.staff, "POST", base, child), 403)
    await _refused(await _as(client, world.parent, "POST", base, child), 403)
    other = await letterbox_world(client)
    await _refused(await _as(client, other.admin, "POST", base, child), 404)
    await _refused(await _as(client, other.admin, "GET", base), 404)
    await _refused(
        await _as(client, world.admin, "POST", base, {"kind": "child"}), 422, "person_id"
    )
    await _refused(
        await _as(client, world.admin, "POST", base, {**child, "kind": "cousin"}), 422, "kind"
    )
    stranger = {"kind": "parent", "person_id": str(world.staff.user_id)}
    await _refused(await _as(client, world.admin, "POST", base, stranger), 404)

    listing = await (await _as(client, world.admin, "GET", base)).json()
    assert {(p["kind"], p["person_id"]) for p in listing["people"]} == {
        ("child", str(world.child_id)),
        ("parent", str(world.parent.user_id)),
    }
    started = await _as(client, world.admin, "POST", base, child)
    assert started.status == 201, await started.text()
    material = await started.json()
    assert material["status"] == "in_review" and material["subject"]["name"] == "Sam"
    due = datetime.fromisoformat(material["due_on"]).date()
    assert 28 <= (due - datetime.now(UK).date()).days <= 31
    parts = {p["words"]: p for s in material["sections"] for e in s["entries"] for p in e["parts"]}
    assert "07700 900123" in parts and any("Oakfield" in words for words in parts)
    listing = await (await _as(client, world.admin, "GET", base)).json()
    assert [r["id"] for r in listing["requests"]] == [material["id"]]

    one = f"{base}/{material['id']}"
    # A moderator reviews, as on the page; a parent and another centre reach nothing.
    await _refused(await _as(client, world.parent, "GET", one), 403)
    await _refused(await _as(client, other.admin, "GET", one), 404)
    review = await _as(client, world.staff, "GET", one)
    assert review.status == 200
    phone = f"{one}/parts/{parts['07700 900123']['key']}"
    await _refused(await _as(client, world.staff, "POST", phone, {"choice": "show"}), 422, "reason")
    await _refused(
        await _as(client, world.staff, "POST", phone, {"choice": "show", "reason": "x" * 501}),
        422,
        "reason",
    )
    await _refused(await _as(client, world.parent, "POST", phone, {"choice": "show"}), 403)
    await _refused(
        await _as(client, world.staff, "POST", f"{one}/parts/s999", {"choice": "black_out"}), 404
    )
    shown = await _as(
        client, world.staff, "POST", phone, {"choice": "show", "reason": "It is his own number"}
    )
    assert shown.status == 200, await shown.text()
    decided = {
        p["key"]: p
        for s in (await shown.json())["sections"]
        for e in s["entries"]
        for p in e["parts"]
    }
    assert decided[parts["07700 900123"]["key"]]["reason"] == "It is his own number"

    # Nothing leaves before the release.
    await _refused(await _as(client, world.admin, "GET", f"{one}/pdf"), 404)
    await _refused(await _as(client, world.admin, "GET", f"{one}/copy"), 404)
    released = await _as(client, world.staff, "POST", f"{one}/release", {"reveal": []})
    assert released.status == 200 and (await released.json())["status"] == "released"
    await _refused(await _as(client, world.staff, "POST", f"{one}/release", {}), 409)

    copy = await (await _as(client, world.admin, "GET", f"{one}/copy")).json()
    words = " ".join(e["words"] or "" for s in copy["sections"] for e in s["entries"])
    assert f"see you at {BLACKED_OUT}" in words and "07700 900123" in words
    assert "Oakfield" not in words and copy["subject"]["name"] == "Sam"
    pdf = await _as(client, world.staff, "GET", f"{one}/pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert (await pdf.read()).startswith(b"%PDF")
    await _refused(await _as(client, world.parent, "GET", f"{one}/pdf"), 403)
    await _refused(await _as(client, other.staff, "GET", f"{one}/copy"), 404)
    assert await _kinds(client, world.family_id, "subject_access_") == [
        "subject_access_started",
        "subject_access_span_decided",
        "subject_access_released",
    ]


# --- retention -----------------------------------------------------------------------------


async def _born(client: TestClient, world: CallWorld, year: int) -> None:
    app = client.server.app
    await set_children_born(seeding_sessionmaker(app), app[KEYRING], world.family_id, year)


async def test_retention_rules_holds_default_and_warnings_through_the_api_for_admins_only(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    await _born(client, world, 1990)  # the youngest was 25 long ago: due, so on the warnings
    mine = f"/api/v1/families/{world.family_id}/retention"
    read = await (await api(client, world, "admin", "GET", mine)).json()
    assert read["due_on"] == "2016-01-01" and read["warning"] and read["overdue"]
    assert read["own_kind"] is None and "(centre default)" in read["rule"]
    warnings = await (await api(client, world, "admin", "GET", "/api/v1/retention/warnings")).json()
    assert [w["family_id"] for w in warnings] == [str(world.family_id)]

    held = await api(client, world, "admin", "PUT", mine + "/legal-hold", {"legal_hold": True})
    assert held.status == 200 and (await held.json())["legal_hold"]
    assert not (await held.json())["warning"]
    assert (
        await (await api(client, world, "admin", "GET", "/api/v1/retention/warnings")).json() == []
    )

    rule = {"kind": "years_after_closure", "years": 7, "legal_hold": True}
    changed = await (await api(client, world, "admin", "PUT", mine, rule)).json()
    assert changed["own_kind"] == "years_after_closure" and changed["own_years"] == 7
    assert changed["due_on"] is None  # the case is still open
    # Releasing the hold keeps the family's own rule.
    released = await api(client, world, "admin", "PUT", mine + "/legal-hold", {"legal_hold": False})
    body = await released.json()
    assert not body["legal_hold"] and body["own_kind"] == "years_after_closure"
    everyone = await (await api(client, world, "admin", "GET", "/api/v1/retention")).json()
    assert str(world.family_id) in {f["family_id"] for f in everyone}
    assert await _kinds(client, world.family_id, "retention_") == ["retention_changed"] * 3

    for bad, field in (
        ({"kind": "years_after_closure", "legal_hold": False}, "years"),
        ({"kind": "forever", "legal_hold": False}, "kind"),
        ({"kind": "years_after_closure", "years": 0, "legal_hold": False}, "years"),
        ({"kind": None}, "legal_hold"),
    ):
        await _refused(await api(client, world, "admin", "PUT", mine, bad), 422, field)

    centre = "/api/v1/centre/retention"
    default = await (await api(client, world, "admin", "GET", centre)).json()
    assert default == {"kind": "youngest_25", "years": 6}
    new = {"kind": "years_after_closure", "years": 10}
    assert await (await api(client, world, "admin", "PUT", centre, new)).json() == new
    assert await (await api(client, world, "admin", "GET", centre)).json() == new
    await _refused(
        await api(client, world, "admin", "PUT", centre, {**new, "years": 101}), 422, "years"
    )

    # Admins only, of the family's own centre.
    for who in ("staff", "supervisor", "parent"):
        await _refused(await api(client, world, who, "GET", mine), 403)
        await _refused(
            await api(client, world, who, "PUT", mine + "/legal-hold", {"legal_hold": True}), 403
        )
        await _refused(await api(client, world, who, "GET", "/api/v1/retention/warnings"), 403)
        await _refused(await api(client, world, who, "PUT", centre, new), 403)
    other = await make_world(app)
    await _refused(await api(client, other, "admin", "GET", mine), 404)
    await _refused(await api(client, other, "admin", "PUT", mine, rule), 404)
    theirs = await (await api(client, other, "admin", "GET", "/api/v1/retention")).json()
    assert str(world.family_id) not in {f["family_id"] for f in theirs}
    assert await (await api(client, other, "admin", "GET", centre)).json() == default


# --- the document --------------------------------------------------------------------------


async def test_the_openapi_document_lists_every_new_route_with_its_schemas(
    client: TestClient,
) -> None:
    world = await make_world(client.server.app)
    document = await (await api(client, world, "staff", "GET", "/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]
    new = [r for r in ROUTES if r.call.__module__ == visits_access.__name__]
    assert len(new) == 17
    for route in new:
        operation = document["paths"][route.full_path][route.method.lower()]
        assert operation["operationId"] == route.operation_id
        if route.body is not None:
            assert schemas[route.body.__name__]["properties"], route.operation_id
        if route.response is not None:
            ok = operation["responses"][str(route.status)]["content"]["application/json"]
            assert route.response.__name__ in str(ok["schema"]), route.operation_id
            assert schemas[route.response.__name__]["properties"]
    pdf = document["paths"]["/api/v1/families/{family_id}/subject-access/{request_id}/pdf"]
    assert "application/pdf" in pdf["get"]["responses"]["200"]["content"]
    part = document["paths"][
        "/api/v1/families/{family_id}/subject-access/{request_id}/parts/{part}"
    ]["post"]
    kinds = {p["name"]: p["schema"].get("format") for p in part["parameters"]}
    assert kinds == {"family_id": "uuid", "request_id": "uuid", "part": None}
    visit = schemas["VisitInput"]["properties"]
    assert visit["stagger_minutes"]["minimum"] == 5 and set(visit["party"]["enum"]) == {
        "resident",
        "visiting",
        "child",
    }
