"""WebSocket routes of every app, gathered in one list for the ASGI router."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps

websocket_urlpatterns: list[Any] = []
for _config in apps.get_app_configs():
    try:
        _module = import_module(f"{_config.name}.routing")
    except ModuleNotFoundError as exc:
        if exc.name != f"{_config.name}.routing":
            raise
        continue
    websocket_urlpatterns.extend(getattr(_module, "websocket_urlpatterns", []))
