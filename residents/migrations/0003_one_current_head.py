"""One current head (户主) per household, in the database.

Before the constraint is added, a household that already holds several current heads
(the services used to allow it) keeps one: its ``Household.head`` if that person is one
of them, else the one registered first; the others become "other" (relation).
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count


def keep_one_head(apps, schema_editor):
    Household = apps.get_model("residents", "Household")
    Resident = apps.get_model("residents", "Resident")
    current_heads = Resident.objects.filter(
        relation="head", moved_out__isnull=True, anonymised_at__isnull=True
    )
    crowded = (
        current_heads.values("household_id")
        .annotate(heads=Count("pk"))
        .filter(heads__gt=1)
        .values_list("household_id", flat=True)
    )
    for household_id in sorted(crowded):
        head_id = Household.objects.filter(pk=household_id).values_list("head_id", flat=True).get()
        heads = list(
            current_heads.filter(household_id=household_id)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        keep = head_id if head_id in heads else heads[0]
        current_heads.filter(household_id=household_id).exclude(pk=keep).update(
            relation="other"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("buildings", "0001_initial"),
        ("residents", "0002_name_trigram_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(keep_one_head, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="resident",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("anonymised_at__isnull", True),
                    ("moved_out__isnull", True),
                    ("relation", "head"),
                ),
                fields=("household",),
                name="resident_one_current_head",
                violation_error_message="A household has one head (户主).",
            ),
        ),
    ]
