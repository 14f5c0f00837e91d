"""WebSocket routes of the dashboards app."""

from django.urls import path

from lms.dashboards.consumers import DashboardConsumer

websocket_urlpatterns = [
    path("ws/dashboards/", DashboardConsumer.as_asgi()),
]
