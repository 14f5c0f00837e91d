"""PAdES signatures of certificate PDFs with pyHanko, with the key parsed once per process."""

from __future__ import annotations

from functools import cache
from io import BytesIO

from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import load_private_key_from_pemder_data
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certification.keys import pdf_signing_material

SIGNATURE_BYTES = 6144  # an ECDSA CMS with our certificate takes about 1.5 kB


def _der(pem_or_der: bytes) -> bytes:
    if asn1_pem.detect(pem_or_der):
        _type, _headers, der = asn1_pem.unarmor(pem_or_der)
        return bytes(der)
    return pem_or_der


@cache
def signing_certificate() -> asn1_x509.Certificate:
    """The certificate that PDF signatures are made with (a verifier's trust anchor)."""
    _key, cert_pem = pdf_signing_material()
    return asn1_x509.Certificate.load(_der(cert_pem))


@cache
def _pdf_signer() -> signers.PdfSigner:
    key_pem, _cert = pdf_signing_material()
    private_key: asn1_keys.PrivateKeyInfo = load_private_key_from_pemder_data(key_pem, None)
    certificate = signing_certificate()
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=private_key,
        cert_registry=SimpleCertificateStore.from_certs([certificate]),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name="CertificateSignature",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason="Certificate issued by the Police Training Network",
        location=settings.SITE_URL,
    )
    return signers.PdfSigner(metadata, signer=signer)


def sign_pdf(pdf: bytes) -> bytes:
    """The PDF with an invisible PAdES signature over the whole file appended."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    output = BytesIO()
    # Reserving the space up front spares pyHanko a dummy signature to estimate it.
    _pdf_signer().sign_pdf(writer, output=output, bytes_reserved=SIGNATURE_BYTES)
    return output.getvalue()


def sign_writer(writer: IncrementalPdfFileWriter) -> bytes:
    """Write the pending changes of `writer` and the signature as one incremental update."""
    output = BytesIO()
    # Reserving the space up front spares pyHanko a dummy signature to estimate it.
    _pdf_signer().sign_pdf(writer, output=output, bytes_reserved=SIGNATURE_BYTES)
    return output.getvalue()
