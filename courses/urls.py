from django.urls import path

from courses import views

app_name = "courses"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("my-learning/", views.my_learning, name="my_learning"),
    path("teaching/", views.teaching, name="teaching"),
    path("enrolments/", views.institution_enrollments, name="institution_enrollments"),
    path("c/<slug:code>/", views.course_detail, name="course"),
    path("c/<slug:code>/deliver/", views.deliver, name="deliver"),
    path("supervision/", views.supervision, name="supervision"),
    path("supervision/<slug:run_code>/", views.supervise_run, name="supervise_run"),
    path("runs/<slug:run_code>/enrol/", views.enrol, name="enrol"),
    path("runs/<slug:run_code>/roster/", views.roster, name="roster"),
    path("runs/<slug:run_code>/observations/", views.observe, name="observe"),
    path("runs/<slug:run_code>/progress.csv", views.progress_csv, name="progress_csv"),
    path("runs/<slug:run_code>/officers/", views.enrol_officers, name="enrol_officers"),
    path(
        "runs/<slug:run_code>/enrolments/<int:enrollment_id>/decide/",
        views.decide_enrolment,
        name="decide_enrolment",
    ),
    path(
        "runs/<slug:run_code>/sessions/<int:session_id>/attendance/",
        views.attendance,
        name="attendance",
    ),
    path("learn/<uuid:registration>/", views.resume, name="resume"),
    path("learn/<uuid:registration>/withdraw/", views.withdraw, name="withdraw"),
    path("learn/<uuid:registration>/<int:lesson_id>/", views.lesson, name="lesson"),
    path("learn/<uuid:registration>/<int:lesson_id>/done/", views.complete, name="complete"),
    path("learn/<uuid:registration>/<int:lesson_id>/launch/", views.launch, name="launch"),
    path(
        "learn/<uuid:registration>/<int:lesson_id>/position/",
        views.video_position,
        name="video_position",
    ),
]
