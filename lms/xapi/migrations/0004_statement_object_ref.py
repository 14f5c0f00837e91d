"""object_ref: the statement a StatementRef object points at, with a partial index (only the rows
that have one), so that a query also returns the statements targeting what it matched.

Adding a nullable column rewrites nothing on PostgreSQL; the backfill reads only statements whose
object is a StatementRef.
"""

import uuid

from django.db import migrations, models


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    statement = apps.get_model("xapi", "Statement")
    refs = statement.objects.filter(data__object__objectType="StatementRef").only("pk", "data")
    for row in refs.iterator(chunk_size=2000):
        statement.objects.filter(pk=row.pk).update(object_ref=uuid.UUID(row.data["object"]["id"]))


class Migration(migrations.Migration):
    dependencies = [("xapi", "0003_statement_no_single_key_indexes")]

    operations = [
        migrations.AddField(
            model_name="statement",
            name="object_ref",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="statement",
            index=models.Index(
                condition=models.Q(("object_ref__isnull", False)),
                fields=["object_ref"],
                name="xapi_st_object_ref",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
