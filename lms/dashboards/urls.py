"""URLs of the dashboards app."""

from django.urls import path

from lms.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("officers/<int:user_id>/", views.officer_detail, name="officer"),
    path("reports/", views.reports, name="reports"),
    path("reports/<int:report_id>.<str:kind>", views.report_file, name="report_file"),
]
