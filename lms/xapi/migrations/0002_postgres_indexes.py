"""PostgreSQL-only indexes: BRIN on the stored time (a few pages for any table size, stored grows
with inserts) and GIN (jsonb_path_ops) on the related activity/agent lists. SQLite skips them."""

from django.db import migrations

FORWARD = [
    "CREATE INDEX IF NOT EXISTS xapi_st_stored_brin ON xapi_statement USING brin (stored)"
    " WITH (pages_per_range = 32)",
    "CREATE INDEX IF NOT EXISTS xapi_st_rel_act ON xapi_statement"
    " USING gin (related_activities jsonb_path_ops)",
    "CREATE INDEX IF NOT EXISTS xapi_st_rel_agents ON xapi_statement"
    " USING gin (related_agents jsonb_path_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS xapi_st_stored_brin",
    "DROP INDEX IF EXISTS xapi_st_rel_act",
    "DROP INDEX IF EXISTS xapi_st_rel_agents",
]


def _run(statements: list[str]):  # type: ignore[no-untyped-def]
    def apply(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("xapi", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
