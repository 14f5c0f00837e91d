"""REST API of the courses app, mounted under /api/v1/ (namespace "api")."""

from django.urls import path

from courses import api

urlpatterns = [
    path("courses/", api.CatalogueView.as_view(), name="courses-catalogue"),
    path("enrollments/", api.EnrollmentListView.as_view(), name="courses-enrollments"),
    path(
        "enrollments/<uuid:registration>/progress/",
        api.ProgressView.as_view(),
        name="courses-progress",
    ),
    # Token authentication for institutions' systems: POST username (email) and password.
    path("auth/token/", api.TokenView.as_view(), name="auth-token"),
]
