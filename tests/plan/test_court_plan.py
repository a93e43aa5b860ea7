"""The court PDF sets what the contact plan expected against what happened: the plan in
words, a month-by-month table, in-centre visits with everyone's times, and a chart of
contact per month by channel (text read with pdftotext; the chart's region rendered to PNG
and checked to hold coloured bars)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from PIL import Image

from service.appkeys import KEYRING
from service.http.rules import Actor
from service.plan import plans
from service.record import export
from service.record.export import Maker, Period
from service.services import Services
from service.visits import visits
from storage import record
from storage.models import ContactLevel, Role, VisitKind
from tests.support.export_world import pdf_pages_text, render_pages
from tests.support.letterbox_world import make_world, send_letter

UK = ZoneInfo("Europe/London")


async def test_court_pdf_holds_the_plan_the_table_the_visits_and_a_drawn_chart(
    client: TestClient, tmp_path: Path
) -> None:
    app = client.server.app
    world = await make_world(client, level=ContactLevel.SUPERVISED)
    services = Services.of(app)
    staff = Actor(
        world.staff.user_id, Role.STAFF, world.centre_id, "Moderator One", "", "", "", True
    )
    today = datetime.now(UK).date()
    first_day = (today.replace(day=1) - timedelta(days=1)).replace(day=1)  # last month's first
    form = {
        "starts_on": first_day.isoformat(),
        "order_reference": "ZW24C00123",
        "letters_every": "2",
        "letters_unit": "weeks",
        "names_to_use": "Sam",
        "names_never": "Samuel Hartley",
    }
    await plans.set_plan(services, staff, world.family_id, plans.PlanInput.parse(form))
    for text in ("Dear Sam, hello.", "Dear Sam, again."):
        status, _ = await send_letter(client, world, text)
        assert status == 201
    visit_id = await visits.book_visit(
        services,
        staff,
        world.family_id,
        visits.VisitInput(VisitKind.HANDOVER, datetime.now(UTC) - timedelta(hours=2), 15, None),
    )
    arrival = visits.AttendanceInput.parse(
        {"resident_arrived": "09:00", "resident_left": "09:05", "child_arrived": "09:00"}
    )
    await visits.record_attendance(services, staff, world.family_id, visit_id, arrival)

    made = await export.make_export(
        services.sessionmaker,
        app[KEYRING],
        None,
        world.family_id,
        Period(first_day, today),
        Maker(record.EventAuthor(world.admin.user_id, "admin"), "Admin"),
    )
    pages = pdf_pages_text(made.pdf, tmp_path)
    text = " ".join(" ".join(pages).split())
    for words in (
        "Planned and actual contact",
        "Order reference: ZW24C00123",
        "A letter every 2 weeks",
        "The child is to be called: Sam",
        "In-centre visits",
        "Handover",
        # (pdftotext -layout sets the time column beside each line's first word)
        "Resident parent left 09:05",
        "Contact per month by channel",
        "In-centre visits",
        "Letters",
        f"{today:%b %Y}",
        f"{first_day:%b %Y}",
    ):
        assert words in text, words
    assert "Hartley" not in text  # a name never to use stays out of the court's copy
    this_month = f"{today:%B %Y}"
    assert any(
        f"{this_month}" in line and "Letters: planned" in line and "actual 2" in line
        for line in " ".join(pages).splitlines()
    )
    # The chart's page, rendered: the region under the heading holds coloured bars.
    chart_page = next(i for i, p in enumerate(pages, 1) if "Contact per month by channel" in p)
    [png] = render_pages(made.pdf, tmp_path, chart_page, chart_page, dpi=72)
    with Image.open(png) as page:
        width, height = page.size
        region = page.convert("RGB").crop((0, int(height * 0.08), width, int(height * 0.5)))
        colours = region.getcolors(maxcolors=1 << 20) or []
    blue = sum(n for n, (r, g, b) in colours if b > 150 and r < 90 and g < 150)
    assert blue > 50, "no bar drawn for the letters"
    assert len(colours) > 5
