"""Training reminders are notices now (compliance.Notice, in the application and
by e-mail): this week's reminders already mailed are carried over under the
notice's key, so that the week's reminder is not sent twice."""

from django.db import migrations


def carry_over(apps, schema_editor):
    TrainingReminder = apps.get_model("continuity", "TrainingReminder")
    Notice = apps.get_model("compliance", "Notice")
    for reminder in TrainingReminder.objects.all().iterator():
        # Old key: training:<user>:<year>-W<week>; the notice adds :user:<user>.
        Notice.objects.get_or_create(
            key=f"{reminder.key}:user:{reminder.user_id}",
            defaults={
                "recipient_id": reminder.user_id,
                "kind": "training_due",
                "created_at": reminder.sent_at,
                "read_at": reminder.sent_at,
                "mail": "sent",
                "mailed_at": reminder.sent_at,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("continuity", "0002_alerts_moved_to_compliance"),
        ("compliance", "0008_notices"),
    ]

    operations = [
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.DeleteModel(name="TrainingReminder"),
    ]
