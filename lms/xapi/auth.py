"""Who is calling the LRS: an LRS client (HTTP Basic), a launch credential (HTTP Basic, one learner
and registration, short-lived) or a platform session (content inside the LMS)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from lms.xapi.emit import actor_of, platform_authority
from lms.xapi.models import LaunchCredential, LRSClient, agent_key
from lms.xapi.services import check_hash
from lms.xapi.store import Caller


def _basic(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    return (key, secret) if sep else None


def client_authority(client: LRSClient) -> dict[str, Any]:
    """The authority an LRS client's statements are stored with."""
    return {
        "objectType": "Agent",
        "name": client.name,
        "account": {"homePage": f"{settings.SITE_URL}/xapi/clients", "name": client.key},
    }


def _for_user(user: Any, *, registration: Any = None) -> Caller:
    actor = actor_of(user)
    return Caller(
        institution_id=user.institution_id,
        user_id=user.pk,
        scope="learner",
        registration=registration,
        authority=platform_authority(),
        actor_key=agent_key(actor),
    )


def authenticate(request: HttpRequest, authorization: str | None) -> Caller | None:
    """The caller, or None when the credentials are missing or wrong."""
    if authorization:
        pair = _basic(authorization)
        if pair is None:
            return None
        key, secret = pair
        if key.startswith("launch-"):
            launch = (
                LaunchCredential.objects.select_related("user")
                .filter(key=key, expires_at__gt=timezone.now())
                .first()
            )
            if launch is None or not check_hash(secret, launch.secret_hash):
                return None
            if not launch.user.is_active:
                return None
            return _for_user(launch.user, registration=launch.registration)
        client = (
            LRSClient.objects.select_related("institution").filter(key=key, is_active=True).first()
        )
        if client is None or not client.check_secret(secret):
            return None
        return Caller(
            institution_id=client.institution_id,
            client_id=client.pk,
            scope=client.scope,
            authority=client_authority(client),
            institution_path=client.institution.path,
        )
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return _for_user(user)
    return None
