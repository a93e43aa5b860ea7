"""The centre's choice to offer "Read this aloud" on a parent's reply pages (issue 21 item 5).

Some parents cannot read well. When the centre allows it, a reply's page can read the
child's words out with a voice built into the parent's own device: the words never leave it
(web/static/js/letterbox/read_aloud.js uses only on-device voices). It is on unless an admin
turns it off, because the parents who need it are the least able to ask for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from service.errors import NotFound
from service.http.rules import Actor
from service.schema import about
from service.services import Services
from storage.models import Centre


@dataclass(frozen=True)
class ReadAloudInput:
    """Whether parents' reply pages offer to read the child's words aloud."""

    # On the centre page a checkbox: unticked is sent as false (forms.form_data ``flags``).
    read_aloud: bool = field(metadata=about("Offer to read the child's replies aloud"))


async def read_aloud_setting(services: Services, actor: Actor) -> bool:
    async with services.sessionmaker() as session:
        on = await session.scalar(select(Centre.read_aloud).where(Centre.id == actor.centre_id))
    if on is None:
        raise NotFound()
    return on


async def set_read_aloud(services: Services, actor: Actor, data: ReadAloudInput) -> bool:
    async with services.sessionmaker.begin() as session:
        centre = await session.scalar(
            select(Centre).where(Centre.id == actor.centre_id).with_for_update()
        )
        if centre is None:
            raise NotFound()
        centre.read_aloud = data.read_aloud
    return data.read_aloud
