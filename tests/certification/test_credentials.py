"""The Open Badges 3.0 credential: signed, verifiable with the published key, tamper-evident, and
its revocation published in the Bitstring Status List."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client

from certification import credentials, services
from certification.models import Certificate

pytestmark = pytest.mark.django_db


def _published_key(client: Client) -> Any:
    document = client.get("/certificates/issuer/did.json").json()
    (method,) = document["verificationMethod"]
    assert method["type"] == "Multikey"
    return document["id"], credentials.public_key_from_multibase(method["publicKeyMultibase"])


def test_credential_verifies_with_the_published_key(certificate: Certificate) -> None:
    client = Client()
    client.force_login(certificate.user)
    response = client.get(f"/certificates/{certificate.pk}/credential.json")
    assert response.status_code == 200
    credential = response.json()
    assert "OpenBadgeCredential" in credential["type"]
    did, key = _published_key(Client())
    assert credential["issuer"]["id"] == did
    assert credential["proof"]["verificationMethod"].startswith(did)
    assert credentials.verify(credential, key)


def test_tampered_credential_is_refused(certificate: Certificate) -> None:
    tampered = copy.deepcopy(certificate.credential)
    tampered["credentialSubject"]["name"] = "Somebody Else"
    assert not credentials.verify(tampered)
    dated = copy.deepcopy(certificate.credential)
    dated["proof"]["created"] = "2000-01-01T00:00:00Z"
    assert not credentials.verify(dated)
    assert credentials.verify(certificate.credential)


def test_revocation_appears_in_the_status_list(certificate: Certificate, dps_admin: Any) -> None:
    client = Client()
    entry = certificate.credential["credentialStatus"]
    index = int(entry["statusListIndex"])
    status_list = client.get("/certificates/status/revocation").json()
    assert credentials.verify(status_list)
    assert not credentials.is_set(status_list["credentialSubject"]["encodedList"], index)

    staff = Client()
    staff.force_login(dps_admin)
    response = staff.post(f"/certificates/{certificate.pk}/revoke", {"reason": "Fraud"})
    assert response.status_code == 302
    status_list = client.get("/certificates/status/revocation").json()
    assert credentials.is_set(status_list["credentialSubject"]["encodedList"], index)


def test_status_indexes_are_not_sequential(learner: Any, run: Any) -> None:
    from tests.certification.factories import RunFactory, completed

    indexes = [
        services.issue_course_certificate(
            enrollment_id=completed(learner, RunFactory(host_institution=run.host_institution)).pk
        ).status_index
        for _ in range(3)
    ]
    assert sorted(indexes) != list(range(indexes[0], indexes[0] + 3))
