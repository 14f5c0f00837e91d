"""What the network's tests share."""

from __future__ import annotations

import pytest

from community.models import Forum


@pytest.fixture
def topic() -> Forum:
    """A topic forum open to the whole network."""
    return Forum.objects.create(
        kind=Forum.Kind.TOPIC, slug="crime-prevention", title={"en": "Crime prevention"}
    )
