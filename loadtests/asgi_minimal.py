"""The minimal view as an ASGI application, for Daphne and uvicorn in the server comparison, plus
a minimal WebSocket (an echo consumer on Channels, no channel layer) to compare the two servers
as WebSocket servers."""

from __future__ import annotations

from channels.generic.websocket import WebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

import loadtests.minimal  # noqa: F401 - configures Django and swaps the URLconf


class Echo(WebsocketConsumer):
    """Sends back each text frame: the least a Channels consumer can do."""

    def connect(self) -> None:
        self.accept()

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self.send(text_data=text_data or "")


application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),
        "websocket": URLRouter([path("ws/echo/", Echo.as_asgi())]),
    }
)
