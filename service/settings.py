"""Settings: one frozen dataclass read from ``LETTERBOX_*`` environment variables.

With nothing set, Letterbox runs on its embedded default (SQLite and a local encrypted
file store under ``./data``). With ``LETTERBOX_ENV=production`` every secret must be set
explicitly, and a missing one stops the start with one line naming the variable.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.limits import IntakeLimits

Mode = Literal["development", "production", "test"]

PREFIX = "LETTERBOX_"


class SettingsError(Exception):
    """A setting is missing or malformed. The message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


@dataclass(frozen=True)
class S3Settings:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    bucket: str
    secure: bool
    region: str = "us-east-1"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    # smtp+starttls:// upgrades the connection and refuses a server that cannot; smtps://
    # speaks TLS from the first byte; smtp:// is plain text (a relay on the same host).
    starttls: bool
    implicit_tls: bool
    mail_from: str
    # Certificates to trust instead of the system's, for a relay with a private CA.
    ca_file: Path | None = None


@dataclass(frozen=True)
class Settings:
    mode: Mode
    data_dir: Path
    database_url: str
    s3: S3Settings | None
    master_key_b64: str | None
    master_key_file: Path
    host: str
    port: int
    public_url: str
    smtp: SmtpSettings | None
    ice_servers: tuple[Mapping[str, object], ...]
    # The address(es) the media relay offers in ICE host candidates, comma-separated (one IPv4
    # and/or one IPv6); unset offers every interface address, so production requires it.
    ice_host_address: str | None
    # The centre's coturn (TURN REST API): URLs and the shared secret that short-lived
    # credentials are made from. Empty: no TURN.
    turn_urls: tuple[str, ...]
    turn_secret: str | None
    # This node's name for pinning calls ("host:port" when unset) and how many reverse
    # proxies sit in front of the app (their X-Forwarded-For entries are trusted).
    media_node: str | None
    trusted_proxies: int
    # The centre's time zone: forms are read and times shown in it (stored times are UTC).
    timezone: str
    centre_name: str
    argon2_time_cost: int
    argon2_memory_kib: int
    staff_idle_minutes: int
    parent_idle_minutes: int
    session_absolute_hours: int
    intake: IntakeLimits = field(default_factory=IntakeLimits)
    clamd: str | None = None
    # The tesseract program that reads words in images and scanned pages for the scanner;
    # None: words in pictures are not scanned (moderators still see every picture).
    tesseract: str | None = None
    checkpoint_interval_seconds: int = 3600
    # RFC 3161 time-stamp authority for centre checkpoints (docs/record.md); None: not used.
    tsa_url: str | None = None
    # Days each centre checkpoint is kept write-once (S3 Object Lock, compliance mode); 0: off.
    checkpoint_lock_days: int = 0
    reconcile_interval_seconds: int = 3600
    # How often each node offers to run the call reminders (one node of the centre runs them).
    reminder_interval_seconds: int = 300
    orphan_age_seconds: int = 24 * 3600
    # How long one uploaded file may take to sanitise before its worker process is killed and
    # the file refused (service.letterbox.workers).
    sanitise_seconds: int = 60
    # Fault tests only (LETTERBOX_TEST_PAUSE_BEFORE_COMMIT, refused unless LETTERBOX_ENV=test):
    # intake writes this file after its objects are stored and waits, before the commit, while
    # the file exists, so a test can kill the process at exactly that point.
    test_pause_before_commit: Path | None = None
    # Where other workers and nodes reach this worker to forward a call's signalling to it:
    # LETTERBOX_INTERNAL_HOST is the address it binds (loopback unless several hosts share
    # the calls); ``letterbox serve`` fills in ``internal_url`` once the port is bound.
    internal_host: str = "127.0.0.1"
    internal_url: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def ice_host_addresses(self) -> tuple[str, ...]:
        if self.ice_host_address is None:
            return ()
        return tuple(a.strip() for a in self.ice_host_address.split(","))

    @property
    def secure_cookies(self) -> bool:
        """``__Host-`` cookies need Secure, which browsers refuse over plain http."""
        return self.production or self.public_url.startswith("https://")

    @property
    def session_cookie_name(self) -> str:
        return "__Host-letterbox" if self.secure_cookies else "letterbox-dev"

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def local_store_dir(self) -> Path:
        return self.data_dir / "objects"

    def banner(self) -> str:
        if self.production:
            return f"Letterbox (production) on {self.public_url}"
        return (
            "*** DEVELOPMENT MODE: embedded database and file store in "
            f"{self.data_dir}; e-mails go to {self.outbox_dir}; not for real families ***"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return _Reader(os.environ if environ is None else environ).settings()


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ

    def raw(self, name: str) -> str | None:
        value = self._env.get(PREFIX + name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def required(self, name: str, why: str) -> str:
        value = self.raw(name)
        if value is None:
            raise SettingsError(PREFIX + name, f"must be set in production ({why})")
        return value

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int = 2**31) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(PREFIX + name, f"must be a whole number, got {value!r}") from None
        if not minimum <= number <= maximum:
            raise SettingsError(PREFIX + name, f"must be between {minimum} and {maximum}")
        return number

    def settings(self) -> Settings:
        mode_text = self.text("ENV", "development")
        if mode_text not in ("development", "production", "test"):
            raise SettingsError(
                PREFIX + "ENV", f"must be development, production or test, got {mode_text!r}"
            )
        mode: Mode = mode_text  # type: ignore[assignment]
        production = mode == "production"
        test_pause = self._test_pause(mode)

        data_dir = Path(self.text("DATA_DIR", "data")).resolve()

        if production:
            database_url = self.required("DATABASE_URL", "the PostgreSQL database")
        else:
            database_url = self.text("DATABASE_URL", f"sqlite+aiosqlite:///{data_dir}/letterbox.db")
        _check_database_url(database_url)

        s3 = self._s3(production)
        master_key_b64 = self.raw("MASTER_KEY")
        master_key_file = Path(self.text("MASTER_KEY_FILE", str(data_dir / "master.key")))
        if master_key_b64 is not None:
            _check_master_key(master_key_b64)
        elif production and self.raw("MASTER_KEY_FILE") is None:
            raise SettingsError(
                PREFIX + "MASTER_KEY",
                "must be set in production (base64 of 32 random bytes), "
                "or set LETTERBOX_MASTER_KEY_FILE to a key file with mode 0600",
            )

        host = self.text("HOST", "127.0.0.1")
        port = self.integer("PORT", 8080, minimum=0, maximum=65535)
        public_url = (
            self.required("PUBLIC_URL", "the https address people use")
            if production
            else self.text("PUBLIC_URL", f"http://{host}:{port}")
        )
        scheme = urlsplit(public_url).scheme
        if scheme not in ("http", "https") or not urlsplit(public_url).netloc:
            raise SettingsError(
                PREFIX + "PUBLIC_URL", f"must be an http(s) URL, got {public_url!r}"
            )
        if production and scheme != "https":
            raise SettingsError(PREFIX + "PUBLIC_URL", "must use https in production")

        smtp = self._smtp(production)
        ice_servers = self._ice_servers()

        return Settings(
            mode=mode,
            data_dir=data_dir,
            database_url=database_url,
            s3=s3,
            master_key_b64=master_key_b64,
            master_key_file=master_key_file,
            host=host,
            port=port,
            public_url=public_url.rstrip("/"),
            smtp=smtp,
            ice_servers=ice_servers,
            ice_host_address=self._ice_host_address(production),
            turn_urls=self._turn_urls(),
            turn_secret=self._turn_secret(),
            media_node=self.raw("MEDIA_NODE"),
            trusted_proxies=self._trusted_proxies(production),
            timezone=self._timezone(),
            centre_name=self.text("CENTRE_NAME", "Demo Family Contact Centre"),
            # OWASP's argon2id minimum is t=2, m=19 MiB; tests may lower it, never to zero.
            argon2_time_cost=self.integer("ARGON2_TIME_COST", 2, minimum=1, maximum=20),
            argon2_memory_kib=self.integer(
                "ARGON2_MEMORY_KIB", 19 * 1024, minimum=8, maximum=4 * 1024 * 1024
            ),
            staff_idle_minutes=self.integer("STAFF_IDLE_MINUTES", 30, minimum=1, maximum=24 * 60),
            parent_idle_minutes=self.integer("PARENT_IDLE_MINUTES", 60, minimum=1, maximum=24 * 60),
            session_absolute_hours=self.integer(
                "SESSION_ABSOLUTE_HOURS", 12, minimum=1, maximum=72
            ),
            intake=IntakeLimits(
                max_file_bytes=self.integer(
                    "MAX_FILE_BYTES", IntakeLimits.max_file_bytes, minimum=1
                ),
                max_files=self.integer("MAX_FILES", IntakeLimits.max_files, minimum=1),
                max_megapixels=self.integer("MAX_MEGAPIXELS", 40, minimum=1),
                max_pdf_pages=self.integer("MAX_PDF_PAGES", IntakeLimits.max_pdf_pages, minimum=1),
                max_text_chars=self.integer(
                    "MAX_TEXT_CHARS", IntakeLimits.max_text_chars, minimum=1
                ),
            ),
            clamd=self.raw("CLAMD"),
            tesseract=self._tesseract(),
            checkpoint_interval_seconds=self.integer(
                "CHECKPOINT_INTERVAL_SECONDS", 3600, minimum=1
            ),
            tsa_url=self._tsa_url(),
            checkpoint_lock_days=self._checkpoint_lock_days(s3 is not None),
            reconcile_interval_seconds=self.integer("RECONCILE_INTERVAL_SECONDS", 3600, minimum=1),
            reminder_interval_seconds=self.integer("REMINDER_INTERVAL_SECONDS", 300, minimum=1),
            orphan_age_seconds=self.integer("ORPHAN_AGE_SECONDS", 24 * 3600, minimum=0),
            sanitise_seconds=self.integer("SANITISE_SECONDS", 60, minimum=1, maximum=3600),
            test_pause_before_commit=test_pause,
            internal_host=self.text("INTERNAL_HOST", "127.0.0.1"),
        )

    def _ice_host_address(self, production: bool) -> str | None:
        value = (
            self.required(
                "ICE_HOST_ADDRESS",
                "the media node's public IP address(es), comma-separated; unset, the relay "
                "would offer every interface address it has",
            )
            if production
            else self.raw("ICE_HOST_ADDRESS")
        )
        if value is None:
            return None
        addresses = [a.strip() for a in value.split(",")]
        versions = []
        for address in addresses:
            try:
                versions.append(ipaddress.ip_address(address).version)
            except ValueError:
                raise SettingsError(
                    PREFIX + "ICE_HOST_ADDRESS",
                    f"must be IP addresses separated by commas, got {address!r}",
                ) from None
        if len(versions) != len(set(versions)):
            raise SettingsError(
                PREFIX + "ICE_HOST_ADDRESS",
                "takes at most one IPv4 and one IPv6 address (the relay offers one of each)",
            )
        return ",".join(addresses)

    def _trusted_proxies(self, production: bool) -> int:
        # Guessing wrong either way hurts: 0 behind a proxy makes every client one address
        # (one sign-in budget for all), 1 without a proxy lets clients choose their address.
        # So production names it, even when it is 0.
        if production and self.raw("TRUSTED_PROXIES") is None:
            raise SettingsError(
                PREFIX + "TRUSTED_PROXIES",
                "must be set in production: the number of proxies in front of Letterbox that "
                "add X-Forwarded-For (1 behind the usual TLS proxy, 0 if clients connect directly)",
            )
        return self.integer("TRUSTED_PROXIES", 0, minimum=0, maximum=5)

    def _tesseract(self) -> str | None:
        value = self.raw("TESSERACT")
        if value is None:
            return shutil.which("tesseract")
        if value == "off":
            return None
        found = shutil.which(value)
        if found is None:
            raise SettingsError(
                PREFIX + "TESSERACT",
                f"names no program: {value!r} (install tesseract-ocr, or set it to off)",
            )
        return found

    def _test_pause(self, mode: Mode) -> Path | None:
        value = self.raw("TEST_PAUSE_BEFORE_COMMIT")
        if value is None:
            return None
        if mode != "test":
            raise SettingsError(
                PREFIX + "TEST_PAUSE_BEFORE_COMMIT",
                "is a fault-test hook and is refused unless LETTERBOX_ENV=test",
            )
        return Path(value)

    def _s3(self, production: bool) -> S3Settings | None:
        url = (
            self.required("S3_URL", "the MinIO/S3 object store")
            if production
            else self.raw("S3_URL")
        )
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or not parts.path.strip("/"):
            raise SettingsError(
                PREFIX + "S3_URL", f"must look like https://host:port/bucket, got {url!r}"
            )
        access = self.raw("S3_ACCESS_KEY")
        secret = self.raw("S3_SECRET_KEY")
        if access is None:
            raise SettingsError(PREFIX + "S3_ACCESS_KEY", "must be set when LETTERBOX_S3_URL is")
        if secret is None:
            raise SettingsError(PREFIX + "S3_SECRET_KEY", "must be set when LETTERBOX_S3_URL is")
        return S3Settings(
            endpoint=parts.netloc,
            access_key=access,
            secret_key=secret,
            bucket=parts.path.strip("/"),
            secure=parts.scheme == "https",
            region=self.text("S3_REGION", "us-east-1"),
        )

    def _smtp(self, production: bool) -> SmtpSettings | None:
        url = (
            self.required("SMTP_URL", "e-mail for invites") if production else self.raw("SMTP_URL")
        )
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
            raise SettingsError(
                PREFIX + "SMTP_URL",
                f"must look like smtp+starttls://user:pass@host:587, got {url!r}",
            )
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 587)
        except ValueError:
            raise SettingsError(PREFIX + "SMTP_URL", "has an invalid port") from None
        ca_file = self.raw("SMTP_CA_FILE")
        if ca_file is not None and not Path(ca_file).is_file():
            raise SettingsError(
                PREFIX + "SMTP_CA_FILE", f"names no readable file: {ca_file!r} (PEM certificates)"
            )
        if ca_file is not None and parts.scheme == "smtp":
            raise SettingsError(
                PREFIX + "SMTP_CA_FILE",
                "is set but SMTP_URL is plain smtp://; use smtp+starttls:// or smtps://",
            )
        return SmtpSettings(
            host=parts.hostname,
            port=port,
            username=parts.username,
            password=parts.password,
            starttls=parts.scheme == "smtp+starttls",
            implicit_tls=parts.scheme == "smtps",
            mail_from=self.text("MAIL_FROM", "Letterbox <no-reply@letterbox.invalid>"),
            ca_file=Path(ca_file) if ca_file is not None else None,
        )

    def _timezone(self) -> str:
        name = self.text("TIMEZONE", "Europe/London")
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                PREFIX + "TIMEZONE", f"must be a time zone name like Europe/London, got {name!r}"
            ) from None
        return name

    def _turn_urls(self) -> tuple[str, ...]:
        value = self.raw("TURN_URLS")
        if value is None:
            return ()
        urls = tuple(u.strip() for u in value.split(",") if u.strip())
        for url in urls:
            if not url.startswith(("turn:", "turns:")):
                raise SettingsError(
                    PREFIX + "TURN_URLS", f"each entry must start with turn: or turns:, got {url!r}"
                )
        return urls

    def _checkpoint_lock_days(self, has_s3: bool) -> int:
        days = self.integer("CHECKPOINT_LOCK_DAYS", 0, minimum=0, maximum=36500)
        if days and not has_s3:
            raise SettingsError(
                PREFIX + "CHECKPOINT_LOCK_DAYS",
                "needs LETTERBOX_S3_URL: only an S3 bucket with Object Lock keeps checkpoints "
                "write-once (set it to 0, or configure the object store)",
            )
        return days

    def _tsa_url(self) -> str | None:
        value = self.raw("TSA_URL")
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(
                PREFIX + "TSA_URL",
                f"must be the http(s) address of an RFC 3161 time-stamp authority, got {value!r}",
            )
        return value

    def _turn_secret(self) -> str | None:
        secret = self.raw("TURN_SECRET")
        if self.raw("TURN_URLS") is not None and secret is None:
            raise SettingsError(PREFIX + "TURN_SECRET", "must be set when LETTERBOX_TURN_URLS is")
        if secret is not None and len(secret) < 16:
            raise SettingsError(PREFIX + "TURN_SECRET", "must be at least 16 characters")
        return secret

    def _ice_servers(self) -> tuple[Mapping[str, object], ...]:
        value = self.raw("ICE_SERVERS")
        if value is None:
            return ()  # never a public STUN server by default
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            raise SettingsError(
                PREFIX + "ICE_SERVERS",
                'must be JSON, e.g. [{"urls": "turn:turn.example.org:3478", '
                '"username": "u", "credential": "p"}]',
            ) from None
        if not isinstance(parsed, list) or not all(
            isinstance(s, dict) and "urls" in s for s in parsed
        ):
            raise SettingsError(PREFIX + "ICE_SERVERS", 'must be a JSON list of {"urls": ...}')
        return tuple(parsed)


def _check_database_url(url: str) -> None:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise SettingsError(
            PREFIX + "DATABASE_URL",
            "must start with sqlite+aiosqlite:/// or postgresql+asyncpg://, "
            f"got {url.split('@')[-1]!r}",
        )


def _check_master_key(value: str) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(PREFIX + "MASTER_KEY", "must be base64") from None
    if len(raw) != 32:
        raise SettingsError(PREFIX + "MASTER_KEY", f"must decode to 32 bytes, got {len(raw)}")
