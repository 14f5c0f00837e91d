from django.urls import path  # noqa: F401

app_name = "xapi"

urlpatterns: list = []
