import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from notifications.kinds import EMAIL, INBOX, SMS, Kind, register_kind, unregister_kind

SAMPLE = "tests.sample"


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    """Quiet hours only where a test asks for them (the real clock must not decide)."""
    settings.LINLI_SMS_QUIET_HOURS = ""
    settings.LINLI_SMS_BACKEND = "core.sms.ConsoleSmsBackend"


@pytest.fixture
def sample_kind():
    """An optional kind on every channel, rendered with the account notice's templates."""
    kind = register_kind(
        Kind(
            SAMPLE,
            _("Sample notice"),
            default_channels=(INBOX, SMS, EMAIL),
            template="account.notice",
        )
    )
    yield kind
    unregister_kind(SAMPLE)


def require_translation(msgid: str) -> None:
    """Skip until the msgid is in the zh-hans catalogue (``make messages`` and translate)."""
    with translation.override("zh-hans"):
        if translation.gettext(msgid) == msgid:
            pytest.skip(f"not yet translated in locale/zh_Hans: {msgid!r}")
