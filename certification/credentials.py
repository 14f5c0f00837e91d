"""Open Badges 3.0 credentials (W3C Verifiable Credentials) signed with Ed25519, the issuer's DID
document, and the Bitstring Status List that publishes revocations.

Proofs are W3C Data Integrity proofs of the `eddsa-jcs-2022` cryptosuite: the credential and the
proof options are canonicalised with JCS (RFC 8785), hashed with SHA-256, and the concatenated
hashes are signed with the issuer's Ed25519 key. Anyone can check them with the public key in the
DID document (did:web), without calling us.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.urls import reverse

from certification.keys import vc_signing_key

STATUS_LIST_BITS = 2**21  # room for two million certificates; published gzip-compressed
CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ED25519_MULTICODEC = b"\xed\x01"


def base58btc(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def base58btc_decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + _B58.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def canonical_json(value: Any) -> bytes:
    """JCS (RFC 8785) for the JSON we produce: strings, integers, booleans, lists, objects."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def issuer_did() -> str:
    """did:web of the issuer, resolved at {SITE_URL}/certificates/issuer/did.json."""
    parsed = urlparse(settings.SITE_URL)
    return "did:web:" + quote(parsed.netloc, safe="") + ":certificates:issuer"


def verification_method() -> str:
    return issuer_did() + "#key-1"


def public_key_multibase(public_key: ed25519.Ed25519PublicKey | None = None) -> str:
    key = public_key or vc_signing_key().public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58btc(_ED25519_MULTICODEC + raw)


def public_key_from_multibase(value: str) -> ed25519.Ed25519PublicKey:
    raw = base58btc_decode(value[1:])
    if not value.startswith("z") or raw[:2] != _ED25519_MULTICODEC:
        raise ValueError("not a base58btc Ed25519 multikey")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw[2:])


def did_document() -> dict[str, Any]:
    """The issuer's DID document: its public key as a Multikey."""
    did = issuer_did()
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": verification_method(),
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": public_key_multibase(),
            }
        ],
        "assertionMethod": [verification_method()],
    }


def _hash_data(document: dict[str, Any], options: dict[str, Any]) -> bytes:
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    config = {**options, "@context": document["@context"]}
    return (
        hashlib.sha256(canonical_json(config)).digest()
        + hashlib.sha256(canonical_json(unsecured)).digest()
    )


def sign(document: dict[str, Any], created: datetime | None = None) -> dict[str, Any]:
    """The document with an eddsa-jcs-2022 Data Integrity proof added."""
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": (created or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verificationMethod": verification_method(),
        "proofPurpose": "assertionMethod",
    }
    signature = vc_signing_key().sign(_hash_data(document, options))
    return {**document, "proof": {**options, "proofValue": "z" + base58btc(signature)}}


def verify(document: dict[str, Any], public_key: ed25519.Ed25519PublicKey | None = None) -> bool:
    """Whether the document's eddsa-jcs-2022 proof is valid for the key (ours by default)."""
    proof = document.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != "eddsa-jcs-2022":
        return False
    value = proof.get("proofValue", "")
    if not isinstance(value, str) or not value.startswith("z"):
        return False
    options = {key: item for key, item in proof.items() if key != "proofValue"}
    key = public_key or vc_signing_key().public_key()
    try:
        key.verify(base58btc_decode(value[1:]), _hash_data(document, options))
    except (InvalidSignature, ValueError):
        return False
    return True


def status_list_url() -> str:
    return settings.SITE_URL + reverse("certification:status_list")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_badge_credential(
    *,
    certificate_id: str,
    holder_name: str,
    holder_email: str,
    title: str,
    description: str,
    criteria: str,
    issued_at: datetime,
    expires_on: datetime | None,
    issuer_name: str,
    status_index: int,
    verify_url: str,
    credit_hours: str,
    language: str,
) -> dict[str, Any]:
    """A signed OpenBadgeCredential for one certificate."""
    site = settings.SITE_URL
    salt = hashlib.sha256(certificate_id.encode()).hexdigest()[:16]
    identity = "sha256$" + hashlib.sha256((holder_email.lower() + salt).encode()).hexdigest()
    document: dict[str, Any] = {
        "@context": CONTEXTS,
        "id": f"urn:uuid:{certificate_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": title,
        "issuer": {"id": issuer_did(), "type": ["Profile"], "name": issuer_name, "url": site},
        "validFrom": _iso(issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": holder_name,
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": identity,
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": salt,
                }
            ],
            "achievement": {
                "id": verify_url,
                "type": ["Achievement"],
                "name": title,
                "description": description or title,
                "criteria": {"narrative": criteria},
                "inLanguage": language,
                "creditsAvailable": credit_hours,
            },
        },
        "credentialStatus": {
            "id": f"{status_list_url()}#{status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(status_index),
            "statusListCredential": status_list_url(),
        },
    }
    if expires_on is not None:
        document["validUntil"] = _iso(expires_on)
    return sign(document, created=issued_at)


def encode_status_list(revoked_indexes: Iterable[int]) -> str:
    """The multibase (base64url, no padding) GZIP bitstring; bit 0 is the leftmost bit."""
    bits = bytearray(STATUS_LIST_BITS // 8)
    for index in revoked_indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode().rstrip("=")


def is_set(encoded_list: str, index: int) -> bool:
    """Read one bit of an encoded status list, as a verifier does."""
    raw = encoded_list[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(revoked_indexes: Iterable[int], issuer_name: str) -> dict[str, Any]:
    """The signed BitstringStatusListCredential of revocations."""
    url = status_list_url()
    return sign(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": issuer_did(),
            "name": issuer_name,
            "validFrom": _iso(datetime.now(UTC)),
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": encode_status_list(revoked_indexes),
            },
        }
    )
