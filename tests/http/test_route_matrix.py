"""The route matrix: every route of the app x every role x own family / a family of the same
centre not linked to them / a family of another centre, with the expected outcome.

Built from the app's own route table (``app[ACCESS_RULES]``), so a new route is covered the
moment it is added. Handlers are replaced by a probe: these tests prove what the access layer
lets through to a handler, whatever the handler would then do."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from service.appkeys import ACCESS_RULES, SETTINGS
from service.http.access import CENTRE_ROLES, GRANT_ONLY_ROLES, Access
from service.http.csrf import anonymous_cookie_name
from storage.models import Role
from tests.support.accounts import (
    ORIGIN,
    ROLES,
    FamilyRows,
    World,
    csrf_from,
    make_world,
    session_token,
    use_session,
)

# The short, explicit allow-list of pages anyone may open. Adding a public route means
# adding it here, on purpose.
PUBLIC_ROUTES = {
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/static"),
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("GET", "/forgot-password"),
    ("POST", "/forgot-password"),
    ("GET", "/invite/{token}"),
    ("POST", "/invite/{token}"),
    ("GET", "/reset/{token}"),
    ("POST", "/reset/{token}"),
    # The API's own description (no data), for client generators.
    ("GET", "/api/v1/openapi.json"),
    # The centre's public record key, for courts to pin (no data).
    ("GET", "/.well-known/letterbox-record-key"),
}

STAFF_AREAS = ("/admin", "/staff", "/supervisor", "/api/staff", "/api/admin")
FAMILY_PARAMS = ("family_id", "item_id", "call_id", "session_id")
SCOPES = ("own", "same_centre", "other_centre")
REACHED = "reached"


def _route_key(route: web.AbstractRoute) -> tuple[str, str]:
    resource = route.resource
    assert resource is not None
    return route.method, resource.canonical


def _rules(app: web.Application) -> list[tuple[web.AbstractRoute, Access]]:
    rules = app[ACCESS_RULES]
    return [
        (route, rules[route])
        for route in app.router.routes()
        if route.method not in ("HEAD", "OPTIONS") and route in rules
    ]


def test_every_route_declares_access(client: TestClient) -> None:
    app = client.server.app
    undeclared = [_route_key(r) for r in app.router.routes() if r not in app[ACCESS_RULES]]
    assert undeclared == [], f"routes without an access rule: {undeclared}"


def test_public_routes_are_exactly_the_allow_list(client: TestClient) -> None:
    public = {_route_key(route) for route, access in _rules(client.server.app) if access.public}
    assert public - PUBLIC_ROUTES == set(), (
        "new public routes: add them to PUBLIC_ROUTES on purpose"
    )


def test_family_routes_declare_their_family(client: TestClient) -> None:
    missing = [
        _route_key(route)
        for route, access in _rules(client.server.app)
        if any("{" + p + "}" in _route_key(route)[1] for p in FAMILY_PARAMS)
        and access.family is None
        and not access.public
    ]
    assert missing == [], f"routes naming a family's data without a family rule: {missing}"


def test_parents_and_referrers_never_reach_staff_areas(client: TestClient) -> None:
    leaks = [
        _route_key(route)
        for route, access in _rules(client.server.app)
        if _route_key(route)[1].startswith(STAFF_AREAS)
        and (access.roles is None or access.roles & {Role.PARENT, Role.REFERRER})
    ]
    assert leaks == [], f"staff pages open to parents or referrers: {leaks}"


def test_interpreters_reach_only_their_account_pages_and_the_calls_granted(
    client: TestClient,
) -> None:
    """An interpreter's role opens nothing of the centre: besides their own account pages and
    home, only the call page and its socket, and those only with a grant for that call."""
    reachable = {
        (_route_key(route), access.grant is not None)
        for route, access in _rules(client.server.app)
        if not access.public and access.roles is not None and Role.INTERPRETER in access.roles
    }
    family_routes = {key for key, granted in reachable if "{" in key[1]}
    assert family_routes == {("GET", "/calls/{call_id}/join"), ("GET", "/calls/{call_id}/signal")}
    assert all(granted for key, granted in reachable if key in family_routes)
    others = {key[1] for key, _ in reachable if key not in family_routes}
    assert others <= {
        "/two-factor",
        "/two-factor/enrol",
        "/sign-out",
        "/sign-out-everywhere",
        "/account/recovery-codes",
        "/account/password",
        "/account/language",
        "/api/v1/openapi.json",
        "/interpreter",
    }, others


def test_translators_reach_only_their_account_pages_and_the_items_assigned(
    client: TestClient,
) -> None:
    """A translator's role opens nothing of the centre: besides their own account pages and
    home (their queue), only an item's moderation page, its decision, take-over and pictures,
    and those only on a route that asks for the family's assignment."""
    reachable = {
        (_route_key(route), access.assigned)
        for route, access in _rules(client.server.app)
        if not access.public and access.roles is not None and Role.TRANSLATOR in access.roles
    }
    family_routes = {key for key, assigned in reachable if "{" in key[1]}
    assert family_routes == {
        ("GET", "/staff/moderation/items/{item_id}"),
        ("POST", "/staff/moderation/items/{item_id}/decision"),
        ("POST", "/staff/moderation/items/{item_id}/take-over"),
        ("GET", "/staff/items/{item_id}/parts/{part_id}/{which}"),
    }
    assert all(assigned for key, assigned in reachable if key in family_routes)
    others = {key[1] for key, _ in reachable if key not in family_routes}
    assert others <= {
        "/two-factor",
        "/two-factor/enrol",
        "/sign-out",
        "/sign-out-everywhere",
        "/account/recovery-codes",
        "/account/password",
        "/account/language",
        "/api/v1/openapi.json",
        "/translator",
    }, others


