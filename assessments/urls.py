"""Pages of the assessments app, under /assessments/."""

from django.urls import path

from assessments import views

app_name = "assessments"

urlpatterns = [
    path("<int:pk>/", views.overview, name="overview"),
    path("<int:pk>/start/", views.start, name="start"),
    path("<int:pk>/released/", views.released, name="released"),
    path("attempts/<int:pk>/", views.take, name="take"),
    path("attempts/<int:pk>/save/", views.save, name="save"),
    path("attempts/<int:pk>/submit/", views.submit, name="submit"),
    path("attempts/<int:pk>/review/", views.review, name="review"),
    path("grading/", views.grading_queue, name="queue"),
    path("grading/attempts/<int:pk>/", views.grade, name="grade"),
    path("runs/<slug:run_code>/<int:pk>/release/", views.release, name="release"),
    path("runs/<slug:run_code>/<int:pk>/practical/", views.practical, name="practical"),
    path("runs/<slug:run_code>/<int:pk>/statistics/", views.statistics, name="statistics"),
    path("runs/<slug:run_code>/grades.csv", views.grades_csv, name="grades_csv"),
    path("runs/<slug:run_code>/extra-time/", views.extra_time, name="extra_time"),
]
