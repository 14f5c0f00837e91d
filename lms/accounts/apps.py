from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "lms.accounts"
    label = "accounts"
    verbose_name = _("People and organisations")

    def ready(self) -> None:
        from lms import media, sockets
        from lms.accounts import principal

        principal.connect()
        sockets.connect()
        media.register("universities/", media.public)  # logos
