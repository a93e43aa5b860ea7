"""The JSON API: the same operations as the admin pages, the one error shape, and an OpenAPI
document that matches the route table both ways."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.api.routes import OPENAPI_PATH, PREFIX
from service.appkeys import ACCESS_RULES
from storage.models import Family, RecordEvent, Role, User
from tests.support.accounts import ORIGIN
from tests.support.centre import admin_of_new_centre, all_of, one, sign_in_as

REFERRAL = {
    "referrer_name": "Dana Okafor",
    "referrer_organisation": "Northshire Children's Services",
    "referrer_email": "dana@northshire.example",
    "referrer_kind": "social_worker",
    "contact_level": "supported",
    "channels": ["letters", "photos"],
    "children": [{"name": "Noor", "birth_year": 2015}],
    "known_risks": "None known.",
}


def _api_routes(client: TestClient) -> set[tuple[str, str]]:
    app = client.server.app
    found = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method in ("HEAD", "OPTIONS"):
            continue
        if resource.canonical.startswith(PREFIX + "/"):
            assert route in app[ACCESS_RULES]
            found.add((route.method, resource.canonical))
    return found


async def test_openapi_document_and_route_table_match_both_ways(client: TestClient) -> None:
    await sign_in_as(client, Role.STAFF)
    response = await client.get(OPENAPI_PATH)
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = _api_routes(client)
    assert served - documented == set(), "routes missing from the OpenAPI document"
    assert documented - served == set(), "documented operations that are not served"
    # Every schema reference resolves.
    text = await response.text()
    for ref in set(re.findall(r'"#/components/schemas/(\w+)"', text)):
        assert ref in document["components"]["schemas"], ref
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


async def test_api_records_accepts_and_invites_with_the_same_domain_functions(
    client: TestClient,
) -> None:
    admin = await admin_of_new_centre(client)
    response = await admin.api("POST", f"{PREFIX}/referrals", REFERRAL)
    assert response.status == 201, await response.text()
    referral = await response.json()
    assert referral["status"] == "received" and referral["known_risks"] == "None known."

    response = await admin.api("POST", f"{PREFIX}/referrals/{referral['id']}/accept")
    assert response.status == 201, await response.text()
    family = await response.json()
    assert family["case_reference"] == f"LB-{datetime.now(UTC).year}-0001"
    assert family["children"][0]["name"] == "Noor"

    base = f"{PREFIX}/families/{family['id']}"
    response = await admin.api(
        "POST",
        base + "/parents",
        {"email": "sam@example.org", "display_name": "Sam", "relationship_to_child": "Mother"},
    )
    assert response.status == 201, await response.text()
    assert (await response.json())["account_status"] == "invited"

    response = await admin.api("PATCH", base, {"status": "paused"})
    assert response.status == 200
    assert (await response.json())["status"] == "paused"

    response = await admin.api("POST", base + "/sensitive-terms", {"term": "Hillcrest Academy"})
    assert response.status == 201
    term = await response.json()
    response = await admin.api("DELETE", base + f"/sensitive-terms/{term['id']}")
    assert response.status == 204

    kinds = [e.kind for e in await all_of(client, select(RecordEvent).order_by(RecordEvent.seq))]
    assert kinds == [
        "family_created",
        "referrer_access_granted",
        "sender_approved",
        "family_changed",
        "family_changed",
        "family_changed",
    ]
    assert await one(client, select(User).where(User.email == "sam@example.org"))


async def test_api_problems_name_the_field_in_the_one_error_shape(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    bad = {**REFERRAL, "children": [{"name": "Noor", "birth_year": "soon"}], "extra": 1}
    response = await admin.api("POST", f"{PREFIX}/referrals", bad)
    assert response.status == 422
    body = await response.json()
    assert body["error"] == "invalid"
    assert body["field"] in ("extra", "children.0.birth_year")
    assert await all_of(client, select(Family)) == []


async def test_api_changes_need_the_csrf_token(client: TestClient) -> None:
    await admin_of_new_centre(client)
    response = await client.post(f"{PREFIX}/referrals", json=REFERRAL, headers={"Origin": ORIGIN})
    assert response.status == 403
    assert (await response.json())["error"] == "csrf_failed"


async def test_api_is_for_admins_only(client: TestClient) -> None:
    staff = await sign_in_as(client, Role.STAFF)
    response = await staff.api("GET", f"{PREFIX}/families")
    assert response.status == 403
    assert set(await response.json()) == {"error", "message"}
