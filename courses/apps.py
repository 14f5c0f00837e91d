from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"
    label = "courses"

    def ready(self) -> None:
        from courses import caching, checks, permissions, receivers  # noqa: F401 - checks registers

        permissions.register()
        receivers.connect()
        caching.connect()
