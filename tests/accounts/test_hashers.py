"""Passwords are hashed with Argon2id at the OWASP minimum cost; older PBKDF2 hashes still sign
people in and are rehashed on the way."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PRODUCTION_HASHERS = [
    "lms.accounts.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def test_new_passwords_are_argon2id_with_the_owasp_parameters(settings: Any) -> None:
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    encoded = make_password("a long enough passphrase")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert identify_hasher(encoded).algorithm == "argon2"
    assert check_password("a long enough passphrase", encoded)
    assert not check_password("a long enough passphrasE", encoded)


def test_a_pbkdf2_password_signs_in_and_is_rehashed(settings: Any) -> None:
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    user = UserFactory(status="active")
    user.password = make_password("old style passphrase", hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    response = Client().post(
        "/accounts/login/", {"username": user.email, "password": "old style passphrase"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
