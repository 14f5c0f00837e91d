"""The issuer's keys: an EC P-256 key and self-signed certificate for PAdES signatures of the
PDFs, and an Ed25519 key for the verifiable credentials.

In production the PEM text comes from the environment (LMS_CERTIFICATION_PDF_KEY,
LMS_CERTIFICATION_PDF_CERT, LMS_CERTIFICATION_VC_KEY); elsewhere each key is generated on first
use into a file under var/ (paths configurable in settings) and reused afterwards. Keys are parsed
once per process: parsing per signature is what makes signing slow.
"""

from __future__ import annotations

import datetime
import os
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _key_dir() -> Path:
    return Path(getattr(settings, "CERTIFICATION_KEY_DIR", settings.VAR_DIR / "certification"))


def pdf_key_path() -> Path:
    return Path(getattr(settings, "CERTIFICATION_PDF_KEY_PATH", _key_dir() / "pdf-signing-key.pem"))


def pdf_cert_path() -> Path:
    return Path(
        getattr(settings, "CERTIFICATION_PDF_CERT_PATH", _key_dir() / "pdf-signing-cert.pem")
    )


def vc_key_path() -> Path:
    return Path(getattr(settings, "CERTIFICATION_VC_KEY_PATH", _key_dir() / "vc-ed25519-key.pem"))


def _may_generate() -> bool:
    return bool(
        getattr(settings, "CERTIFICATION_GENERATE_KEYS", settings.DEBUG or settings.TESTING)
    )


def _write_once(path: Path, data: bytes) -> bytes:
    """Write `data` unless another process won the race; return what is in the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return data


def _pem_from(env_name: str, path: Path) -> bytes | None:
    text = os.environ.get(env_name, "")
    if text:
        return text.encode()
    if path.exists() and path.stat().st_size:
        return path.read_bytes()
    return None


def _refuse(what: str, env_name: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"No {what}: set {env_name} (PEM) in production, or CERTIFICATION_GENERATE_KEYS=True."
    )


@cache
def pdf_signing_material() -> tuple[bytes, bytes]:
    """(private key PEM, certificate PEM) of the PDF signer, generated on first use if allowed."""
    key_pem = _pem_from("LMS_CERTIFICATION_PDF_KEY", pdf_key_path())
    cert_pem = _pem_from("LMS_CERTIFICATION_PDF_CERT", pdf_cert_path())
    if key_pem and cert_pem:
        return key_pem, cert_pem
    if not _may_generate():
        raise _refuse("PDF signing key", "LMS_CERTIFICATION_PDF_KEY")
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = _write_once(
        pdf_key_path(),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    loaded = serialization.load_pem_private_key(key_pem, None)  # the winner's key
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ImproperlyConfigured(f"{pdf_key_path()} is not an EC key.")
    key = loaded
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Police Training Network certificates"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Police Training Network"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = _write_once(pdf_cert_path(), certificate.public_bytes(serialization.Encoding.PEM))
    return key_pem, cert_pem


@cache
def vc_signing_key() -> ed25519.Ed25519PrivateKey:
    """The Ed25519 key that signs verifiable credentials, generated on first use if allowed."""
    pem = _pem_from("LMS_CERTIFICATION_VC_KEY", vc_key_path())
    if pem is None:
        if not _may_generate():
            raise _refuse("credential signing key", "LMS_CERTIFICATION_VC_KEY")
        pem = _write_once(
            vc_key_path(),
            ed25519.Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    key = serialization.load_pem_private_key(pem, None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ImproperlyConfigured("LMS_CERTIFICATION_VC_KEY is not an Ed25519 key.")
    return key
