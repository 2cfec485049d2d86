"""The restore drill: a good backup passes; a broken audit chain is detected."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from compliance.models import Alert
from continuity.backup import DatabaseTarget
from continuity.models import DrillResult, Outcome
from tests.audit.helpers import raw, triggers_disabled
from tests.factories import UserFactory, grant
from tests.personas import build_world


def _drill_databases() -> set[str]:
    with DatabaseTarget.default().connect() as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'secretariat_drill_%'"
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.django_db(transaction=True)
def test_drill_passes_on_an_intact_backup_and_drops_its_database(backup_settings):
    world = build_world()
    call_command("backup")
    call_command("restore_drill")
    drill = DrillResult.objects.get()
    assert drill.outcome == Outcome.SUCCESS, drill.details
    assert drill.details["row_count_mismatches"] == []
    assert drill.details["chains_checked"] >= 3
    assert drill.details["events_checked"] > 0
    assert drill.details["totp_secrets_checked"] == 0 or drill.details["totp_failures"] == []
    # Its own scratch database only: other runs may drill on the same server.
    assert drill.details["scratch_database"].startswith("secretariat_drill_")
    assert drill.details["scratch_database"] not in _drill_databases()
    assert world.practice_a.pk


@pytest.mark.django_db(transaction=True)
def test_drill_detects_a_tampered_audit_row(backup_settings, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    officer = grant(UserFactory(username="dpo2", email="dpo@example.org"), "compliance_officer")
    build_world()
    victim = AuditEvent.objects.filter(practice__isnull=False).order_by("id").first()
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET object_id = 'tampered' WHERE id = %s", [victim.pk])
    call_command("backup")
    with pytest.raises(CommandError, match="échec"):
        call_command("restore_drill")
    drill = DrillResult.objects.get()
    assert drill.outcome == Outcome.FAILURE
    assert drill.details["broken_chains"] == [f"practice:{victim.practice_id}"]
    assert drill.details["broken_event_ids"] == [victim.pk]
    alert = Alert.objects.get(kind=Alert.Kind.DRILL_FAILED)
    assert alert.notified_at is not None
    assert [m.to for m in mail.outbox] == [[officer.email]]


@pytest.mark.django_db(transaction=True)
def test_drill_without_any_backup_records_a_failure(backup_settings):
    with pytest.raises(CommandError):
        call_command("restore_drill")
    drill = DrillResult.objects.get()
    assert (drill.outcome, drill.details) == (Outcome.FAILURE, {"error": "no_backup"})


@pytest.mark.django_db(transaction=True)
def test_drill_of_a_damaged_backup_records_a_failure(backup_settings):
    call_command("backup")
    (path,) = backup_settings.glob("*.sbk")
    data = bytearray(path.read_bytes())
    data[-3] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CommandError):
        call_command("restore_drill")
    assert DrillResult.objects.get().details == {"error": "backup_integrity"}


@pytest.mark.django_db
def test_drill_results_page_shows_outcomes_to_compliance(world):
    DrillResult.objects.create(
        backup_file="secretariat-x.sbk", outcome=Outcome.FAILURE, details={"error": "no_backup"}
    )
    response = world.client("compliance_officer").get("/conformite/continuite/")
    assert response.status_code == 200
    assert b"secretariat-x.sbk" in response.content
    # The details in words (audit/labels.py), not as stored (issue 13 item 7).
    assert "Erreur : Aucune sauvegarde" in response.content.decode()
    assert b"no_backup" not in response.content


@pytest.mark.django_db
def test_continuity_page_sends_alerts_to_the_one_inbox(world):
    body = world.client("compliance_officer").get("/conformite/continuite/").content.decode()
    assert 'href="/conformite/alertes/"' in body
