from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

#: the kind owned by this app: notices about the user's own account (not optional)
ACCOUNT_NOTICE = "account.notice"


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from .kinds import INBOX, Kind, register_kind

        # e.g. "your webhook subscription was disabled"; context: title, text
        register_kind(
            Kind(ACCOUNT_NOTICE, _("Account notices"), default_channels=(INBOX,), optional=False)
        )
