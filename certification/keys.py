"""The issuer's keys: an EC P-256 key and self-signed certificate for PAdES signatures of the
PDFs, and an Ed25519 key for the verifiable credentials.

In production the PEM text comes from the environment (LMS_CERTIFICATION_PDF_KEY,
LMS_CERTIFICATION_PDF_CERT, LMS_CERTIFICATION_VC_KEY); elsewhere each key is generated on first
use into a file under var/ (paths configurable in settings) and reused afterwards. Keys are parsed
once per process: parsing per signature is what makes signing slow.

`manage.py certification_keys` prints a new set as environment lines for a deployment's secrets
(each PEM on one line, its line breaks written as \\n, which an env file keeps and this module
turns back). Every process of a deployment must sign with the same keys, and the keys must stay:
the site publishes the credentials' public key (its DID document) and the PDFs carry the
certificate they were signed with. Without the keys, or leave to generate them, the deployment
check (`manage.py check --deploy`, which the deployments run before migrating) fails.
"""

from __future__ import annotations

import datetime
import os
from functools import cache
from pathlib import Path
from typing import Any

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


PDF_KEY, PDF_CERT, VC_KEY = (
    "LMS_CERTIFICATION_PDF_KEY",
    "LMS_CERTIFICATION_PDF_CERT",
    "LMS_CERTIFICATION_VC_KEY",
)


def _pem_from(env_name: str, path: Path) -> bytes | None:
    text = os.environ.get(env_name, "").strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()  # quoted in an env file that keeps quotes (kustomize's)
    if text:
        if "\n" not in text:  # one line, as env files and Kubernetes secrets keep it
            text = text.replace("\\n", "\n")
        return text.encode() + b"\n"
    if path.exists() and path.stat().st_size:
        return path.read_bytes()
    return None


def _refuse(what: str, env_name: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"No {what}: set {env_name} (PEM; `manage.py certification_keys` prints a new set), "
        "or LMS_CERTIFICATION_GENERATE_KEYS=1 to generate keys into var/ (not in production)."
    )


def _private_pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _new_pdf_key() -> bytes:
    return _private_pem(ec.generate_private_key(ec.SECP256R1()))


def _new_vc_key() -> bytes:
    return _private_pem(ed25519.Ed25519PrivateKey.generate())


def _load_pdf_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    loaded = serialization.load_pem_private_key(pem, None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ImproperlyConfigured(f"{PDF_KEY} is not an EC key.")
    return loaded


def _load_vc_key(pem: bytes) -> ed25519.Ed25519PrivateKey:
    loaded = serialization.load_pem_private_key(pem, None)
    if not isinstance(loaded, ed25519.Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{VC_KEY} is not an Ed25519 key.")
    return loaded


def _self_signed(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A self-signed certificate for the PDF signing key, valid ten years."""
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
    return certificate.public_bytes(serialization.Encoding.PEM)


def generate() -> dict[str, str]:
    """A new set of keys as PEM text by environment variable: the PDF signing key with its
    self-signed certificate and the credentials' key (manage.py certification_keys)."""
    pdf_key = _new_pdf_key()
    return {
        PDF_KEY: pdf_key.decode(),
        PDF_CERT: _self_signed(_load_pdf_key(pdf_key)).decode(),
        VC_KEY: _new_vc_key().decode(),
    }


def problems() -> list[str]:
    """What keeps this process from signing, unless it may generate its keys: each key missing
    (neither in the environment nor in its file), unreadable, or a certificate of another key,
    named by its variable."""
    if _may_generate():
        return []
    found: list[str] = []
    loaded: dict[str, Any] = {}
    for env_name, path, load in (
        (PDF_KEY, pdf_key_path(), _load_pdf_key),
        (PDF_CERT, pdf_cert_path(), x509.load_pem_x509_certificate),
        (VC_KEY, vc_key_path(), _load_vc_key),
    ):
        pem = _pem_from(env_name, path)
        if pem is None:
            found.append(f"{env_name} is not set (nor is {path} there).")
            continue
        try:
            loaded[env_name] = load(pem)
        except (ValueError, TypeError, ImproperlyConfigured) as exc:
            found.append(f"{env_name} is not readable: {exc}")
    if PDF_KEY in loaded and PDF_CERT in loaded:
        spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        certified = loaded[PDF_CERT].public_key().public_bytes(*spki)
        if certified != loaded[PDF_KEY].public_key().public_bytes(*spki):
            found.append(f"{PDF_CERT} is not the certificate of {PDF_KEY}.")
    return found


@cache
def pdf_signing_material() -> tuple[bytes, bytes]:
    """(private key PEM, certificate PEM) of the PDF signer, generated on first use if allowed."""
    key_pem = _pem_from(PDF_KEY, pdf_key_path())
    cert_pem = _pem_from(PDF_CERT, pdf_cert_path())
    if key_pem and cert_pem:
        return key_pem, cert_pem
    if not _may_generate():
        raise _refuse("PDF signing key", PDF_KEY)
    key_pem = _write_once(pdf_key_path(), _new_pdf_key())
    key = _load_pdf_key(key_pem)  # the winner's key
    cert_pem = _write_once(pdf_cert_path(), _self_signed(key))
    return key_pem, cert_pem


@cache
def vc_signing_key() -> ed25519.Ed25519PrivateKey:
    """The Ed25519 key that signs verifiable credentials, generated on first use if allowed."""
    pem = _pem_from(VC_KEY, vc_key_path())
    if pem is None:
        if not _may_generate():
            raise _refuse("credential signing key", VC_KEY)
        pem = _write_once(vc_key_path(), _new_vc_key())
    return _load_vc_key(pem)
