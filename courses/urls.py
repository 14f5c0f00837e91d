from django.urls import path

from courses import author_views, views

app_name = "courses"

# The learner's routes first: Django tries the patterns in order, and the lesson player and the
# catalogue are the most requested pages (each pattern tried costs a regular expression match).
urlpatterns = [
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
    path("", views.catalogue, name="catalogue"),
    path("my-learning/", views.my_learning, name="my_learning"),
    path("teaching/", views.teaching, name="teaching"),
    path("enrolments/", views.institution_enrollments, name="institution_enrollments"),
    path("c/<slug:code>/", views.course_detail, name="course"),
    path("c/<slug:code>/deliver/", views.deliver, name="deliver"),
    path("supervision/", views.supervision, name="supervision"),
    path("author/", author_views.index, name="author_index"),
    path("author/new/", author_views.new_course, name="author_new"),
    path("author/c/<slug:code>/", author_views.edit_course, name="author_course"),
    path("author/c/<slug:code>/editable/", author_views.make_editable, name="author_editable"),
    path("author/c/<slug:code>/modules/new/", author_views.module, name="author_module_new"),
    path(
        "author/c/<slug:code>/modules/<int:module_id>/", author_views.module, name="author_module"
    ),
    path("author/c/<slug:code>/lessons/new/", author_views.lesson, name="author_lesson_new"),
    path(
        "author/c/<slug:code>/lessons/<int:lesson_id>/", author_views.lesson, name="author_lesson"
    ),
    path("author/c/<slug:code>/<str:kind>/<int:pk>/move/", author_views.move, name="author_move"),
    path("author/c/<slug:code>/runs/new/", author_views.new_run, name="author_run_new"),
    path("author/runs/<slug:run_code>/", author_views.run, name="author_run"),
    path("supervision/<slug:run_code>/", views.supervise_run, name="supervise_run"),
    path("runs/<slug:run_code>/enrol/", views.enrol, name="enrol"),
    path("runs/<slug:run_code>/roster/", views.roster, name="roster"),
    path("runs/<slug:run_code>/observations/", views.observe, name="observe"),
    path("runs/<slug:run_code>/progress.csv", views.progress_csv, name="progress_csv"),
    path("runs/<slug:run_code>/officers/", views.enrol_officers, name="enrol_officers"),
    path(
        "runs/<slug:run_code>/officers/jobs/<uuid:job_id>/",
        views.enrolment_job,
        name="enrolment_job",
    ),
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
]
