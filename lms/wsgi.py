"""WSGI entry point, for gunicorn serving plain HTTP (lms.handlers: pages and the LRS's API)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")

from lms.handlers import get_wsgi_application  # noqa: E402 - after the settings module is named

application = get_wsgi_application()
