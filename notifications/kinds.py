"""The registry of notification kinds: every kind of notice Linli sends, in one place.

An app registers its kinds from its ``AppConfig.ready()`` with :func:`register_kind`;
``notify()`` refuses a kind nobody registered. A kind names the channels it uses unless
the user says otherwise, and whether the user may turn it off at all.
"""

from __future__ import annotations

from dataclasses import dataclass

INBOX, SMS, EMAIL = "inbox", "sms", "email"
CHANNELS = (INBOX, SMS, EMAIL)
#: the channels a user chooses per kind on the settings page (the inbox always receives)
CHOOSABLE_CHANNELS = (SMS, EMAIL)
#: the preference row of the daily e-mail digest (one per user, every kind)
DIGEST_KIND, DIGEST_CHANNEL = "*", "email_digest"


@dataclass(frozen=True)
class Kind:
    code: str
    label: object  # a lazy string
    default_channels: tuple[str, ...] = (INBOX,)
    optional: bool = True
    template: str = ""

    def __post_init__(self):
        unknown = set(self.default_channels) - set(CHANNELS)
        if unknown:
            raise ValueError(f"kind {self.code}: unknown channels {sorted(unknown)}")
        if not self.code or self.code == DIGEST_KIND:
            raise ValueError(f"invalid kind code {self.code!r}")
        if not self.template:
            object.__setattr__(self, "template", self.code)


_KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    """Add a kind (idempotent for the same definition; a different one is refused)."""
    existing = _KINDS.get(kind.code)
    if existing is not None and existing != kind:
        raise ValueError(f"notification kind {kind.code!r} is already registered differently")
    _KINDS[kind.code] = kind
    return kind


def unregister_kind(code: str) -> None:
    """Remove a kind (tests only)."""
    _KINDS.pop(code, None)


def get_kind(code: str) -> Kind:
    try:
        return _KINDS[code]
    except KeyError:
        raise LookupError(f"unknown notification kind {code!r}") from None


def kinds() -> list[Kind]:
    return sorted(_KINDS.values(), key=lambda kind: kind.code)
