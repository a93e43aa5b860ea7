"""Issue 20 in the JSON API: the plan, reports and concerns through the same domain
functions and access rules as the pages, and in the OpenAPI document."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.support.call_api import add_referrer, api
from tests.support.calls import make_world
from tests.support.reports import REPORT, ended_call


async def test_the_plan_reports_and_concerns_work_through_the_api_with_the_pages_rules(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    plan_path = f"/api/v1/families/{world.family_id}/plan"
    body = {"starts_on": "2026-09-01", "letters_every": 1, "letters_unit": "months"}
    response = await api(client, world, "staff", "PUT", plan_path, body)
    assert response.status == 200, await response.text()
    plan = await response.json()
    assert plan["has_plan"] and plan["channels"][0]["words"] == "A letter every month"
    bad = await api(client, world, "staff", "PUT", plan_path, {**body, "letters_unit": "years"})
    assert bad.status == 422 and (await bad.json())["error"] == "invalid"
    assert (await api(client, world, "parent", "GET", plan_path)).status == 403
    overdue = await api(client, world, "admin", "GET", "/api/v1/plan/overdue")
    assert overdue.status == 200 and isinstance(await overdue.json(), list)

    call_id = await ended_call(app, world)
    written = await api(
        client, world, "supervisor", "POST", f"/api/v1/calls/{call_id}/report", REPORT
    )
    assert written.status == 201, await written.text()
    report = await written.json()
    assert report["status"] == "submitted" and report["boxes"][1]["text"] == REPORT["aim"]
    check = f"/api/v1/families/{world.family_id}/reports/{report['id']}/check"
    same = await api(client, world, "supervisor", "POST", check, {"decision": "approve"})
    assert same.status == 403  # the author cannot check their own report
    approved = await api(client, world, "staff", "POST", check, {"decision": "approve"})
    assert approved.status == 200 and (await approved.json())["sha256"]

    raised = await api(
        client, world, "staff", "POST", f"/api/v1/calls/{call_id}/concern", {"what": "A worry."}
    )
    assert raised.status == 201, await raised.text()
    listed = await api(client, world, "admin", "GET", "/api/v1/concerns")
    assert [c["source"] for c in await listed.json()] == ["call"]
    await add_referrer(client, world)
    assert (await api(client, world, "referrer", "GET", "/api/v1/concerns")).status == 403
    assert (await api(client, world, "parent", "GET", "/api/v1/concerns")).status == 403


async def test_the_openapi_document_lists_the_new_operations(client: TestClient) -> None:
    world = await make_world(client.server.app)
    response = await api(client, world, "staff", "GET", "/api/v1/openapi.json")
    document = await response.json()
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {
        "getPlan",
        "setPlan",
        "listOverdueContact",
        "writeReport",
        "checkReport",
        "raiseConcernAboutItem",
        "listConcerns",
    } <= operations
