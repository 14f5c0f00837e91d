from django.urls import path

from community import views

app_name = "community"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("forums/<slug:slug>/", views.forum_detail, name="forum"),
    path("forums/<slug:slug>/moderation/", views.moderation_log, name="moderation_log"),
    path("runs/<int:run_id>/forum/", views.run_forum, name="run_forum"),
    path("runs/<int:run_id>/chat/", views.chat, name="chat"),
    path(
        "institutions/<int:institution_id>/forum/",
        views.institution_forum,
        name="institution_forum",
    ),
    path("threads/<int:pk>/", views.thread_detail, name="thread"),
    path("threads/<int:pk>/subscription/", views.toggle_subscription, name="subscription"),
    path("threads/<int:pk>/moderate/", views.moderate_thread, name="moderate_thread"),
    path("posts/<int:pk>/report/", views.report_post, name="report_post"),
    path("posts/<int:pk>/moderate/", views.moderate_post, name="moderate_post"),
    path("library/", views.library, name="library"),
    path("library/new/", views.library_edit, name="library_new"),
    path("library/queue/", views.editorial_queue, name="editorial_queue"),
    path("library/<int:pk>/", views.library_item, name="library_item"),
    path("library/<int:pk>/edit/", views.library_edit, name="library_edit"),
    path("library/<int:pk>/workflow/", views.library_transition, name="library_transition"),
    path("directory/", views.directory, name="directory"),
    path("directory/<int:pk>/", views.institution_detail, name="institution"),
]
