"""The security headers on every route, signed in or not, errors included."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from service.appkeys import ACCESS_RULES
from service.http.headers import CALL_PAGE, CSP
from storage.models import Role
from tests.support.accounts import make_world, session_token, use_session

EXPECTED = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _paths(client: TestClient) -> list[str]:
    paths = set()
    for route in client.server.app[ACCESS_RULES]:
        resource = route.resource
        if resource is None or route.method != "GET":
            continue
        canonical = resource.canonical
        paths.add(
            "/static/css/site.css"
            if canonical == "/static"
            else canonical.replace("{", "").replace("}", "")
        )
    return sorted(paths | {"/no-such-page"})


async def test_security_headers_on_every_route_signed_in_or_not(client: TestClient) -> None:
    world = await make_world(client)
    staff_token = await session_token(client, world.people[Role.STAFF])
    problems = []
    for token in (None, staff_token):
        use_session(client, token)
        for path in _paths(client):
            response = await client.get(path, allow_redirects=False)
            for name, value in EXPECTED.items():
                if response.headers.get(name) != value:
                    problems.append(f"{path}: {name}={response.headers.get(name)!r}")
            if (
                not path.startswith("/static/")
                and response.headers.get("Cache-Control") != "no-store"
            ):
                problems.append(f"{path}: Cache-Control={response.headers.get('Cache-Control')!r}")
            policy = response.headers.get("Permissions-Policy", "")
            devices = "(self)" if CALL_PAGE.fullmatch(path) else "()"
            if f"camera={devices}" not in policy or f"microphone={devices}" not in policy:
                problems.append(f"{path}: Permissions-Policy={policy!r}")
            if "Strict-Transport-Security" in response.headers:
                problems.append(f"{path}: HSTS outside production")
    assert problems == [], "\n".join(problems)


async def test_camera_and_microphone_only_on_call_join_pages(client: TestClient) -> None:
    for path, allowed in (
        ("/calls/abc/join", True),
        ("/calls/abc", False),
        ("/calls/abc/x/join", False),
        ("/letterbox/calls/abc/join", False),
    ):
        response = await client.get(path, allow_redirects=False)
        policy = response.headers["Permissions-Policy"]
        assert ("camera=(self)" in policy and "microphone=(self)" in policy) is allowed, path


async def test_hsts_in_production_only(client: TestClient) -> None:
    response = await client.get("/sign-in")
    assert "Strict-Transport-Security" not in response.headers
