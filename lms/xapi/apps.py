"""The Learning Record Store (xAPI 1.0.3) and the statement emitter; knows nothing of courses."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class XapiConfig(AppConfig):
    name = "lms.xapi"
    label = "xapi"
    verbose_name = _("Learning Record Store")

    def ready(self) -> None:
        from lms.xapi import permissions

        permissions.register()
