"""Writes of the LRS app: clients, launch credentials."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lms.xapi.emit import actor_of
from lms.xapi.models import LaunchCredential, LRSClient, new_key


def _basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def issue_launch_credential(
    *, user: Any, registration: uuid.UUID, activity_id: str, ttl_seconds: int = 4 * 3600
) -> dict[str, Any]:
    """The standard launch parameters for external content: a credential valid only for this
    learner and registration, for `ttl_seconds`."""
    key = "launch-" + new_key()
    secret = secrets.token_urlsafe(24)
    LaunchCredential.objects.create(
        key=key,
        secret_hash=_hash(secret),
        user=user,
        registration=registration,
        activity_id=activity_id,
        expires_at=timezone.now() + timedelta(seconds=ttl_seconds),
    )
    return {
        "endpoint": f"{settings.SITE_URL}/xapi/",
        "auth": _basic(key, secret),
        "actor": actor_of(user),
        "registration": str(registration),
        "activity_id": activity_id,
    }


def _hash(secret: str) -> str:
    # Launch secrets are random 192-bit tokens used for hours: a fast salted hash is enough and
    # keeps each content request cheap (a slow password hash would cost every xAPI call ~50 ms).
    import hashlib

    salt = secrets.token_hex(8)
    return salt + "$" + hashlib.sha256((salt + secret).encode()).hexdigest()


def check_hash(secret: str, stored: str) -> bool:
    """Whether `secret` matches a hash made by _hash."""
    import hashlib

    salt, _, digest = stored.partition("$")
    return secrets.compare_digest(hashlib.sha256((salt + secret).encode()).hexdigest(), digest)


@transaction.atomic
def create_client(
    *, name: str, institution: Any, scope: str, created_by: Any | None
) -> tuple[LRSClient, str]:
    """A new LRS client; returns it with its secret, shown once and stored only as a hash."""
    secret, secret_hash = new_secret_hash()
    client = LRSClient(
        name=name, key=new_key(), institution=institution, scope=scope, created_by=created_by
    )
    client.secret_hash = secret_hash
    client.save()
    return client, secret


def new_secret_hash() -> tuple[str, str]:
    """A new random secret and the hash to store."""
    secret = secrets.token_urlsafe(24)
    return secret, _hash(secret)
