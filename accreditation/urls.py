from django.urls import path  # noqa: F401

app_name = "accreditation"

urlpatterns: list = []
