"""Calls in the JSON API: the same domain functions and rules as the booking pages, the one
error shape naming the field, and an OpenAPI document the answers validate against."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from service.api.routes import OPENAPI_PATH, PREFIX
from service.appkeys import SESSIONMAKER, SETTINGS
from storage.models import Call, CallStatus, RecordEvent
from tests.support.call_api import add_referrer, api
from tests.support.calls import CallWorld, book_call, make_world

CALL_OPERATIONS = {
    ("get", "/api/v1/calls"): "listCalls",
    ("post", "/api/v1/families/{family_id}/calls"): "scheduleCall",
    ("get", "/api/v1/calls/{call_id}"): "getCall",
    ("put", "/api/v1/calls/{call_id}"): "changeCall",
    ("post", "/api/v1/calls/{call_id}/cancel"): "cancelCall",
}


def window(days: float, minutes: int = 45) -> tuple[str, str]:
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=days)
    return starts.isoformat(), (starts + timedelta(minutes=minutes)).isoformat()


def plan(world: CallWorld, days: float = 2, minutes: int = 45) -> dict[str, Any]:
    starts_at, ends_at = window(days, minutes)
    return {
        "child_id": str(world.child_id),
        "supervisor_id": str(world.users["supervisor"]),
        "starts_at": starts_at,
        "ends_at": ends_at,
    }


def subjects(client: TestClient) -> list[str]:
    folder: Path = client.server.app[SETTINGS].outbox_dir
    return [
        str(message_from_bytes(p.read_bytes())["Subject"]) for p in sorted(folder.glob("*.eml"))
    ]


async def kinds(client: TestClient) -> list[str]:
    async with client.server.app[SESSIONMAKER]() as session:
        return list(
            (await session.scalars(select(RecordEvent.kind).order_by(RecordEvent.seq))).all()
        )


async def calls_in_db(client: TestClient) -> list[Call]:
    async with client.server.app[SESSIONMAKER]() as session:
        return list((await session.scalars(select(Call))).all())


async def test_staff_schedule_read_list_change_and_cancel_a_call_through_the_api(
    client: TestClient,
) -> None:
    world = await make_world(client.server.app)
    families = f"{PREFIX}/families/{world.family_id}/calls"
    booked = plan(world)
    response = await api(client, world, "staff", "POST", families, booked)
    assert response.status == 201, await response.text()
    call = await response.json()
    assert call["status"] == "scheduled" and call["version"] == 1
    assert call["family_id"] == str(world.family_id)
    assert call["child_id"] == str(world.child_id) and call["child_name"] == "Sam"
    assert datetime.fromisoformat(call["starts_at"]) == datetime.fromisoformat(booked["starts_at"])

    response = await api(client, world, "supervisor", "GET", f"{PREFIX}/calls/{call['id']}")
    assert response.status == 200
    assert (await response.json())["supervisor_id"] == str(world.users["supervisor"])
    response = await api(client, world, "admin", "GET", f"{PREFIX}/calls")
    assert [c["id"] for c in await response.json()] == [call["id"]]

    moved = plan(world, days=3, minutes=30) | {"version": call["version"]}
    response = await api(client, world, "admin", "PUT", f"{PREFIX}/calls/{call['id']}", moved)
    assert response.status == 200, await response.text()
    changed = await response.json()
    assert changed["version"] == 2
    assert datetime.fromisoformat(changed["ends_at"]) == datetime.fromisoformat(moved["ends_at"])

    cancel = {"reason": "centre_unavailable", "version": 2}
    response = await api(
        client, world, "staff", "POST", f"{PREFIX}/calls/{call['id']}/cancel", cancel
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["status"] == "cancelled"

    response = await api(client, world, "staff", "GET", f"{PREFIX}/calls")
    assert await response.json() == []  # over: no longer upcoming
    response = await api(client, world, "staff", "GET", f"{PREFIX}/calls/{call['id']}")
    assert (await response.json())["status"] == "cancelled"  # but still readable
    assert [k for k in await kinds(client) if k.startswith("call_")] == [
        "call_scheduled",
        "call_changed",
        "call_cancelled",
    ]
    assert subjects(client)[:3] == [
        "A video call has been booked",
        "A video call has changed",
        "A video call has been cancelled",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"supervisor_id": None}, "supervisor_id"),
        ({"child_id": "Sam"}, "child_id"),
        ({"child_id": str(uuid.uuid4())}, "child_id"),
        ({"starts_at": "2030-05-01T14:00"}, "starts_at"),  # no time zone
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"ends_at": "+5 minutes"}, "ends_at"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_api_booking_problems_name_the_field_and_book_nothing(
    client: TestClient, change: dict[str, Any], field: str
) -> None:
    world = await make_world(client.server.app)
    body = {k: v for k, v in (plan(world) | change).items() if v is not None}
    response = await api(
        client, world, "staff", "POST", f"{PREFIX}/families/{world.family_id}/calls", body
    )
    assert response.status == 422, await response.text()
    problem = await response.json()
    assert problem["error"] == "invalid" and problem["field"] == field, problem
    assert problem["message"]
    assert await calls_in_db(client) == []
    assert subjects(client) == []


async def test_api_domain_rules_name_the_field(client: TestClient) -> None:
    world = await make_world(client.server.app)
    path = f"{PREFIX}/families/{world.family_id}/calls"
    cases = [
        (plan(world, minutes=5), "ends_at"),  # shorter than 10 minutes
        (plan(world, days=-1), "starts_at"),  # in the past
        (plan(world) | {"supervisor_id": str(world.users["staff"])}, "supervisor_id"),
    ]
    for body, field in cases:
        response = await api(client, world, "staff", "POST", path, body)
        assert response.status == 422
        assert (await response.json())["field"] == field
    call_id = await book_call(client.server.app, world, starts_in=timedelta(days=1))
    cancel = f"{PREFIX}/calls/{call_id}/cancel"
    response = await api(client, world, "staff", "POST", cancel, {"reason": "bored", "version": 1})
    assert response.status == 422
    problem = await response.json()
    assert problem["field"] == "reason" and "parent_unavailable" in problem["message"]
    response = await api(client, world, "staff", "POST", cancel, {"reason": "booked_in_error"})
    assert (await response.json())["field"] == "version"


async def test_api_change_of_a_stale_version_is_refused_with_a_conflict(
    client: TestClient,
) -> None:
    world = await make_world(client.server.app)
    call_id = await book_call(client.server.app, world, starts_in=timedelta(days=1))
    path = f"{PREFIX}/calls/{call_id}"
    response = await api(client, world, "staff", "PUT", path, plan(world) | {"version": 1})
    assert response.status == 200
    response = await api(client, world, "admin", "PUT", path, plan(world, 4) | {"version": 1})
    assert response.status == 409
    assert (await response.json())["error"] == "conflict"
    response = await api(client, world, "staff", "GET", path)
    assert (await response.json())["version"] == 2


async def test_parent_referrer_and_supervisor_cannot_book_change_or_cancel(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    await add_referrer(client, world)
    call_id = await book_call(app, world, starts_in=timedelta(days=1))
    for who in ("parent", "other_parent", "referrer", "supervisor"):
        attempts = [
            ("POST", f"{PREFIX}/families/{world.family_id}/calls", plan(world)),
            ("PUT", f"{PREFIX}/calls/{call_id}", plan(world, 3) | {"version": 1}),
            (
                "POST",
                f"{PREFIX}/calls/{call_id}/cancel",
                {"reason": "booked_in_error", "version": 1},
            ),
        ]
        for method, path, body in attempts:
            response = await api(client, world, who, method, path, body)
            assert response.status == 403, (who, method, path, response.status)
            assert set(await response.json()) == {"error", "message"}
    for who in ("parent", "other_parent", "referrer"):
        for path in (f"{PREFIX}/calls", f"{PREFIX}/calls/{call_id}"):
            response = await api(client, world, who, "GET", path)
            assert response.status == 403, (who, path)
    calls = await calls_in_db(client)
    assert [(c.status, c.version) for c in calls] == [(CallStatus.SCHEDULED, 1)]
    assert subjects(client) == []


async def test_another_centre_cannot_see_or_touch_the_familys_calls(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    other = await make_world(app)  # another centre, with its own admin and staff
    call_id = await book_call(app, world, starts_in=timedelta(days=1))
    # Their staff hold the other centre's tokens; the family and the call are not theirs.
    intruder = CallWorld(world.centre_id, world.family_id, world.child_id)
    intruder.cookies, intruder.csrf = other.cookies, other.csrf
    attempts = [
        ("POST", f"{PREFIX}/families/{world.family_id}/calls", plan(world)),
        ("GET", f"{PREFIX}/calls/{call_id}", None),
        ("PUT", f"{PREFIX}/calls/{call_id}", plan(world, 3) | {"version": 1}),
        ("POST", f"{PREFIX}/calls/{call_id}/cancel", {"reason": "booked_in_error", "version": 1}),
    ]
    for who in ("admin", "staff"):
        for method, path, body in attempts:
            response = await api(client, intruder, who, method, path, body)
            assert response.status == 404, (who, method, path, response.status)
        response = await api(client, intruder, who, "GET", f"{PREFIX}/calls")
        assert await response.json() == []
    # Nor may they book one of their own supervisors onto it, or this family's child onto theirs.
    response = await api(
        client,
        other,
        "admin",
        "POST",
        f"{PREFIX}/families/{other.family_id}/calls",
        plan(world) | {"supervisor_id": str(other.users["supervisor"])},
    )
    assert response.status == 422 and (await response.json())["field"] == "child_id"
    calls = await calls_in_db(client)
    assert [(c.id, c.version) for c in calls] == [(call_id, 1)]


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        "urn:openapi", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    rebased = _rebase(schema)
    return Draft202012Validator(rebased, registry=registry, format_checker=_FORMATS)


_FORMATS = Draft202012Validator.FORMAT_CHECKER


def _rebase(value: Any) -> Any:
    """Point the document's local references (``#/components/...``) at the registered copy."""
    if isinstance(value, dict):
        return {
            k: ("urn:openapi" + v if k == "$ref" and v.startswith("#") else _rebase(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rebase(v) for v in value]
    return value


async def test_openapi_document_lists_the_call_operations_and_the_answers_validate(
    client: TestClient,
) -> None:
    world = await make_world(client.server.app)
    response = await api(client, world, "staff", "GET", OPENAPI_PATH)
    document = await response.json()
    listed = {
        (method, path): op["operationId"]
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if op["tags"] == ["calls"]
    }
    assert listed == CALL_OPERATIONS
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)  # each is a valid JSON Schema
        assert name
    paths = document["paths"]
    cancel_body = paths["/api/v1/calls/{call_id}/cancel"]["post"]["requestBody"]
    cancel_ref = cancel_body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    reasons = document["components"]["schemas"][cancel_ref]["properties"]["reason"]["enum"]
    assert set(reasons) == {
        "parent_unavailable",
        "child_unavailable",
        "centre_unavailable",
        "booked_in_error",
        "contact_suspended",
    }

    def answer_schema(method: str, path: str, status: str) -> Draft202012Validator:
        content = paths[path][method]["responses"][status]["content"]["application/json"]
        return _validator(document, content["schema"])

    def body_schema(method: str, path: str) -> Draft202012Validator:
        content = paths[path][method]["requestBody"]["content"]["application/json"]
        return _validator(document, content["schema"])

    schedule_path = "/api/v1/families/{family_id}/calls"
    body = plan(world)
    body_schema("post", schedule_path).validate(body)
    assert not body_schema("post", schedule_path).is_valid(body | {"child_id": "Sam"})
    response = await api(
        client, world, "staff", "POST", f"{PREFIX}/families/{world.family_id}/calls", body
    )
    booked = await response.json()
    answer_schema("post", schedule_path, "201").validate(booked)
    response = await api(client, world, "staff", "GET", f"{PREFIX}/calls")
    answer_schema("get", "/api/v1/calls", "200").validate(await response.json())
    response = await api(client, world, "parent", "GET", f"{PREFIX}/calls/{booked['id']}")
    assert response.status == 403
    answer_schema("get", "/api/v1/calls/{call_id}", "403").validate(await response.json())
    response = await api(
        client, world, "staff", "POST", f"{PREFIX}/calls/{booked['id']}/cancel", {"reason": "x"}
    )
    answer_schema("post", "/api/v1/calls/{call_id}/cancel", "422").validate(await response.json())
