from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"
    label = "courses"

    def ready(self) -> None:
        from courses import caching, permissions, receivers

        permissions.register()
        receivers.connect()
        caching.connect()
