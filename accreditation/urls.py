"""Pages of the accreditation app, mounted at /accreditation/."""

from django.urls import path

from accreditation import views

app_name = "accreditation"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new_request, name="new"),
    path("portal/", views.portal, name="portal"),
    path("universities/", views.universities, name="universities"),
    path("requests/<int:pk>/", views.request_detail, name="detail"),
    path("requests/<int:pk>/edit/", views.edit_request, name="edit"),
    path("requests/<int:pk>/outcomes/", views.outcomes, name="outcomes"),
    path("requests/<int:pk>/<slug:action>/", views.act, name="act"),
]
