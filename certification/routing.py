"""WebSocket routes of the certification app (collected by lms.routing)."""

from django.urls import path

from certification.consumers import BulkProgressConsumer

websocket_urlpatterns = [
    path("ws/certification/bulk/<uuid:job_id>/", BulkProgressConsumer.as_asgi()),
]
