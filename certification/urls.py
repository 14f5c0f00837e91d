from django.urls import path

from certification import views

app_name = "certification"

urlpatterns = [
    path("verify/", views.verify_form, name="verify_form"),
]
