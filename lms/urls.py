"""Top-level URL map: each app is mounted under its own prefix; REST APIs under /api/v1/."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from lms import media, views

api_patterns: list[Any] = []
for _config in apps.get_app_configs():
    try:
        _module = import_module(f"{_config.name}.api_urls")
    except ModuleNotFoundError as exc:
        if exc.name != f"{_config.name}.api_urls":
            raise
        continue
    api_patterns.extend(_module.urlpatterns)

urlpatterns = [
    # the courses first: the learners' pages (catalogue, lesson player) are the most requested,
    # and Django tries the patterns in order
    path("courses/", include("courses.urls")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("lms.accounts.urls")),
    path("xapi/", include("lms.xapi.urls")),
    path("assessments/", include("assessments.urls")),
    path("accreditation/", include("accreditation.urls")),
    path("", include("certification.urls")),  # certificates/… and the public verify/<code>
    path("community/", include("community.urls")),
    path("dashboards/", include("lms.dashboards.urls")),
    path("api/v1/", include((api_patterns, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Redoc's bundle loads its logo from cdn.redoc.ly and its page Google's fonts, and nothing
    # may load from outside the site (closed networks): the Swagger UI, served whole from here
    # (SIDECAR), documents the same schema.
    path("api/redoc/", RedirectView.as_view(pattern_name="api-docs")),
    # uploaded files, each to those its app allows (lms.media), in every mode
    re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.+)$", media.serve, name="media"),
]

# Under /api/ a path that matches no route is answered in JSON, as the API's own 404s are.
handler404 = "lms.rest.not_found"
