"""The minimal view as an ASGI application, for Daphne and uvicorn in the server comparison."""

from __future__ import annotations

from django.core.asgi import get_asgi_application  # noqa: E402

import loadtests.minimal  # noqa: F401 - configures Django and swaps the URLconf

application = get_asgi_application()
