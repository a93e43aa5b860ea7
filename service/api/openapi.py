"""The OpenAPI 3.1 document, generated from ``routes.ROUTES`` and the input and view
dataclasses: nothing here is written by hand per route, so it cannot drift."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, get_type_hints

from aiohttp import web

from service.api.routes import OPENAPI_PATH, ROUTES, ApiRoute
from service.appkeys import SETTINGS
from service.schema import json_schema, schema_of

_PARAM = re.compile(r"\{(\w+)\}")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every failure has this shape; `field` names the input a problem concerns.",
    "properties": {
        "error": {"type": "string", "description": "A stable code, e.g. invalid, not_found"},
        "message": {"type": "string", "description": "Plain-language text to show a person"},
        "field": {"type": "string"},
    },
    "required": ["error", "message"],
}

_ERRORS = {
    "401": "Not signed in",
    "403": "Not allowed (role, second factor, CSRF token or origin)",
    "404": "Not found, or not yours to see",
    "409": "Conflicts with the current state",
    "422": "The input has a problem; `field` says where",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(route: ApiRoute, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
    }
    names = _PARAM.findall(route.path)
    if names:
        operation["parameters"] = [
            {
                "name": n,
                "in": "path",
                "required": True,
                # Ids are UUIDs; any other parameter (a part's key) is text.
                "schema": {"type": "string", "format": "uuid"}
                if n.endswith("_id")
                else {"type": "string"},
            }
            for n in names
        ]
    if route.query is not None:
        hints = get_type_hints(route.query)
        operation.setdefault("parameters", []).extend(
            {
                "name": f.name,
                "in": "query",
                "required": False,
                "schema": schema_of(hints[f.name], f),
            }
            for f in dataclasses.fields(route.query)
        )
    if route.body is not None:
        schemas[route.body.__name__] = json_schema(route.body)
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(route.body.__name__)}},
        }
    responses: dict[str, Any] = {}
    if route.media_type is not None:
        responses["200"] = {
            "description": "The file",
            "content": {route.media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    elif route.response is None:
        responses["204"] = {"description": "Done"}
    else:
        schemas[route.response.__name__] = json_schema(route.response)
        schema: dict[str, Any] = _ref(route.response.__name__)
        if route.many:
            schema = {"type": "array", "items": schema}
        responses[str(route.status)] = {
            "description": "OK" if route.status == 200 else "Created",
            "content": {"application/json": {"schema": schema}},
        }
    error = {"content": {"application/json": {"schema": _ref("Error")}}}
    for status, text in _ERRORS.items():
        responses[status] = {"description": text, **error}
    operation["responses"] = responses
    if route.access.public:
        operation["security"] = []
    elif route.method != "GET":
        operation["security"] = [{"session": [], "csrf": []}]
    return operation


def build_document(app: web.Application) -> dict[str, Any]:
    settings = app[SETTINGS]
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.full_path, {})[route.method.lower()] = _operation(route, schemas)
    paths[OPENAPI_PATH] = {
        "get": {
            "operationId": "getOpenApiDocument",
            "summary": "This document",
            "tags": ["meta"],
            "responses": {
                "200": {
                    "description": "The OpenAPI document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Letterbox centre API",
            "version": "1",
            "description": (
                "Centre administration: staff accounts, referrals, families, parents and "
                "referrers. Sign in through the web pages; the API uses the same session "
                "cookie. Requests that change something must send the session's CSRF token "
                "in `X-CSRF-Token` and come from the site's own origin."
            ),
        },
        "servers": [{"url": settings.public_url}],
        "security": [{"session": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": settings.session_cookie_name,
                },
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


async def openapi_document(request: web.Request) -> web.StreamResponse:
    return web.json_response(build_document(request.app))
