"""E-mail to the production relay goes encrypted and to the right server: the URL's scheme
decides (smtp+starttls:// must upgrade, smtps:// is TLS from the first byte), and the relay's
certificate is verified (against LETTERBOX_SMTP_CA_FILE for a private CA). Real aiosmtpd
servers with real TLS on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from service.errors import Unavailable
from service.notify import KINDS, SmtpMailer
from service.settings import Settings, SettingsError
from tests.support.settings import make_settings
from tests.support.smtp import Certificates, Inbox, make_certificates, running_smtp

KIND = "reply_waiting"


def _settings(tmp_path: Path, smtp_url: str, **extra: str) -> Settings:
    return make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        tmp_path / "data",
        smtp_url=smtp_url,
        **extra,
    )


async def _send(settings: Settings) -> None:
    await SmtpMailer(settings).send(
        to="pat@example.org",
        subject=KINDS[KIND].subject,
        template=KIND,
        context={"link": f"{settings.public_url}/letterbox"},
    )


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path)


async def _delivered(inbox: Inbox) -> list[bool]:
    await asyncio.to_thread(inbox.wait_for, 1)
    return list(inbox.encrypted)


async def test_starttls_delivers_over_a_verified_encrypted_channel(
    tmp_path: Path, certificates: Certificates
) -> None:
    with running_smtp(
        "smtp+starttls", tls_context=certificates.server_context, require_starttls=True
    ) as inbox:
        await _send(_settings(tmp_path, inbox.url, smtp_ca_file=str(certificates.ca_file)))
        assert await _delivered(inbox) == [True]
        assert inbox.messages[0]["Subject"] == KINDS[KIND].subject


async def test_implicit_tls_is_used_whatever_the_port(
    tmp_path: Path, certificates: Certificates
) -> None:
    # smtps:// on a port other than 465 must still be TLS from the first byte.
    with running_smtp("smtps", ssl_context=certificates.server_context) as inbox:
        assert inbox.port != 465
        await _send(_settings(tmp_path, inbox.url, smtp_ca_file=str(certificates.ca_file)))
        assert await _delivered(inbox) == [True]


async def test_a_relay_certificate_nobody_vouches_for_is_refused_and_nothing_is_sent(
    tmp_path: Path, certificates: Certificates
) -> None:
    with running_smtp(
        "smtp+starttls", tls_context=certificates.server_context, require_starttls=True
    ) as inbox:
        # No CA file: the system's roots do not know the test CA.
        with pytest.raises(Unavailable, match="could not send the e-mail"):
            await _send(_settings(tmp_path, inbox.url))
        assert inbox.messages == []


async def test_starttls_never_falls_back_to_plain_text(tmp_path: Path) -> None:
    with running_smtp("smtp+starttls") as inbox:  # offers no STARTTLS at all
        with pytest.raises(Unavailable):
            await _send(_settings(tmp_path, inbox.url))
        assert inbox.messages == []


async def test_plain_smtp_stays_plain_and_is_delivered(tmp_path: Path) -> None:
    with running_smtp() as inbox:
        await _send(_settings(tmp_path, inbox.url))
        assert await _delivered(inbox) == [False]


def test_a_ca_file_that_does_not_exist_is_named_at_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"LETTERBOX_SMTP_CA_FILE: names no readable file"):
        _settings(
            tmp_path, "smtp+starttls://relay.example.org:587", smtp_ca_file=str(tmp_path / "x")
        )


def test_a_ca_file_with_plain_smtp_is_refused_as_a_contradiction(
    tmp_path: Path, certificates: Certificates
) -> None:
    with pytest.raises(SettingsError, match="plain smtp://"):
        _settings(
            tmp_path,
            "smtp://relay.example.org:25",
            smtp_ca_file=str(certificates.ca_file),
        )
