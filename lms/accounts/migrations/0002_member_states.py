"""Load the 34 OAS member states."""

from django.db import migrations


def load_member_states(apps, schema_editor):
    from lms.accounts.member_states import MEMBER_STATES

    MemberState = apps.get_model("accounts", "MemberState")
    for code, en, es, pt, fr, languages in MEMBER_STATES:
        MemberState.objects.update_or_create(
            code=code,
            defaults={"name_en": en, "name_es": es, "name_pt": pt, "name_fr": fr, "official_languages": languages},
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(load_member_states, migrations.RunPython.noop)]
