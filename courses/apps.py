from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"
    label = "courses"

    def ready(self) -> None:
        from courses import caching, checks, permissions, receivers  # noqa: F401 - checks registers
        from courses.tasks import SWEEP_SECONDS
        from lms.celery import app

        permissions.register()
        receivers.connect()
        caching.connect()
        # First views written behind never wait for a push that does not come (first_views).
        app.conf.beat_schedule.setdefault(
            "courses-first-views-sweep",
            {"task": "courses.drain_first_views", "schedule": SWEEP_SECONDS},
        )
