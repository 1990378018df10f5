"""Files waiting between an import's preview and its confirmation.

An uploaded file is kept in the default storage until it is imported or cancelled,
and for ``keep()`` at most (``purge_expired``). It may hold personal data, so it is
stored encrypted with the identifiers' key (``core.crypto``), under a name derived
from the user and a random token with the secret key: the token in the preview's
address alone neither finds nor opens another user's file.

Next to the file its checked outcome is kept (``store_outcome`` / ``load_outcome``, a
JSON-ready dict, encrypted the same way): the preview page and the errors workbook
read it instead of parsing the file again.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.crypto import salted_hmac

from core.crypto import DecryptionError, cipher

UPLOAD_TOKEN = re.compile(r"^[0-9a-f]{32}$")
OUTCOME = ".outcome"  # the suffix of the checked outcome kept next to an upload


@dataclass(frozen=True)
class Upload:
    token: str
    filename: str
    uploaded_at: datetime.datetime
    data: bytes


class PendingUploads:
    """Pending uploads of one kind, under ``directory/<user id>/`` in the default storage.

    ``salt`` separates the names of one kind from another's; ``keep_setting`` names the
    setting with the hours an upload waits (``default_hours`` without it).
    """

    def __init__(
        self,
        *,
        directory: str,
        salt: str,
        keep_setting: str = "LINLI_IMPORT_KEEP_HOURS",
        default_hours: float = 24,
    ):
        self.directory = directory
        self.salt = salt
        self.keep_setting = keep_setting
        self.default_hours = default_hours

    def keep(self) -> datetime.timedelta:
        hours = float(getattr(settings, self.keep_setting, self.default_hours))
        return datetime.timedelta(hours=hours)

    def _name(self, user, token: str, suffix: str = ".bin") -> str:
        digest = salted_hmac(self.salt, f"{user.pk}:{token}").hexdigest()
        return f"{self.directory}/{user.pk}/{digest}{suffix}"

    @staticmethod
    def _save(name: str, content: bytes) -> None:
        if default_storage.exists(name):  # a storage gives a taken name another one
            default_storage.delete(name)
        default_storage.save(name, ContentFile(content))

    @staticmethod
    def _valid(user, token: str) -> bool:
        return bool(UPLOAD_TOKEN.match(token or "")) and bool(getattr(user, "pk", None))

    def store(self, *, user, filename: str, data: bytes) -> str:
        """Keep an uploaded file for ``user``; returns the token that names it in addresses."""
        token = secrets.token_hex(16)
        envelope = json.dumps(
            {
                "filename": (filename or "")[:200],
                "uploaded_at": timezone.now().isoformat(),
                "data": base64.b64encode(data).decode("ascii"),
            }
        )
        sealed = cipher().encrypt(envelope).encode("ascii")
        self._save(self._name(user, token), sealed)
        return token

    def store_outcome(self, *, user, token: str, outcome: dict) -> None:
        """Keep what checking ``user``'s pending upload found, next to it."""
        if not self._valid(user, token) or not default_storage.exists(self._name(user, token)):
            return
        sealed = cipher().encrypt(json.dumps(outcome, default=str)).encode("ascii")
        self._save(self._name(user, token, OUTCOME), sealed)

    def load_outcome(self, *, user, token: str) -> dict | None:
        """The outcome kept for ``user``'s pending upload, or None (none yet, or damaged).
        Callers load the upload first: that is where expiry is checked."""
        if not self._valid(user, token):
            return None
        name = self._name(user, token, OUTCOME)
        if not default_storage.exists(name):
            return None
        with default_storage.open(name, "rb") as handle:
            sealed = handle.read()
        try:
            outcome = json.loads(cipher().decrypt(sealed.decode("ascii")))
        except (DecryptionError, ValueError, UnicodeDecodeError):
            default_storage.delete(name)
            return None
        return outcome if isinstance(outcome, dict) else None

    def forget_outcome(self, *, user, token: str) -> None:
        if self._valid(user, token):
            default_storage.delete(self._name(user, token, OUTCOME))

    def load(self, *, user, token: str) -> Upload | None:
        """``user``'s pending upload, or None (unknown, another user's, damaged or expired)."""
        if not self._valid(user, token):
            return None
        name = self._name(user, token)
        if not default_storage.exists(name):
            return None
        with default_storage.open(name, "rb") as handle:
            sealed = handle.read()
        try:
            envelope = json.loads(cipher().decrypt(sealed.decode("ascii")))
            uploaded_at = datetime.datetime.fromisoformat(envelope["uploaded_at"])
            data = base64.b64decode(envelope["data"])
        except (DecryptionError, ValueError, KeyError, UnicodeDecodeError):
            self.discard(user=user, token=token)
            return None
        if timezone.now() - uploaded_at > self.keep():
            self.discard(user=user, token=token)
            return None
        return Upload(
            token=token, filename=envelope["filename"], uploaded_at=uploaded_at, data=data
        )

    def exists(self, *, user, token: str) -> bool:
        """Whether ``user`` has this pending upload (expired or not), without reading it."""
        return self._valid(user, token) and default_storage.exists(self._name(user, token))

    def discard(self, *, user, token: str) -> None:
        if self._valid(user, token):
            default_storage.delete(self._name(user, token))
            default_storage.delete(self._name(user, token, OUTCOME))

    def purge_expired(self, *, now: datetime.datetime | None = None) -> int:
        """Delete every pending upload older than ``keep()``; returns how many."""
        cutoff = (now or timezone.now()) - self.keep()
        removed = 0
        try:
            user_dirs, _files = default_storage.listdir(self.directory)
        except (FileNotFoundError, NotImplementedError):
            return 0
        for user_dir in user_dirs:
            _dirs, files = default_storage.listdir(f"{self.directory}/{user_dir}")
            for name in files:
                path = f"{self.directory}/{user_dir}/{name}"
                try:
                    modified = default_storage.get_modified_time(path)
                except (FileNotFoundError, NotImplementedError):
                    continue
                if modified < cutoff:
                    default_storage.delete(path)
                    removed += 1
        return removed
