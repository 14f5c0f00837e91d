from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "lms.dashboards"
    label = "dashboards"
