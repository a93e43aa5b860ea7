"""The centre's own contact details: how a parent reaches a person when something is unclear.

An admin sets them on the centre settings page; every page footer and every e-mail footer
shows them (``service.notify.CentreContact`` checks them again before a footer carries them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select

from service.errors import Invalid, NotFound
from service.http.rules import Actor
from service.notify import CentreContact
from service.schema import text
from service.services import Services
from storage.models import Centre

_PHONE = re.compile(r"^[0-9+() \-]{5,40}$")
_HOURS = re.compile(r"^[\w .,:;()&/+\-–]{1,200}$")


@dataclass(frozen=True)
class CentreContactInput:
    """The centre's phone number, e-mail address and opening hours, shown to parents."""

    phone: str = field(metadata=text(0, 40, "Phone number, e.g. 0113 496 0000"))
    email: str = field(metadata=text(0, 320, "E-mail address"))
    opening_hours: str = field(
        metadata=text(0, 200, "Opening hours, e.g. Monday to Friday, 9:00 to 17:00")
    )


@dataclass(frozen=True)
class CentreContactView:
    phone: str
    email: str
    opening_hours: str


async def centre_contact(services: Services, actor: Actor) -> CentreContactView:
    async with services.sessionmaker() as session:
        centre = await session.get(Centre, actor.centre_id)
    if centre is None:
        raise NotFound()
    return CentreContactView(
        centre.contact_phone or "", centre.contact_email or "", centre.opening_hours or ""
    )


def _check(data: CentreContactInput) -> CentreContact:
    phone, email, hours = (v.strip() for v in (data.phone, data.email, data.opening_hours))
    if phone and not _PHONE.match(phone):
        raise Invalid(
            "Write the phone number with digits, spaces, +, - or brackets only "
            "(5 to 40 characters), e.g. 0113 496 0000.",
            field="phone",
        )
    if email and "@" not in email:
        raise Invalid("Write one e-mail address, e.g. contact@centre.example.", field="email")
    if hours and not _HOURS.match(hours):
        raise Invalid(
            "Write the opening hours on one line with letters, digits and , . : ; - / ( ) "
            "only (up to 200 characters).",
            field="opening_hours",
        )
    checked = CentreContact.checked(phone or None, email or None, hours or None)
    if email and checked.email is None:
        raise Invalid("Write one e-mail address, e.g. contact@centre.example.", field="email")
    return checked


async def set_centre_contact(
    services: Services, actor: Actor, data: CentreContactInput
) -> CentreContactView:
    checked = _check(data)
    async with services.sessionmaker.begin() as session:
        centre = await session.scalar(
            select(Centre).where(Centre.id == actor.centre_id).with_for_update()
        )
        if centre is None:
            raise NotFound()
        centre.contact_phone = checked.phone
        centre.contact_email = checked.email
        centre.opening_hours = checked.hours
    return CentreContactView(checked.phone or "", checked.email or "", checked.hours or "")
