"""The LMS project package: settings, URLs, ASGI routing, the Celery app and the platform core."""

from lms.celery import app as celery_app

__all__ = ["celery_app"]
