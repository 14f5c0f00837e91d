"""The ceiling: a minimal Django JSON view behind the same settings and middleware as the LMS,
served by the same HTTP server in the same load test run (loadtests.run compares against it),
and the floors of signed-in pages beside it (loadtests.views)."""

from __future__ import annotations

import os

import django
from django.conf import settings
from django.urls import include, path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")
django.setup()

from loadtests.views import own_row, ping  # noqa: E402 - after django.setup()

# the LMS URLs too, so that a real page can be compared on the same server
urlpatterns = [
    path("minimal/", ping),
    path("minimal/own-row/", own_row),
    path("", include("lms.urls")),
]
settings.ROOT_URLCONF = __name__

from lms.handlers import get_wsgi_application  # noqa: E402 - after the URLconf swap

application = get_wsgi_application()
