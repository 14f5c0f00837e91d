"""Time zones: each member state's (its capital's), and the one a person may choose."""

from django.db import migrations, models


def load_time_zones(apps, schema_editor):
    from lms.accounts.member_states import TIME_ZONES

    MemberState = apps.get_model("accounts", "MemberState")
    for code, zone in TIME_ZONES.items():
        MemberState.objects.filter(code=code).update(time_zone=zone)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_notification_message")]
    operations = [
        migrations.AddField(
            model_name="memberstate",
            name="time_zone",
            field=models.CharField(
                db_default="UTC", default="UTC", max_length=64, verbose_name="time zone"
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="time_zone",
            field=models.CharField(
                blank=True, db_default="", default="", max_length=64, verbose_name="time zone"
            ),
        ),
        migrations.RunPython(load_time_zones, migrations.RunPython.noop),
    ]
