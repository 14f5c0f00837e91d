"""Drop the single-column indexes Django made for the institution and client keys of
xapi_statement: the composite (institution_id, stored) and (client_id, stored) indexes serve the
same lookups, and every index costs each inserted statement.

Only the indexes are dropped (the state change alone would also drop and re-add the foreign keys,
which re-validates every row of a large table). Works on PostgreSQL and SQLite (same names).
"""

import django.db.models.deletion
from django.db import migrations, models

DROP = [
    "DROP INDEX IF EXISTS xapi_statement_client_id_9ff974bd",
    "DROP INDEX IF EXISTS xapi_statement_institution_id_0fe1592c",
]
CREATE = [
    "CREATE INDEX IF NOT EXISTS xapi_statement_client_id_9ff974bd"
    " ON xapi_statement (client_id)",
    "CREATE INDEX IF NOT EXISTS xapi_statement_institution_id_0fe1592c"
    " ON xapi_statement (institution_id)",
]


class Migration(migrations.Migration):
    dependencies = [("xapi", "0002_postgres_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="statement",
                    name="client",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="xapi.lrsclient",
                    ),
                ),
                migrations.AlterField(
                    model_name="statement",
                    name="institution",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.institution",
                    ),
                ),
            ],
            database_operations=[migrations.RunSQL(DROP, CREATE)],
        )
    ]
