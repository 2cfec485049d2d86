"""When each retention period takes effect (dry run first). The kinds purged
before this migration (appointments, call messages, reminders) keep being
purged as they were: their period in force is recorded as applied. The other
kinds are announced by the next nightly run and purged after the notice.
Row security as a provider record, like the retention policies."""

import django.db.models.deletion
from django.db import migrations, models

from accounts import rls

# The legal defaults of the three kinds at the time of this migration.
LEGACY_DEFAULTS = {"appointments": 365, "call_messages": 90, "reminders": 90}


def applied_as_before(apps, schema_editor):
    Practice = apps.get_model("accounts", "Practice")
    RetentionPolicy = apps.get_model("compliance", "RetentionPolicy")
    PurgeSchedule = apps.get_model("compliance", "PurgeSchedule")
    stored = {
        (policy.practice_id, policy.kind): policy.days
        for policy in RetentionPolicy._base_manager.all()
    }
    PurgeSchedule._base_manager.bulk_create(
        PurgeSchedule(
            practice_id=practice_id,
            kind=kind,
            applied_days=stored.get((practice_id, kind), default),
        )
        for practice_id in Practice._base_manager.values_list("pk", flat=True)
        for kind, default in LEGACY_DEFAULTS.items()
    )


def row_security(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rls.enable("compliance_purgeschedule", "provider"), params=None)


def no_row_security(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rls.disable("compliance_purgeschedule"), params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_practice_privacy_contact'),
        ('compliance', '0014_retention_kinds'),
    ]

    operations = [
        migrations.CreateModel(
            name='PurgeSchedule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('appointments', 'Rendez-vous passés'), ('call_messages', "Messages d'appel"), ('reminders', 'Journal des rappels'), ('waiting_list', "Inscriptions closes en liste d'attente"), ('consents', 'Consentements retirés'), ('clinical_notes', 'Notes cliniques'), ('inactive_patients', 'Patients sans activité'), ('audit_events', "Journal d'audit")], max_length=32)),
                ('applied_days', models.PositiveIntegerField(null=True)),
                ('announced_days', models.PositiveIntegerField(null=True)),
                ('announced_at', models.DateTimeField(null=True)),
                ('due_at', models.DateTimeField(null=True)),
                ('practice', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.practice')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('practice', 'kind'), name='purge_schedule_unique')],
            },
        ),
        migrations.RunPython(applied_as_before, migrations.RunPython.noop),
        migrations.RunPython(row_security, no_row_security),
    ]
