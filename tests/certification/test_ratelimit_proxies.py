"""The verification rate limit behind reverse proxies: the client is the hop the trusted proxy
appended, so a forged X-Forwarded-For cannot buy a fresh allowance."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client, RequestFactory

from certification.ratelimit import client_ip

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.7", "10.0.0.2"),  # no trusted proxy: the header is ignored
        (1, "198.51.100.7", "198.51.100.7"),  # nginx appended the client
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the forged first hop is ignored
        (2, "6.6.6.6, 198.51.100.7, 10.1.1.1", "198.51.100.7"),  # ingress, then nginx
        (3, "198.51.100.7", "198.51.100.7"),  # fewer hops than proxies: the leftmost
    ],
)
def test_client_ip_counts_trusted_hops_from_the_right(
    settings: Any, proxies: int, forwarded: str, expected: str
) -> None:
    settings.LMS_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == expected


def test_forged_first_hops_do_not_dodge_the_limit(settings: Any) -> None:
    settings.LMS_TRUSTED_PROXIES = 1
    settings.CERTIFICATION_VERIFY_RATE = (3, 60)
    # fresh addresses each run: the limit's counters live in the shared cache for a minute
    visitor, neighbour = (f"2001:db8::{uuid.uuid4().hex[:4]}" for _ in range(2))
    client = Client(REMOTE_ADDR="10.0.0.2")
    statuses = [
        client.get(
            "/verify/ZZZZZZZZZZZZ", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, {visitor}"
        ).status_code
        for i in range(4)
    ]
    assert statuses == [404, 404, 404, 429]
    # another real client behind the same proxy still gets through
    other = client.get("/verify/ZZZZZZZZZZZZ", HTTP_X_FORWARDED_FOR=neighbour)
    assert other.status_code == 404
