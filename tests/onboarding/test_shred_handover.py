"""Issue 13 item 2: a closed practice's keys are destroyed only after its
hand-over export is recorded, unless an operator overrides it, audited."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import Practice
from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import AuditEvent
from compliance.detectors import detect_suspicious_activity
from compliance.models import Alert
from onboarding.services import practice_status_change
from onboarding.tasks import shred_closed_practices
from patients.models import Patient, PracticeKey
from patients.rotation import handover_status
from tests.patients.helpers import make_patient
from tests.scoping import every_practice

pytestmark = pytest.mark.django_db

CLOSED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
AFTER_GRACE = CLOSED + timedelta(days=91)
ADMIN = Actor.system("test_offboarding")


def _close(practice: Practice, *, export_before_closing: bool = False, tmp_path=None) -> None:
    with freeze_time(CLOSED - timedelta(days=1)):
        practice_status_change(practice=practice, status=Practice.Status.SUSPENDED, actor=ADMIN)
    if export_before_closing:
        with freeze_time(CLOSED - timedelta(hours=1)):
            _export(practice, tmp_path / "avant-fermeture")
    with freeze_time(CLOSED):
        practice_status_change(practice=practice, status=Practice.Status.CLOSED, actor=ADMIN)


def _export(practice: Practice, output, *, check: bool = True) -> None:
    phrase = output.parent / "phrase.txt"
    phrase.write_text("phrase-secrète-du-cabinet\n")
    call_command(
        "export_practice",
        "--practice",
        practice.slug,
        "--output",
        str(output),
        "--passphrase-file",
        str(phrase),
        stdout=StringIO(),
    )
    if check:
        _check(practice, output)


def _check(practice: Practice, output) -> None:
    call_command(
        "check_practice_export",
        "--input",
        str(output),
        "--passphrase-file",
        str(output.parent / "phrase.txt"),
        "--practice",
        practice.slug,
        stdout=StringIO(),
    )


def _live_keys(practice: Practice) -> int:
    with every_practice():
        return PracticeKey.objects.filter(practice=practice, destroyed_at=None).count()


def _shred_events(practice: Practice) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            practice_id=practice.pk, action="key_operation", detail__operation="shred"
        ).order_by("id")
    )


def test_shred_task_skips_and_alerts_a_closed_practice_without_handover(
    world, settings, audit_clock_unchecked
):
    settings.PRACTICE_SHRED_AFTER_DAYS = 90
    patient = make_patient(world.practice_a, last_name="Lefèvre")
    _close(world.practice_a)
    with freeze_time(AFTER_GRACE):
        assert shred_closed_practices() == 0
    with freeze_time(AFTER_GRACE + timedelta(days=1)):
        assert shred_closed_practices() == 0
    assert _live_keys(world.practice_a) == 1
    with practice_scope(world.practice_a):
        assert Patient.objects.get(pk=patient.pk).read("last_name") == "Lefèvre"
    refusals = _shred_events(world.practice_a)
    assert [(event.outcome, event.detail) for event in refusals] == [
        ("denied", {"operation": "shred", "handover_missing": True})
    ] * 2
    detect_suspicious_activity(now=AFTER_GRACE + timedelta(days=1, minutes=5))
    alerts = Alert.objects.filter(kind=Alert.Kind.SHRED_REFUSED)
    assert [(alert.practice_id, alert.detail) for alert in alerts] == [
        (world.practice_a.pk, {"event_id": refusals[0].pk})
    ]


def test_shred_task_shreds_a_closed_practice_after_its_handover(
    world, settings, tmp_path, audit_clock_unchecked
):
    settings.PRACTICE_SHRED_AFTER_DAYS = 90
    make_patient(world.practice_a, last_name="Lefèvre")
    _close(world.practice_a)
    _export(world.practice_a, tmp_path / "restitution")
    export = AuditEvent.objects.get(
        practice_id=world.practice_a.pk, action="export", detail__purpose="offboarding"
    )
    check = AuditEvent.objects.get(
        practice_id=world.practice_a.pk, action="export", detail__purpose="offboarding_check"
    )
    assert check.detail["sha256"] == export.detail["sha256"]
    with freeze_time(AFTER_GRACE):
        assert shred_closed_practices() == 1
    assert _live_keys(world.practice_a) == 0
    (shred,) = _shred_events(world.practice_a)
    assert shred.outcome == "allowed"
    assert shred.detail["handover_event"] == export.pk
    assert shred.detail["handover_check"] == check.pk
    assert "without_handover" not in shred.detail
    detect_suspicious_activity(now=AFTER_GRACE + timedelta(minutes=5))
    assert not Alert.objects.filter(kind=Alert.Kind.SHRED_REFUSED).exists()


def test_shred_task_refuses_a_handover_exported_before_closure(
    world, settings, tmp_path, audit_clock_unchecked
):
    settings.PRACTICE_SHRED_AFTER_DAYS = 90
    make_patient(world.practice_a, last_name="Lefèvre")
    _close(world.practice_a, export_before_closing=True, tmp_path=tmp_path)
    with freeze_time(AFTER_GRACE):
        assert shred_closed_practices() == 0
    assert _live_keys(world.practice_a) == 1


def test_shred_command_refuses_without_handover_then_override_is_audited(world):
    make_patient(world.practice_a, last_name="Lefèvre")
    make_patient(world.practice_b, last_name="Martin")
    with pytest.raises(CommandError, match="aucune restitution"):
        call_command("shred_practice_key", "--practice", "cabinet-a", "--confirm", "cabinet-a")
    assert _live_keys(world.practice_a) == 1
    call_command(
        "shred_practice_key",
        "--practice",
        "cabinet-a",
        "--confirm",
        "cabinet-a",
        "--without-handover",
        stdout=StringIO(),
    )
    assert _live_keys(world.practice_a) == 0
    refused, shredded = _shred_events(world.practice_a)
    assert refused.outcome == "denied"
    assert shredded.outcome == "allowed"
    assert shredded.detail["without_handover"] is True
    assert "handover_event" not in shredded.detail
    assert _live_keys(world.practice_b) == 1


def test_shred_task_refuses_a_handover_never_checked(
    world, settings, tmp_path, audit_clock_unchecked
):
    settings.PRACTICE_SHRED_AFTER_DAYS = 90
    make_patient(world.practice_a, last_name="Lefèvre")
    _close(world.practice_a)
    _export(world.practice_a, tmp_path / "restitution", check=False)
    with freeze_time(AFTER_GRACE):
        assert shred_closed_practices() == 0
    assert _live_keys(world.practice_a) == 1
    (refused,) = _shred_events(world.practice_a)
    assert refused.detail == {"operation": "shred", "handover_unchecked": True}


def test_shred_task_refuses_when_the_check_was_of_another_file(
    world, settings, tmp_path, audit_clock_unchecked
):
    settings.PRACTICE_SHRED_AFTER_DAYS = 90
    make_patient(world.practice_a, last_name="Lefèvre")
    _close(world.practice_a)
    _export(world.practice_a, tmp_path / "premiere")  # exported and checked
    _export(world.practice_a, tmp_path / "seconde", check=False)  # the one handed over
    status = handover_status(world.practice_a)
    assert status.verified  # the first file was checked: it still proves a hand-over
    first = AuditEvent.objects.filter(detail__purpose="offboarding").order_by("id").first()
    assert status.export == first
    make_patient(world.practice_a, last_name="Martin")
    with pytest.raises(CommandError, match="identique|diff|absent"):
        _check(world.practice_a, tmp_path / "seconde")  # the database moved on
    assert handover_status(world.practice_a).export == first


def test_practice_page_shows_the_handover_status(world, settings, tmp_path, audit_clock_unchecked):
    make_patient(world.practice_a, last_name="Lefèvre")
    _close(world.practice_a)
    page = world.client("platform_admin").get(
        reverse("platform:practice", kwargs={"slug": world.practice_a.slug})
    )
    assert "Aucune restitution" in page.content.decode()
    _export(world.practice_a, tmp_path / "restitution", check=False)
    page = world.client("platform_admin").get(
        reverse("platform:practice", kwargs={"slug": world.practice_a.slug})
    )
    assert "non vérifiée" in page.content.decode()
    _check(world.practice_a, tmp_path / "restitution")
    page = world.client("platform_admin").get(
        reverse("platform:practice", kwargs={"slug": world.practice_a.slug})
    )
    text = page.content.decode()
    assert "Restitution vérifiée" in text
    assert "non vérifiée" not in text
