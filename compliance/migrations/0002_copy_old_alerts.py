"""Copy the alerts of audit (AuditAlert) and continuity (Alert) into the one
inbox, before their tables are dropped (audit 0005, continuity 0002)."""

from django.db import migrations


def copy_alerts(apps, schema_editor):
    Alert = apps.get_model("compliance", "Alert")
    AuditAlert = apps.get_model("audit", "AuditAlert")
    ContinuityAlert = apps.get_model("continuity", "Alert")
    for old in AuditAlert.objects.select_related("chain").order_by("id"):
        Alert.objects.get_or_create(
            fingerprint=old.fingerprint,
            defaults={
                "kind": old.kind,
                "severity": "critical",
                "practice_id": old.chain.practice_id,
                "detail": {
                    "chain": old.chain.key,
                    "chain_id": old.chain_id,
                    "event_id": old.event_id,
                    "seq": old.seq,
                    "problem": old.problem,
                },
                "notified_at": old.notified_at,
                "acknowledged_by_id": old.acknowledged_by_id,
                "acknowledged_at": old.acknowledged_at,
                "comment": old.comment,
            },
        )
    for old in ContinuityAlert.objects.order_by("id"):
        Alert.objects.get_or_create(
            fingerprint=old.key,
            defaults={
                "kind": old.kind,
                "severity": "critical",
                "detail": old.details,
                "notified_at": old.emailed_at,
                "acknowledged_at": old.resolved_at,
                "comment": "Résolue avant la boîte d'alertes unique." if old.resolved_at else "",
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0001_alerts"),
        ("audit", "0004_browser_indexes"),
        ("continuity", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy_alerts, migrations.RunPython.noop)]
