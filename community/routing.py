from django.urls import path

from community.consumers import ChatConsumer

websocket_urlpatterns = [path("ws/chat/<int:run_id>/", ChatConsumer.as_asgi())]
