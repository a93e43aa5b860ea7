"""Forms: from a posted form to the input dataclasses, and errors back next to each field.

Field names follow the input's shape: ``children.0.name`` becomes
``{"children": [{"name": …}]}``. Repeated rows left completely empty are dropped, so a form
can offer three blank child rows and the admin fills in one."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from service.errors import Invalid
from service.schema import InvalidInput

SKIP = frozenset({"csrf_token"})

# Fixed messages shown after a successful post-redirect-get; the query names one, so no
# text from the request is ever reflected into the page.
NOTICES = {
    "centre-saved": "The centre's contact details were saved. Parents see them from now on.",
    "read-aloud-on": "Parents can now have their child's replies read aloud.",
    "read-aloud-off": "Reading replies aloud is now off for every parent.",
    "person-created": "The account was created and an invite e-mail was sent.",
    "person-disabled": "The account was disabled and signed out everywhere.",
    "referral-recorded": "The referral was recorded.",
    "referral-declined": "The referral was declined.",
    "family-created": "The referral was accepted and the family was created. The parents "
    "named in it were invited and the referrer can see the family's exports.",
    "family-created-with-problems": "The referral was accepted and the family was created, "
    "but a parent or the referrer could not be added: check the parents and referrers below.",
    "settings-saved": "The family's settings were saved.",
    "child-added": "The child was added.",
    "child-saved": "The child's details were saved.",
    "child-removed": "The child was removed.",
    "term-added": "The word or phrase was added to the private list.",
    "term-removed": "The word or phrase was removed.",
    "parent-invited": "The invite was sent.",
    "invite-resent": "A new invite was sent; the old link no longer works.",
    "sender-saved": "The sender was updated.",
    "referrer-granted": "The referrer was given access.",
    "referrer-revoked": "The referrer's access was ended.",
    "translator-assigned": "The translator can now moderate this family's items.",
    "translator-removed": "The translator can no longer see or moderate this family's items.",
}


def notice(request: web.Request) -> str | None:
    return NOTICES.get(request.query.get("done", ""))


def form_data(
    form: MultiDictProxy[Any],
    *,
    lists: Collection[str] = (),
    flags: Collection[str] = (),
) -> dict[str, Any]:
    """A posted form as the nested data ``schema.parse`` takes. ``lists`` are repeated
    fields (checkbox groups); ``flags`` are single checkboxes, false when absent."""
    data: dict[str, Any] = {}
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for key in form:
        if key in SKIP or key in data or key in lists:
            continue
        value = form.get(key)
        if not isinstance(value, str):
            continue  # a file where text was expected: treated as missing
        parts = key.split(".")
        if len(parts) == 3 and parts[1].isdigit():
            rows.setdefault(parts[0], {}).setdefault(int(parts[1]), {})[parts[2]] = value
        elif len(parts) == 1:
            data[key] = value
    for name in lists:
        data[name] = [v for v in form.getall(name, []) if isinstance(v, str)]
    for name in flags:
        data[name] = name in form
    for name, numbered in rows.items():
        data[name] = [
            row for _, row in sorted(numbered.items()) if any(str(v).strip() for v in row.values())
        ]
    return data


def field_errors(error: Invalid) -> dict[str, str]:
    if isinstance(error, InvalidInput):
        return error.errors
    return {error.field or "form": error.message}


def render_invalid(
    request: web.Request,
    template: str,
    context: Mapping[str, Any],
    error: Invalid,
    *,
    form: str,
    values: Mapping[str, Any],
) -> web.Response:
    """The same page again, with the problems next to their fields and the values kept."""
    return aiohttp_jinja2.render_template(
        template,
        request,
        {
            **context,
            "errors": {form: field_errors(error)},
            "values": {form: dict(values)},
        },
        status=422,
    )
