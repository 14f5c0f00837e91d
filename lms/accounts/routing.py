"""WebSocket routes of the accounts app."""

from django.urls import path

from lms.accounts.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]
