"""PAdES signatures of certificate PDFs with pyHanko, with the key parsed once per process.

pyHanko lays out the signature (field, signature dictionary, byte range, incremental update);
the CMS container inside it is made by `_TemplateSigner`: pyHanko builds the first one of a
process with asn1crypto, and every later one reuses its DER encoding, changing only what differs
from one signature to the next (the document's digest and the ECDSA value). Building the
container with asn1crypto cost about three quarters of a certificate's signing time.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import load_private_key_from_pemder_data
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certification.keys import pdf_signing_material

SIGNATURE_BYTES = 6144  # an ECDSA CMS with our certificate takes about 1.5 kB

# The only signed attributes whose value may be copied from one signature to the next
# (content-type, message-digest, signing-certificate-v2); anything else, for instance a signing
# time, makes every signature go through pyHanko in full.
_TEMPLATE_ATTRIBUTES = {"content_type", "message_digest", "signing_certificate_v2"}


def _der(pem_or_der: bytes) -> bytes:
    if asn1_pem.detect(pem_or_der):
        _type, _headers, der = asn1_pem.unarmor(pem_or_der)
        return bytes(der)
    return pem_or_der


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def _children(element: bytes) -> list[bytes]:
    """The DER elements inside a constructed DER element (single-byte tags, as in CMS)."""
    position = 1
    first = element[position]
    position += 1 + (first & 0x7F if first & 0x80 else 0)
    found: list[bytes] = []
    while position < len(element):
        start = position
        first = element[position + 1]
        if first & 0x80:
            count = first & 0x7F
            size = int.from_bytes(element[position + 2 : position + 2 + count], "big")
            position += 2 + count + size
        else:
            position += 2 + first
        found.append(element[start:position])
    return found


def _content(element: bytes) -> bytes:
    first = element[1]
    return element[2 + (first & 0x7F if first & 0x80 else 0) :]


class CmsTemplate:
    """The DER of a CMS SignedData made by pyHanko, cut around its message digest and signature,
    so that a new signature costs one ECDSA operation and a few byte joins."""

    def __init__(self, content_info: bytes, digest: bytes, key: ec.EllipticCurvePrivateKey):
        content_type, wrapped = _children(content_info)
        (signed_data,) = _children(wrapped)
        *signed_data_head, signer_infos = _children(signed_data)
        (signer_info,) = _children(signer_infos)
        version, sid, digest_algorithm, attributes, signature_algorithm, _signature = _children(
            signer_info
        )
        if attributes[0] != 0xA0 or _signature[0] != 0x04:
            raise ValueError("unexpected SignerInfo layout")
        attribute_bytes = _content(attributes)
        if attribute_bytes.count(digest) != 1:
            raise ValueError("message digest not found once in the signed attributes")
        cut = attribute_bytes.index(digest)
        self._content_type = content_type
        self._signed_data_head = b"".join(signed_data_head)
        self._signer_info_head = version + sid + digest_algorithm
        self._signature_algorithm = signature_algorithm
        self._before_digest = attribute_bytes[:cut]
        self._after_digest = attribute_bytes[cut + len(digest) :]
        self._digest_size = len(digest)
        self._key = key

    def sign(self, digest: bytes) -> bytes:
        """A complete DER ContentInfo signing `digest`."""
        if len(digest) != self._digest_size:
            raise ValueError("digest of the wrong size")
        attributes = self._before_digest + digest + self._after_digest
        # The signature covers the attributes DER-encoded as a SET OF (tag 0x31); in the
        # SignerInfo they are stored under the implicit tag [0] (0xA0).
        value = self._key.sign(_tlv(0x31, attributes), ec.ECDSA(hashes.SHA256()))
        signer_info = _tlv(
            0x30,
            self._signer_info_head
            + _tlv(0xA0, attributes)
            + self._signature_algorithm
            + _tlv(0x04, value),
        )
        signed_data = _tlv(0x30, self._signed_data_head + _tlv(0x31, signer_info))
        return _tlv(0x30, self._content_type + _tlv(0xA0, signed_data))


class _TemplateSigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner, except that PDF signatures after the first reuse its CMS
    encoding (`CmsTemplate`). Any unusual request goes to pyHanko unchanged."""

    def __init__(self, *, ec_key: ec.EllipticCurvePrivateKey | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ec_key = ec_key
        self._templates: dict[tuple[str, bool], CmsTemplate | None] = {}

    async def async_sign(  # type: ignore[override]
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run: bool = False,
        use_pades: bool = False,
        timestamper: Any = None,
        signed_attr_settings: Any = None,
        is_pdf_sig: bool = True,
        encap_content_info: Any = None,
    ) -> Any:
        plain = (
            not dry_run
            and timestamper is None
            and is_pdf_sig
            and encap_content_info is None
            and digest_algorithm == "sha256"
            and self._ec_key is not None
            and (
                signed_attr_settings is None
                or (
                    signed_attr_settings.adobe_revinfo_attr is None
                    and signed_attr_settings.cades_signed_attrs is None
                )
            )
        )
        key = (digest_algorithm, use_pades)
        if plain and self._templates.get(key) is not None:
            return self._templates[key].sign(data_digest)  # type: ignore[union-attr]
        content_info = await super().async_sign(
            data_digest,
            digest_algorithm,
            dry_run=dry_run,
            use_pades=use_pades,
            timestamper=timestamper,
            signed_attr_settings=signed_attr_settings,
            is_pdf_sig=is_pdf_sig,
            encap_content_info=encap_content_info,
        )
        if plain and key not in self._templates:
            self._templates[key] = _template_from(content_info, data_digest, self._ec_key)
        return content_info


def _template_from(
    content_info: Any, digest: bytes, key: ec.EllipticCurvePrivateKey | None
) -> CmsTemplate | None:
    """A template from pyHanko's signature, or None when it signs anything that may change."""
    signer_info = content_info["content"]["signer_infos"][0]
    kinds = {attribute["type"].native for attribute in signer_info["signed_attrs"]}
    algorithm = signer_info["signature_algorithm"]["algorithm"].native
    if key is None or kinds != _TEMPLATE_ATTRIBUTES or algorithm != "sha256_ecdsa":
        return None
    return CmsTemplate(content_info.dump(), digest, key)


@cache
def signing_certificate() -> asn1_x509.Certificate:
    """The certificate that PDF signatures are made with (a verifier's trust anchor)."""
    _key, cert_pem = pdf_signing_material()
    return asn1_x509.Certificate.load(_der(cert_pem))


@cache
def _pdf_signer() -> signers.PdfSigner:
    key_pem, _cert = pdf_signing_material()
    private_key: asn1_keys.PrivateKeyInfo = load_private_key_from_pemder_data(key_pem, None)
    loaded = serialization.load_der_private_key(_der(key_pem), None)
    certificate = signing_certificate()
    signer = _TemplateSigner(
        ec_key=loaded if isinstance(loaded, ec.EllipticCurvePrivateKey) else None,
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


def preload() -> None:
    """Parse the key and certificate now rather than on the first signature."""
    _pdf_signer()


def sign_pdf(pdf: bytes) -> bytes:
    """The PDF with an invisible PAdES signature over the whole file appended."""
    return sign_writer(IncrementalPdfFileWriter(BytesIO(pdf), strict=False))


def sign_writer(writer: IncrementalPdfFileWriter) -> bytes:
    """Write the pending changes of `writer` and the signature as one incremental update."""
    output = BytesIO()
    # Reserving the space up front spares pyHanko a dummy signature to estimate it.
    _pdf_signer().sign_pdf(writer, output=output, bytes_reserved=SIGNATURE_BYTES)
    return output.getvalue()