def test_only_moderation_routes_take_a_translator_assignment(client: TestClient) -> None:
    """``assigned=True`` opens a route to translators: it must never be on anything but
    moderating an item (the original upload, family pages, the record stay closed)."""
    assigned = {
        _route_key(route)[1] for route, access in _rules(client.server.app) if access.assigned
    }
    assert assigned == {
        "/staff/moderation/items/{item_id}",
        "/staff/moderation/items/{item_id}/decision",
        "/staff/moderation/items/{item_id}/take-over",
        "/staff/items/{item_id}/parts/{part_id}/{which}",
    }


# --- the matrix ----------------------------------------------------------------------------


def _group_pattern(pattern: str, name: str) -> str | None:
    """The regular expression of one named path parameter (``{which:original|sanitised}``)."""
    start = pattern.find(f"(?P<{name}>")
    if start < 0:
        return None
    i = start + len(f"(?P<{name}>")
    depth, begin = 1, i
    while depth and i < len(pattern):
        depth += {"(": 1, ")": -1}.get(pattern[i], 0)
        i += 1
    return pattern[begin : i - 1]


def _fill(route: web.AbstractRoute, rows: FamilyRows, world: World) -> str:
    """A concrete URL for ``route``: ids of the given family's rows, and for any other
    parameter a value its pattern accepts. A family route naming a new kind of row needs
    that row in ``make_world`` (the matrix reports 404 for "own" until it has)."""
    resource = route.resource
    assert resource is not None
    template = resource.canonical
    if template == "/static":
        return "/static/css/site.css"
    values: dict[str, object] = {
        "family_id": rows.family_id,
        "item_id": rows.item_id,
        "call_id": rows.call_id,
        "session_id": rows.opening_session_id,
        "child_id": rows.child_id,
        "gift_id": rows.gift_id,
        "part_id": rows.part_id,
        "user_id": world.people[Role.STAFF].user_id,
        "key": "s0",  # a blacked-out part of a subject access request
        "token": "x" * 43,
    }
    info = resource.get_info()
    pattern = info["pattern"].pattern if "pattern" in info else ""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        regex = _group_pattern(pattern, name) or "[^{}/]+"
        literal = regex.split("|")[0].strip("()^$")
        for candidate in (literal, str(uuid.uuid4()), "1", "a"):
            if re.fullmatch(regex, candidate):
                return candidate
        raise AssertionError(f"no value for {{{name}}} in {template}")

    return re.sub(r"\{([^}]+)\}", one, template)


