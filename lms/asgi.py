"""ASGI entry point: HTTP through Django, WebSockets through Channels routing."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")
# Django's ASGI handler runs each request in a new thread: a connection kept past the request
# (DB_CONN_MAX_AGE) would stay open with its dead thread (lms.settings).
os.environ["LMS_ASGI"] = "1"

from lms.handlers import get_asgi_application  # noqa: E402 - after the settings module is named

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from lms.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
