"""A local RFC 3161 time-stamp authority for tests: a throw-away CA and TSA certificate made
here, ``openssl ts -reply`` answering each query, behind a small HTTP server on a free port."""

from __future__ import annotations

import asyncio
import datetime
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class LocalAuthority:
    url: str
    ca_pem: bytes
    queries: list[bytes]
    failing: bool = False  # answer HTTP 500, like an authority that is down


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(folder: Path, label: str = "Test") -> tuple[bytes, Path, Path]:
    """A CA and a time-stamping certificate it issued; returns the CA PEM and the TSA files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} CA"))
        .issuer_name(_name(f"{label} CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} Time-Stamp Authority"))
        .issuer_name(ca.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "tsa.crt", folder / "tsa.key"
    cert_path.write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca.public_bytes(serialization.Encoding.PEM), cert_path, key_path


@asynccontextmanager
async def local_authority(folder: Path) -> AsyncIterator[LocalAuthority]:
    ca_pem, cert_path, key_path = make_ca(folder)
    (folder / "serial").write_text("01\n")
    config = folder / "ts.cnf"
    config.write_text(
        "[ tsa ]\ndefault_tsa = tsa_config1\n[ tsa_config1 ]\n"
        f"serial = {folder / 'serial'}\ncrypto_device = builtin\n"
        f"signer_cert = {cert_path}\nsigner_key = {key_path}\nsigner_digest = sha256\n"
        "default_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\nordering = no\n"
        "tsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
    )
    counter = itertools.count()
    authority = LocalAuthority(url="", ca_pem=ca_pem, queries=[])

    async def answer(request: web.Request) -> web.Response:
        if authority.failing:
            return web.Response(status=500, text="down")
        query = await request.read()
        authority.queries.append(query)
        n = next(counter)
        query_path, reply_path = folder / f"q{n}.tsq", folder / f"r{n}.tsr"
        query_path.write_bytes(query)
        process = await asyncio.create_subprocess_exec(
            "openssl", "ts", "-reply", "-config", str(config), "-queryfile", str(query_path),
            "-out", str(reply_path),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.wait_for(process.wait(), timeout=60)
        return web.Response(
            body=reply_path.read_bytes(), content_type="application/timestamp-reply"
        )

    app = web.Application()
    app.router.add_post("/tsa", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        authority.url = f"http://127.0.0.1:{port}/tsa"
        yield authority
    finally:
        await runner.cleanup()
