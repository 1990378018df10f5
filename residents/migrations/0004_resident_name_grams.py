"""The name's 1- and 2-character grams (``Resident.name_grams``) and, on PostgreSQL, a
GIN index over them: a 1-2 character name fragment makes no pg_trgm trigram, so
``resident_name_trgm`` (0002) cannot answer it; this index does (``name__fragment``).

Existing rows are filled here; from now on ``core.text.name_search_keys`` keeps the
column in step wherever the pinyin is written.
"""

from django.db import migrations, models

BATCH = 2000
INDEX = "resident_name_grams"


def _grams(name):
    # core.text.name_grams as of this migration (kept here: a migration must not change
    # with the code it was written against)
    name = name or ""
    grams = dict.fromkeys(
        name[i : i + n] for i in range(len(name)) for n in (1, 2) if i + n <= len(name)
    )
    return " ".join(gram for gram in grams if " " not in gram)


def fill_grams(apps, schema_editor):
    Resident = apps.get_model("residents", "Resident")
    manager = Resident.objects.using(schema_editor.connection.alias)
    last = 0
    while True:
        batch = list(manager.filter(pk__gt=last).order_by("pk").only("pk", "name")[:BATCH])
        if not batch:
            return
        for resident in batch:
            resident.name_grams = _grams(resident.name)
        manager.bulk_update(batch, ["name_grams"], batch_size=BATCH)
        last = batch[-1].pk


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # the expression residents.models.lookups.NameFragment spells; array_ops (the default)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON residents_resident "
        "USING gin (string_to_array(name_grams, ' '))"
    )
    schema_editor.execute("ANALYZE residents_resident")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("residents", "0003_one_current_head")]

    operations = [
        migrations.AddField(
            model_name="resident",
            name="name_grams",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_grams, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
