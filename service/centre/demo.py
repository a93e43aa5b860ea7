"""``letterbox demo``: a demo centre to try Letterbox with, on the embedded default.

Seeds an admin, two staff, a supervisor, a referrer and two families (one supported, one
supervised) with children, parents and sensitive terms, through the same domain functions
the admin pages use. Prints every login with its password and TOTP secret. Running it again
changes nothing: the demo centre is found by its admin's address and only the logins are
printed. Refused in production: the passwords are fixed and printed."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from dataclasses import dataclass

import pyotp

from service.accounts import provision_demo_user, user_by_email
from service.centre import families, referrals
from service.commands import Command, CommandError, prepare_data_dir
from service.http.access import Actor
from service.notify import OutboxMailer
from service.services import Services
from service.settings import Settings
from storage import db
from storage.keyring import KeyRing, load_master_key
from storage.models import Centre, Channel, ContactLevel, Role, User

DEMO_CENTRE = "Letterbox Demo Centre"


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    name: str
    email: str
    password: str
    # Fixed so the printed instructions stay true across runs; development only.
    totp_secret: str | None


def _secret(word: str) -> str:
    """A readable, valid base32 TOTP secret (32 characters)."""
    return word.ljust(32, "A")


LOGINS = (
    DemoLogin(Role.ADMIN, "Alex Admin", "admin@demo.letterbox.test", "demo-admin-pass-2026", _secret("LETTERBOXDEMOADMIN")),
    DemoLogin(Role.STAFF, "Sam Staff", "staff1@demo.letterbox.test", "demo-staff-pass-2026", _secret("LETTERBOXDEMOSTAFFONE")),
    DemoLogin(Role.STAFF, "Kim Staff", "staff2@demo.letterbox.test", "demo-staff-pass-2026", _secret("LETTERBOXDEMOSTAFFTWO")),
    DemoLogin(Role.SUPERVISOR, "Jo Supervisor", "supervisor@demo.letterbox.test", "demo-super-pass-2026", _secret("LETTERBOXDEMOSUPERVISOR")),
    DemoLogin(Role.REFERRER, "Rita Referrer", "referrer@demo.letterbox.test", "demo-referrer-pass-2026", None),
    DemoLogin(Role.PARENT, "Pat Parent", "parent1@demo.letterbox.test", "demo-parent-pass-2026", None),
    DemoLogin(Role.PARENT, "Chris Parent", "parent2@demo.letterbox.test", "demo-parent-pass-2026", None),
)  # fmt: skip

ADMIN = LOGINS[0]


@dataclass(frozen=True)
class DemoFamily:
    contact_level: ContactLevel
    channels: tuple[Channel, ...]
    children: tuple[tuple[str, int], ...]
    parent_email: str
    relationship: str
    sensitive_terms: tuple[str, ...]


FAMILIES = (
    DemoFamily(
        ContactLevel.SUPPORTED,
        (Channel.LETTERS, Channel.PHOTOS, Channel.GIFTS),
        (("Mia", 2016),),
        "parent1@demo.letterbox.test",
        "Father",
        ("Oakfield Primary", "Maple Street", "Brownies"),
    ),
    DemoFamily(
        ContactLevel.SUPERVISED,
        (Channel.LETTERS, Channel.VIDEO),
        (("Leo", 2018), ("Ava", 2015)),
        "parent2@demo.letterbox.test",
        "Mother",
        ("Hillcrest Academy", "Greenford", "Taylor"),
    ),
)


async def seed(settings: Settings, keyring: KeyRing) -> bool:
    """Seed the demo centre; False if it was already there (nothing changed)."""
    engine = db.create_engine(settings.database_url)
    try:
        await db.check_ready(engine)
        sessionmaker = db.create_sessionmaker(engine)
        async with sessionmaker() as session:
            if await user_by_email(session, ADMIN.email) is not None:
                return False
        async with sessionmaker.begin() as session:
            centre = Centre(id=uuid.uuid4(), name=DEMO_CENTRE)
            session.add(centre)
            await session.flush()
            users: dict[str, User] = {}
            for login in LOGINS:
                users[login.email] = await provision_demo_user(
                    session,
                    settings,
                    keyring,
                    centre_id=centre.id,
                    email=login.email,
                    display_name=login.name,
                    role=login.role,
                    password=login.password,
                    totp_secret=login.totp_secret,
                )
        admin_user = users[ADMIN.email]
        actor = Actor(
            user_id=admin_user.id,
            role=Role.ADMIN,
            centre_id=centre.id,
            display_name=admin_user.display_name,
            email=admin_user.email,
            session_token_hash="",
            csrf_token="",
            second_factor_done=True,
        )
        services = Services(settings, sessionmaker, keyring, OutboxMailer(settings))
        referrer = next(x for x in LOGINS if x.role is Role.REFERRER)
        for demo in FAMILIES:
            referral = await referrals.record_referral(
                services,
                actor,
                referrals.ReferralInput(
                    referrer_name=referrer.name,
                    referrer_organisation="Demo Family Law LLP",
                    referrer_email=referrer.email,
                    referrer_kind=referrals.ReferrerKind.SOLICITOR,
                    contact_level=demo.contact_level,
                    channels=list(demo.channels),
                    children=[referrals.ChildInput(n, y) for n, y in demo.children],
                    court_order_reference="DEMO-0001",
                    known_risks="Demo data: no real risks.",
                ),
            )
            family_id = await referrals.accept_referral(services, actor, referral.id)
            for term in demo.sensitive_terms:
                await families.add_sensitive_term(
                    services, actor, family_id, families.SensitiveTermInput(term)
                )
            parent = next(x for x in LOGINS if x.email == demo.parent_email)
            await families.invite_parent(
                services,
                actor,
                family_id,
                families.ParentInviteInput(parent.email, parent.name, demo.relationship),
            )
            await families.grant_referrer_access(
                services,
                actor,
                family_id,
                families.ReferrerAccessInput(referrer.email, referrer.name, 90),
            )
        return True
    finally:
        await engine.dispose()


def logins_text(settings: Settings) -> str:
    lines = [
        f"Demo logins for {settings.public_url}/sign-in (development only):",
        "",
    ]
    for login in LOGINS:
        lines.append(f"  {login.role.value:<10} {login.email:<34} password: {login.password}")
        if login.totp_secret:
            code = pyotp.TOTP(login.totp_secret).now()
            lines.append(f"  {'':<10} TOTP secret: {login.totp_secret}  (code right now: {code})")
    lines += [
        "",
        "Add a TOTP secret to an authenticator app, or get a current code with:",
        "  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"",
    ]
    return "\n".join(lines)


class DemoRefused(Exception):
    pass


def run_demo(settings: Settings) -> str:
    """Seed (if needed) and return what to print."""
    if settings.production:
        raise DemoRefused(
            "letterbox demo is refused in production: it creates accounts with fixed, "
            "printed passwords"
        )
    master, _ = load_master_key(settings.master_key_b64, settings.master_key_file, may_create=True)
    created = asyncio.run(seed(settings, KeyRing(master)))
    head = (
        "Seeded the demo centre."
        if created
        else "The demo centre is already there; nothing changed."
    )
    return f"{head}\n\n{logins_text(settings)}"


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    handlers: dict[str, Command],
) -> None:
    """Adds ``letterbox demo`` (see ``service.cli._plugins``)."""

    def demo(args: argparse.Namespace, settings: Settings) -> int:
        if settings.database_url.startswith("sqlite"):
            prepare_data_dir(settings)
        try:
            print(run_demo(settings), flush=True)
        except DemoRefused as exc:
            raise CommandError(str(exc)) from None
        return 0

    commands.add_parser("demo", help="seed a demo centre and print its logins (development only)")
    handlers["demo"] = demo
