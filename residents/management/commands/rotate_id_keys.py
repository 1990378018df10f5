"""Re-encrypt every stored identifier under the current (first) key of ID_ENCRYPTION_KEYS.

Rotation: put the new key first in ID_ENCRYPTION_KEYS, keep the old one after
it, deploy, run this command, then remove the old key. Safe to re-run: tokens
already under the current key are skipped. Hashes do not change (ID_HASH_KEY).
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from core.crypto import cipher
from residents.models import Resident, VisitorDeclaration

BATCH = 2000
FIELDS = {
    Resident: ("id_encrypted", "phone_encrypted"),
    VisitorDeclaration: ("id_encrypted", "phone_encrypted"),
}


class Command(BaseCommand):
    help = "Re-encrypt ID and phone numbers under the current encryption key."

    def handle(self, *args, **options):
        c = cipher()
        total = 0
        for model, fields in FIELDS.items():
            changed = 0
            last_pk = 0
            while True:
                rows = list(
                    model.objects.filter(pk__gt=last_pk).order_by("pk").only("pk", *fields)[:BATCH]
                )
                if not rows:
                    break
                last_pk = rows[-1].pk
                stale = []
                for row in rows:
                    dirty = False
                    for field in fields:
                        token = getattr(row, field)
                        if token and not c.is_current(token):
                            setattr(row, field, c.encrypt(c.decrypt(token)))
                            dirty = True
                    if dirty:
                        stale.append(row)
                if stale:
                    with transaction.atomic():
                        model.objects.bulk_update(stale, fields)
                    changed += len(stale)
            self.stdout.write(
                f"{model._meta.label}: {changed} re-encrypted under '{c.current_kid}'"
            )
            total += changed
        self.stdout.write(self.style.SUCCESS(f"done: {total} rows"))
