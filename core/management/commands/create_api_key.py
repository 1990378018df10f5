"""Create an API key for a district system and print it (the only time it is shown).

    manage.py create_api_key --name "宝山区城运中心" --scopes places:read,residents:read \
        --place neighbourhood:12 [--expires 2026-12-31]

The key is printed alone on standard output (for scripts); what it grants goes
to standard error. The scopes are those the apps registered (core.api.scopes).
"""

import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.api.places import parse_place_reference
from core.api.scopes import api_scope_codes, clean_api_scopes
from core.services import api_key_create


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(m for messages in error.message_dict.values() for m in messages)
    return " ".join(error.messages)


class Command(BaseCommand):
    help = "Create an API key with scopes and a jurisdiction; prints the key once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Who the key is for.")
        parser.add_argument(
            "--scopes",
            required=True,
            help="Comma-separated scopes; known: " + ", ".join(api_scope_codes()),
        )
        parser.add_argument(
            "--place",
            required=True,
            help="The jurisdiction as TYPE:ID, e.g. neighbourhood:12 or subdistrict:3.",
        )
        parser.add_argument(
            "--expires",
            help="Expiry date (YYYY-MM-DD, the key stops working at the start of that day).",
        )

    def handle(self, *args, name, scopes, place, expires=None, **options):
        scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
        expires_at = None
        if expires:
            try:
                day = datetime.date.fromisoformat(expires)
            except ValueError:
                raise CommandError(f"--expires: not a date (YYYY-MM-DD): {expires}") from None
            expires_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
        problems = []
        try:
            clean_api_scopes(scope_list)
        except ValidationError as error:
            problems.append(_messages(error))
        try:
            place_obj = parse_place_reference(place)
        except ValidationError as error:
            problems.append(_messages(error))
        if problems:
            raise CommandError(" ".join(problems))
        try:
            api_key, full_key = api_key_create(
                name=name, scopes=scope_list, place=place_obj, expires_at=expires_at
            )
        except ValidationError as error:
            raise CommandError(_messages(error)) from None
        self.stdout.write(full_key)
        self.stderr.write(
            f"Created API key “{api_key.name}” (prefix {api_key.prefix}) "
            f"with scopes {', '.join(api_key.scopes)} "
            f"for {place_obj._meta.model_name} {place_obj.pk} ({place_obj}). "
            "Store it now: it cannot be shown again."
        )
