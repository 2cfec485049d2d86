# Invitation and device-reset mails are sent by tasks (issue 16): each row says
# whether its mail went out.

from django.db import migrations, models


def _mark_earlier_mails_sent(apps, schema_editor):
    # Rows from before this migration were mailed at creation, by the request.
    apps.get_model("onboarding", "Invitation").objects.update(mailed_at=models.F("created_at"))
    apps.get_model("onboarding", "DeviceReset").objects.update(notified_at=models.F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("onboarding", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="devicereset",
            name="notified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="invitation",
            name="link_origin",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="invitation",
            name="mailed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(_mark_earlier_mails_sent, migrations.RunPython.noop),
    ]
