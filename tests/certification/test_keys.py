"""The certificates' signing keys in a deployment: printed once by `manage.py certification_keys`,
given in the environment (one line each), checked before the deployment starts
(certification.E001), and what a production process then signs with."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.core.management import call_command

from certification import credentials
from tests.processes import python

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-production-secret-for-the-tests-0123456789-abcdef",
    "DJANGO_ALLOWED_HOSTS": "lms.example.org",
}
CHECK = (
    "import sys; from django.core.management import execute_from_command_line; "
    "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'ERROR'])"
)
# In a production process: a PDF signed and a credential signed and verified with the keys given,
# whether the PDF's signature carries the certificate given, and what was written to var/.
SIGN = """
import django, json, os
django.setup()
from io import BytesIO
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from weasyprint import HTML
from certification import credentials, signing
from certification.keys import pdf_signing_material
_key, cert_pem = pdf_signing_material()
signed = signing.sign_pdf(HTML(string="<p>Certificate</p>").write_pdf())
embedded = PdfFileReader(BytesIO(signed)).embedded_signatures[0]
given = x509.load_pem_x509_certificate(cert_pem)
document = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]}
print(json.dumps({
    "same_certificate": embedded.signer_cert.dump() == given.public_bytes(Encoding.DER),
    "credential_verifies": credentials.verify(credentials.sign(document)),
    "public_key": credentials.public_key_multibase(),
    "files": sorted(os.listdir(os.path.join(os.environ["LMS_VAR_DIR"], "certification")))
        if os.path.isdir(os.path.join(os.environ["LMS_VAR_DIR"], "certification")) else [],
}))
"""


def new_keys() -> dict[str, str]:
    out = io.StringIO()
    call_command("certification_keys", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    return dict(line.split("=", 1) for line in lines)


def test_the_printed_keys_are_one_line_each_and_new_each_time() -> None:
    first, second = new_keys(), new_keys()
    assert set(first) == {
        "LMS_CERTIFICATION_PDF_KEY",
        "LMS_CERTIFICATION_PDF_CERT",
        "LMS_CERTIFICATION_VC_KEY",
    }
    assert first["LMS_CERTIFICATION_PDF_KEY"].startswith("-----BEGIN PRIVATE KEY-----\\n")
    assert first["LMS_CERTIFICATION_PDF_CERT"].startswith("-----BEGIN CERTIFICATE-----\\n")
    assert all(first[name] != second[name] for name in first)


def test_production_without_keys_stops_at_the_deployment_check(tmp_path: Path) -> None:
    result = python(CHECK, **PRODUCTION, LMS_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    for name in (
        "LMS_CERTIFICATION_PDF_KEY",
        "LMS_CERTIFICATION_PDF_CERT",
        "LMS_CERTIFICATION_VC_KEY",
    ):
        assert f"(certification.E001) {name} is not set" in result.stderr
    assert "manage.py certification_keys" in result.stderr


def test_production_with_the_printed_keys_passes_the_check_and_signs_with_them(
    tmp_path: Path,
) -> None:
    keys = new_keys()
    # an env file that keeps quotes (kustomize's) gives the value quoted: taken all the same
    keys["LMS_CERTIFICATION_VC_KEY"] = f'"{keys["LMS_CERTIFICATION_VC_KEY"]}"'
    environment = {**PRODUCTION, **keys, "LMS_VAR_DIR": str(tmp_path)}
    check = python(CHECK, **environment)
    assert check.returncode == 0, check.stderr
    assert "certification.E001" not in check.stderr
    signed = python(SIGN, **environment)
    assert signed.returncode == 0, signed.stderr
    result = json.loads(signed.stdout.strip().splitlines()[-1])
    assert result["same_certificate"] is True
    assert result["credential_verifies"] is True
    assert result["files"] == []  # nothing generated: the keys given were used
    # the key published is the one given, so every process given it signs alike
    given = load_pem_private_key(
        keys["LMS_CERTIFICATION_VC_KEY"][1:-1].replace("\\n", "\n").encode(), None
    )
    assert isinstance(given, Ed25519PrivateKey)
    assert result["public_key"] == credentials.public_key_multibase(given.public_key())


def test_a_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    keys, other = new_keys(), new_keys()
    keys["LMS_CERTIFICATION_PDF_CERT"] = other["LMS_CERTIFICATION_PDF_CERT"]
    result = python(CHECK, **PRODUCTION, **keys, LMS_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert (
        "(certification.E001) LMS_CERTIFICATION_PDF_CERT is not the certificate of "
        "LMS_CERTIFICATION_PDF_KEY" in result.stderr
    )


def test_a_key_that_is_not_a_key_is_named(tmp_path: Path) -> None:
    keys = new_keys()
    keys["LMS_CERTIFICATION_VC_KEY"] = keys["LMS_CERTIFICATION_PDF_KEY"]  # EC, not Ed25519
    result = python(CHECK, **PRODUCTION, **keys, LMS_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "(certification.E001) LMS_CERTIFICATION_VC_KEY is not readable" in result.stderr


@pytest.mark.parametrize("switch", ["1", "0"])
def test_generating_keys_outside_debug_is_asked_for_explicitly(tmp_path: Path, switch: str) -> None:
    """The load test runs with DEBUG off and issues certificates: it asks for keys generated into
    its var/; production (the switch off) does not get them silently."""
    environment = {
        **PRODUCTION,
        "LMS_CERTIFICATION_GENERATE_KEYS": switch,
        "LMS_VAR_DIR": str(tmp_path),
    }
    check = python(CHECK, **environment)
    signed = python(SIGN, **environment)
    if switch == "1":
        assert check.returncode == 0, check.stderr
        assert signed.returncode == 0, signed.stderr
        result = json.loads(signed.stdout.strip().splitlines()[-1])
        assert result["same_certificate"] is True
        assert result["files"] == [
            "pdf-signing-cert.pem",
            "pdf-signing-key.pem",
            "vc-ed25519-key.pem",
        ]
    else:
        assert check.returncode != 0
        assert signed.returncode != 0
        assert "No PDF signing key: set LMS_CERTIFICATION_PDF_KEY" in signed.stderr
        assert not (tmp_path / "certification").exists()
