"""The signed PDF: valid for pyHanko's validator and for poppler's pdfsig, any change detected,
and the renderer never fetches anything."""

from __future__ import annotations

import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from certification.models import Certificate
from certification.rendering import LocalOnlyFetcher
from certification.signing import signing_certificate

pytestmark = pytest.mark.django_db


def _pyhanko_status(pdf: bytes) -> Any:
    reader = PdfFileReader(BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[signing_certificate()])
    return validate_pdf_signature(signature, context)


def _pdfsig(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(  # noqa: S603 - poppler's pdfsig on our own file
        ["/usr/bin/pdfsig", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    return result.stdout + result.stderr


def test_signature_is_valid_for_pyhanko(certificate: Certificate) -> None:
    status = _pyhanko_status(certificate.pdf.read())
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.coverage.name == "ENTIRE_FILE"


def test_signature_is_valid_for_pdfsig(certificate: Certificate, tmp_path: Path) -> None:
    output = _pdfsig(certificate.pdf.read(), tmp_path)
    assert "Signature is Valid" in output
    assert "Total document signed" in output


def test_later_signatures_of_a_process_are_valid_too(
    certificate: Certificate, learner: Any, run: Any, tmp_path: Path
) -> None:
    """The first signature of a process is made by pyHanko in full, the later ones reuse its CMS
    encoding (certification.signing.CmsTemplate): they must validate just the same."""
    from certification import services
    from tests.certification.factories import completed
    from tests.factories import UserFactory

    later = [
        services.issue_course_certificate(
            enrollment_id=completed(UserFactory(institution=learner.institution), run).pk
        )
        for _ in range(2)
    ]
    pdfs = []
    for issued in later:
        assert issued is not None
        pdf = issued.pdf.read()
        pdfs.append(pdf)
        status = _pyhanko_status(pdf)
        assert (status.intact, status.valid, status.trusted) == (True, True, True)
        assert status.coverage.name == "ENTIRE_FILE"
        assert "Signature is Valid" in _pdfsig(pdf, tmp_path)
    assert pdfs[0][-8000:] != pdfs[1][-8000:]  # each has its own digest and ECDSA value


def test_tampered_pdf_is_detected(certificate: Certificate, tmp_path: Path) -> None:
    pdf = bytearray(certificate.pdf.read())
    position = pdf.index(b"/MediaBox")
    pdf[position + 1 : position + 9] = b"Mediabox"  # one changed letter inside the signed bytes
    tampered = bytes(pdf)
    assert not _pyhanko_status(tampered).intact
    output = _pdfsig(tampered, tmp_path)
    assert "Signature is Valid" not in output


def test_pdf_shows_the_holder_and_code(certificate: Certificate, tmp_path: Path) -> None:
    path = tmp_path / "c.pdf"
    path.write_bytes(certificate.pdf.read())
    text = subprocess.run(  # noqa: S603
        ["/usr/bin/pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert certificate.holder_name in text
    assert certificate.code[:4] in text
    assert "Strategic police management" in text


def test_renderer_refuses_the_network() -> None:
    fetcher = LocalOnlyFetcher()
    for url in (
        "http://example.org/logo.png",
        "https://example.org/font.ttf",
        "file:///etc/passwd",
    ):
        with pytest.raises(ValueError, match="does not fetch|may not read"):
            fetcher.fetch(url)


def test_worker_preload_fills_the_process_caches() -> None:
    """A Celery worker's main process loads fonts, stylesheet and signing key before forking
    its pool, so every pool process starts with them (certification.apps.preload_for_workers,
    connected to celery's worker_init)."""
    from celery import signals as celery_signals

    from certification import rendering, signing
    from certification.apps import preload_for_workers

    # Connected strongly (weak=False): the receiver itself is stored, not a weak reference.
    connected = [receiver for _key, receiver in celery_signals.worker_init.receivers]
    assert preload_for_workers in connected
    preload_for_workers()
    assert rendering._stylesheet.cache_info().currsize == 1
    assert signing._pdf_signer.cache_info().currsize == 1
