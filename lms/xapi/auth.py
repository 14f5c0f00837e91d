"""Who is calling the LRS: an LRS client (HTTP Basic), a launch credential (HTTP Basic, one learner
and registration, short-lived) or a platform session (content inside the LMS)."""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from lms.xapi.emit import actor_of, platform_authority
from lms.xapi.models import LaunchCredential, LRSClient, agent_key
from lms.xapi.services import check_hash
from lms.xapi.store import Caller, LaunchCheck

# Launch credentials read from the database, by key, for the writes of launched content (the hot
# request of the platform). A cached credential is never trusted alone: the write that uses it
# checks in the same statement as its INSERT that the credential still holds (lms.xapi.store
# .write), and nothing is written when it does not; every other request reads the database.
# So revoking, expiring or deleting a credential, suspending its learner or moving them to
# another institution, by any means (signals or not, in any process), refuses the next write.
_LAUNCHES: dict[str, _Launch] = {}
_MAX_LAUNCHES = 20_000
# The same entries in the shared cache, so that each web process does not read every
# credential from the database once for itself: with many processes and a credential's
# statements spread over them, those first reads were most of the load test's POSTs (1,200
# learners over 2 processes: 144-176 statements a second, against 249-259 once every process
# held the credentials). An entry from the shared cache is confirmed by the write like any other.
_SHARED_PREFIX = "xapi:launch:v1:"


@dataclass(frozen=True, slots=True)
class _Launch:
    secret_hash: str
    expires_at: datetime
    registration: uuid.UUID
    caller: Caller
    read_at: float


def launch_cache_seconds() -> float:
    """How long a process keeps a launch credential it has read (XAPI_LAUNCH_CACHE_SECONDS,
    an hour by default, never past the credential's expiry). Not a bound of what a withdrawn
    credential may write (every write confirms it, above) but of how often each process reads
    each credential in use again: with five minutes, as before, every process read every
    active credential again every five minutes, through the full request handling and the
    database (the load test's third round, seven minutes after its credentials were read,
    served 224 statement POSTs a second against 931-1,028 in the first two)."""
    return float(getattr(settings, "XAPI_LAUNCH_CACHE_SECONDS", 3600))


def forget_launch(key: str) -> None:
    """Drop a launch credential from the caches (the next write reads the database)."""
    _LAUNCHES.pop(key, None)
    cache.delete(_SHARED_PREFIX + key)


def _remember(key: str, launch: _Launch) -> None:
    if len(_LAUNCHES) >= _MAX_LAUNCHES:
        _LAUNCHES.clear()
    _LAUNCHES[key] = launch


def basic_pair(header: str) -> tuple[str, str] | None:
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


def launch_from_cache(key: str, secret: str) -> Caller | None:
    """The caller of a cached launch credential, to be confirmed by the write; None when it is
    not cached (or too old), expired or the secret is wrong (the database then decides)."""
    launch = _LAUNCHES.get(key)
    if launch is None or time.time() - launch.read_at > launch_cache_seconds():
        launch = cache.get(_SHARED_PREFIX + key)
        if not isinstance(launch, _Launch) or time.time() - launch.read_at > launch_cache_seconds():
            return None
        _remember(key, launch)
    if launch.expires_at <= timezone.now() or not check_hash(secret, launch.secret_hash):
        return None
    caller = launch.caller
    return replace(
        caller,
        confirm=LaunchCheck(
            key=key,
            secret=secret,
            secret_hash=launch.secret_hash,
            user_id=caller.user_id or 0,
            registration=launch.registration,
            institution_id=caller.institution_id,
        ),
    )


def _launch_from_database(key: str, secret: str) -> Caller | None:
    launch = (
        LaunchCredential.objects.select_related("user")
        .filter(key=key, expires_at__gt=timezone.now())
        .first()
    )
    if launch is None or not launch.user.is_active:
        forget_launch(key)
        return None
    if not check_hash(secret, launch.secret_hash):
        return None  # a wrong secret does not evict the cached credential of the right one
    caller = _for_user(launch.user, registration=launch.registration)
    entry = _Launch(
        secret_hash=launch.secret_hash,
        expires_at=launch.expires_at,
        registration=launch.registration,
        caller=caller,
        read_at=time.time(),
    )
    _remember(key, entry)
    cache.set(_SHARED_PREFIX + key, entry, max(1, int(launch_cache_seconds())))
    return caller


def reauthenticate(caller: Caller) -> Caller | None:
    """A caller taken from the launch cache, read again from the database (None: refused)."""
    if caller.confirm is None:
        return caller
    forget_launch(caller.confirm.key)
    return _launch_from_database(caller.confirm.key, caller.confirm.secret)


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


def authenticate(
    request: HttpRequest, authorization: str | None, *, write: bool = False
) -> Caller | None:
    """The caller, or None when the credentials are missing or wrong.

    With `write` (a statement write, which confirms the credential itself) a launch credential
    may come from the in-process cache: the caller then carries `confirm`."""
    if authorization:
        pair = basic_pair(authorization)
        if pair is None:
            return None
        key, secret = pair
        if key.startswith("launch-"):
            if write:
                cached = launch_from_cache(key, secret)
                if cached is not None:
                    return cached
                fresh = _launch_from_database(key, secret)
                if fresh is None:
                    return None
                # Read now and cached: the write confirms it like any cached credential, so
                # that a credential's first statement in a process is buffered like the rest
                # (lms.xapi.buffer) instead of draining the buffer before a synchronous write.
                return launch_from_cache(key, secret) or fresh
            return _launch_from_database(key, secret)
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
