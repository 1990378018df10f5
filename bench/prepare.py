"""Runs inside the bench's Django (production settings, the bench database).

Makes the credentials the load generator needs and prints them as one JSON
object on stdout:

- ``api_header``: an ``Authorization`` header for the API - an API key with the
  ``places:read`` scope on the demo district (through ``core.services.api_key_create``,
  else ``manage.py create_api_key``), or, when neither exists, the superuser's
  session cookie (``api_cookie``);
- ``cadre_cookie``: a signed-in session of cadre 13800000002, created with the
  configured session engine (so it is in the database and the cache exactly as
  a real sign-in leaves it) and marked OTP-verified with a TOTP device, so the
  home page opens even when two-factor sign-in is required for staff;
- ``api_key_prefix``: the key's prefix, for the "same work, bare" floor
  (``bench/bareview.py``), which filters by the key's jurisdiction;
- with ``--district-cadre`` (``bench/run.py`` always passes it, at both scales):
  ``district_cadre_cookie``, the same for cadre 13899990001 (created if absent, the
  cadre role on every subdistrict of the demo district through
  ``accounts.services.role_grant``: the whole district), whose home page and
  resident changelist (``/admin/residents/resident/``) the bench measures.

Not part of the application; only ``bench/run.py`` calls it.
"""

import io
import json
import os
import re
import secrets
import sys
from importlib import import_module
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.core.management import call_command  # noqa: E402

CADRE = "13800000002"
DISTRICT_CADRE = ("13899990001", "区级测试干部")
SUPERUSER = "13800000001"
DISTRICT = "宝山区"


def session_cookie(user) -> str:
    """``name=value`` of a new signed-in (and OTP-verified) session of ``user``."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    try:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice
    except ImportError:
        pass
    else:
        device, _created = TOTPDevice.objects.get_or_create(
            user=user, name="bench", defaults={"confirmed": True}
        )
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def api_key(place) -> str | None:
    try:
        from core.services import api_key_create
    except ImportError:
        api_key_create = None
    if api_key_create is not None:
        _key, full = api_key_create(name="bench", scopes=["places:read"], place=place)
        return full
    out = io.StringIO()
    try:
        call_command(
            "create_api_key",
            "--name",
            "bench",
            "--scopes",
            "places:read",
            "--place",
            f"{place._meta.model_name}:{place.pk}",
            stdout=out,
        )
    except Exception as exc:  # noqa: BLE001 - the command may not exist yet
        print(f"create_api_key unavailable: {exc}", file=sys.stderr)
        return None
    match = re.search(r"linli_[0-9a-f]+_\S+", out.getvalue())
    return match.group(0) if match else None


def district_cadre(district):
    """A cadre whose jurisdiction is the whole district (every subdistrict of it)."""
    from accounts.models import Role
    from accounts.services import role_grant

    users = get_user_model().objects
    phone, name = DISTRICT_CADRE
    user = users.filter(phone=phone).first()
    if user is None:
        user = users.create_user(phone, secrets.token_urlsafe(16), name=name)
    for subdistrict in district.subdistricts.all():
        role_grant(user=user, role=Role.CADRE, place=subdistrict)
    return user


def main() -> None:
    from buildings.models import District

    users = get_user_model().objects
    district = District.objects.get(name=DISTRICT)
    key = api_key(district)
    result = {
        "api_header": f"Authorization: Api-Key {key}" if key else None,
        "api_auth": "api key (places:read on the district)" if key else "superuser session",
        "api_key_prefix": key.split("_")[1] if key else None,
        "api_cookie": None if key else session_cookie(users.get(phone=SUPERUSER)),
        "cadre_cookie": session_cookie(users.get(phone=CADRE)),
    }
    if "--district-cadre" in sys.argv[1:]:
        result["district_cadre_cookie"] = session_cookie(district_cadre(district))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