def _expected(access: Access, role: Role | None, scope: str, path: str) -> str:
    if access.public:
        return REACHED
    if role is None:
        return "sign-in"
    assert access.roles is not None
    if role not in access.roles:
        return "403"
    if access.family is None:
        return REACHED
    if role is Role.TRANSLATOR:
        # The translator is assigned to the own family only: routes that accept an
        # assignment open there, every other family route is as if the family did not exist.
        return REACHED if access.assigned and scope == "own" else "404"
    if role in GRANT_ONLY_ROLES:
        # The interpreter holds a grant for the own family's call only: routes that accept a
        # call grant open there, every other family route is as if the family did not exist.
        return REACHED if access.grant is not None and scope == "own" else "404"
    if scope == "own":
        return REACHED
    if scope == "same_centre" and role in CENTRE_ROLES:
        return REACHED
    return "404"


def _outcome(status: int, location: str, body: str) -> str:
    if body == REACHED and status == 200:
        return REACHED
    if status == 303 and location.startswith("/sign-in"):
        return "sign-in"
    if status == 401:
        return "sign-in"
    return str(status)


@dataclass
class Case:
    method: str
    path: str
    role: Role | None
    scope: str
    expected: str


async def _probe(request: web.Request) -> web.StreamResponse:
    return web.Response(text=REACHED)


async def test_route_matrix_every_route_every_role_every_family(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(client)
    rules = _rules(app)
    tokens: dict[Role | None, tuple[str | None, str]] = {}
    for role in (None, *ROLES):
        token = None if role is None else await session_token(client, world.people[role])
        use_session(client, token)
        tokens[role] = (token, await csrf_from(client, "/sign-in"))
    for route, _ in rules:
        route._handler = _probe  # type: ignore[attr-defined]  # only the access layer is under test

    failures: list[str] = []
    count = 0
    for role, (token, csrf) in tokens.items():
        use_session(client, token)
        if token is None:
            client.session.cookie_jar.update_cookies(
                {anonymous_cookie_name(app[SETTINGS]): csrf}, URL(str(client.make_url("/")))
            )
        for route, access in rules:
            method, template = _route_key(route)
            scopes = SCOPES if access.family is not None else ("own",)
            for scope in scopes:
                path = _fill(route, world.families[scope], world)
                expected = _expected(access, role, scope, template)
                headers = {"Origin": ORIGIN, "X-CSRF-Token": csrf}
                response = await client.request(
                    method, path, headers=headers, allow_redirects=False
                )
                body = await response.text() if response.status == 200 else ""
                got = _outcome(response.status, response.headers.get("Location", ""), body)
                count += 1
                if got != expected:
                    failures.append(
                        f"{method} {path} as {role.value if role else 'anonymous'} "
                        f"({scope}): expected {expected}, got {got}"
                    )
    assert count > 0
    assert failures == [], "\n".join(failures)


async def test_staff_without_second_factor_reach_only_the_code_pages(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(client)
    rules = _rules(app)
    sessions = {}
    for role in (Role.ADMIN, Role.STAFF, Role.SUPERVISOR, Role.INTERPRETER, Role.TRANSLATOR):
        token = await session_token(client, world.people[role], second_factor_done=False)
        use_session(client, token)
        sessions[role] = (token, await csrf_from(client, "/two-factor"))
    for route, _ in rules:
        route._handler = _probe  # type: ignore[attr-defined]
    failures: list[str] = []
    for role, (token, csrf) in sessions.items():
        use_session(client, token)
        for route, access in rules:
            method = route.method
            path = _fill(route, world.families["own"], world)
            response = await client.request(
                method,
                path,
                headers={"Origin": ORIGIN, "X-CSRF-Token": csrf},
                allow_redirects=False,
            )
            body = await response.text() if response.status == 200 else ""
            reached = response.status == 200 and body == REACHED
            allowed = access.public or (
                access.before_second_factor and access.roles is not None and role in access.roles
            )
            if reached != allowed:
                failures.append(
                    f"{method} {path} as half-signed-in {role.value}: reached={reached}"
                )
            if not reached and method == "GET" and not allowed:
                assert response.status in (303, 403), (path, response.status)
    assert failures == [], "\n".join(failures)
