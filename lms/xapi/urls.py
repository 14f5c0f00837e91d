"""The LRS endpoint (/xapi/) and the pages that manage its clients."""

from django.urls import path, re_path

from lms.xapi import pages, views

app_name = "xapi"

urlpatterns = [
    re_path(r"^statements/?$", views.statements, name="statements"),
    re_path(r"^activities/state/?$", views.state, name="state"),
    re_path(r"^activities/profile/?$", views.activity_profile, name="activity_profile"),
    re_path(r"^activities/?$", views.activities, name="activities"),
    re_path(r"^agents/profile/?$", views.agent_profile, name="agent_profile"),
    re_path(r"^agents/?$", views.agents, name="agents"),
    re_path(r"^about/?$", views.about, name="about"),
    path("clients/", pages.client_list, name="clients"),
]
