"""RFC 3161 time-stamps for centre checkpoints: the request, and the token checked offline.

Pure (``asn1crypto``, ``cryptography``, the standard library): the offline verifier imports it
to check a bundle's token. A token proves that a time-stamp authority outside the centre saw
the centre checkpoint's SHA-256 at its ``genTime``: a checkpoint made later cannot pretend to
be older, and one that was time-stamped cannot be deleted without the authority's copy (and
every bundle holding it) contradicting the centre.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

__all__ = [
    "MEDIA_QUERY",
    "MEDIA_REPLY",
    "TimestampInvalid",
    "TimestampToken",
    "check_token",
    "make_request",
    "token_from_reply",
]

MEDIA_QUERY: Final = "application/timestamp-query"
MEDIA_REPLY: Final = "application/timestamp-reply"
MAX_TOKEN_BYTES: Final = 64 * 1024
_HASHES: Final[dict[str, Callable[[], hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class TimestampInvalid(Exception):
    """The reply or token is malformed, for another digest, or not signed by its authority."""


@dataclass(frozen=True)
class TimestampToken:
    gen_time: datetime
    authority: str  # the signing certificate's subject, as text
    token: bytes


def make_request(digest: bytes) -> tuple[bytes, int]:
    """A DER TimeStampReq for a SHA-256 ``digest``, asking for the certificate; and its nonce."""
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    nonce = secrets.randbits(63)
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return request.dump(), nonce


def token_from_reply(reply: bytes, digest: bytes, nonce: int) -> TimestampToken:
    """The token of a granted reply to our request, checked; else `TimestampInvalid`."""
    try:
        response = tsp.TimeStampResp.load(reply)
        status = response["status"]["status"].native
        token = response["time_stamp_token"]
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampInvalid(f"the reply is not an RFC 3161 response ({exc})") from None
    if status not in ("granted", "granted_with_mods") or token.native is None:
        raise TimestampInvalid(f"the time-stamp authority answered {status!r}")
    checked = check_token(token.dump(), digest)
    nonce_found = _tst_info(token)["nonce"].native
    if nonce_found != nonce:
        raise TimestampInvalid("the reply does not answer our request (nonce differs)")
    return checked


def _tst_info(token: Any) -> Any:
    return token["content"]["encap_content_info"]["content"].parsed


def check_token(token_der: bytes, digest: bytes, *, ca_pem: bytes | None = None) -> TimestampToken:
    """Check a time-stamp token offline: it is for ``digest`` (SHA-256), its CMS signature is
    by the certificate it carries, that certificate is for time-stamping, and (given
    ``ca_pem``) was issued by that authority's CA."""
    if len(token_der) > MAX_TOKEN_BYTES:
        raise TimestampInvalid("the time-stamp token is too large")
    try:
        token = cms.ContentInfo.load(token_der)
        if token["content_type"].native != "signed_data":
            raise TimestampInvalid("the time-stamp token is not CMS signed data")
        signed = token["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampInvalid("the time-stamp token does not hold a TSTInfo")
        content = encap["content"]
        tst_der = content.contents
        tst = content.parsed
        imprint = tst["message_imprint"]
        if imprint["hash_algorithm"]["algorithm"].native != "sha256":
            raise TimestampInvalid("the time-stamp is not over a SHA-256 digest")
        if imprint["hashed_message"].native != digest:
            raise TimestampInvalid("the time-stamp is for a different checkpoint")
        gen_time = tst["gen_time"].native
        infos = signed["signer_infos"]
        if len(infos) != 1:
            raise TimestampInvalid("the time-stamp token must have exactly one signer")
        signer = infos[0]
        certificate = _signer_certificate(signed, signer)
        _check_signature(signer, tst_der, certificate)
    except TimestampInvalid:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise TimestampInvalid(
            f"the time-stamp token is malformed ({type(exc).__name__})"
        ) from None
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        raise TimestampInvalid("the signing certificate is not for time-stamping")
    if ca_pem is not None:
        try:
            ca = x509.load_pem_x509_certificate(ca_pem)
            certificate.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            raise TimestampInvalid(
                "the time-stamp authority's certificate was not issued by the CA you gave"
            ) from None
    if not isinstance(gen_time, datetime):
        raise TimestampInvalid("the time-stamp has no time")
    return TimestampToken(gen_time, certificate.subject.rfc4514_string(), token_der)


def _signer_certificate(signed: Any, signer: Any) -> x509.Certificate:
    sid = signer["sid"]
    if sid.name != "issuer_and_serial_number":
        raise TimestampInvalid("the time-stamp signer is not named by issuer and serial")
    wanted = sid.chosen
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        certificate = choice.chosen
        if (
            certificate.issuer == wanted["issuer"]
            and certificate.serial_number == wanted["serial_number"].native
        ):
            return x509.load_der_x509_certificate(certificate.dump())
    raise TimestampInvalid("the time-stamp token does not carry its signing certificate")


def _check_signature(signer: Any, content: bytes, certificate: x509.Certificate) -> None:
    algorithm = signer["digest_algorithm"]["algorithm"].native
    if algorithm not in _HASHES:
        raise TimestampInvalid(f"the time-stamp uses an unsupported digest ({algorithm})")
    attrs = signer["signed_attrs"]
    if not attrs:
        raise TimestampInvalid("the time-stamp signature has no signed attributes")
    found = {a["type"].native: a["values"][0].native for a in attrs}
    if found.get("content_type") != "tst_info":
        raise TimestampInvalid("the time-stamp's signed content type is wrong")
    if found.get("message_digest") != hashlib.new(algorithm, content).digest():
        raise TimestampInvalid("the time-stamp's signature does not cover its content")
    # The signature covers the attributes DER-encoded as a SET, not as the [0] they sit in.
    signed_bytes = b"\x31" + attrs.dump()[1:]
    signature = signer["signature"].native
    key = certificate.public_key()
    hash_algorithm = _HASHES[algorithm]()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_bytes, ec.ECDSA(hash_algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed_bytes, padding.PKCS1v15(), hash_algorithm)
        else:
            raise TimestampInvalid("the time-stamp authority's key type is not supported")
    except InvalidSignature:
        raise TimestampInvalid("the time-stamp signature is not valid") from None
