from django.urls import path

from lms.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.home, name="home"),
]
