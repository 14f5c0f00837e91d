from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "community"
    label = "community"
    verbose_name = _("The network")

    def ready(self) -> None:
        from community import permissions, receivers
        from lms import media

        receivers.connect()

        media.register("community/attachments/", permissions.attachment_file)
        media.register("library/", permissions.library_file)
        from lms.celery import app

        app.conf.beat_schedule.setdefault(
            "community-forum-digests",
            {"task": "community.tasks.send_forum_digests", "schedule": 24 * 3600.0},
        )
