"""Dry run first: a first purge of a kind, or a shortened period, is announced
(a notice with the dry run's counts) and applied only after the notice; a
longer period applies at once. The retention page shows every kind with its
period, bounds, what the next purge applies and removes, and when it runs."""

from datetime import timedelta

import pytest
from django.utils import formats, timezone

from accounts.scoping import practice_scope
from appointments.models import WaitingListEntry
from compliance import notices, retention
from compliance.models import DataKind, Notice, PurgeSchedule, RetentionPolicy
from tests.appointments.helpers import appointment_type
from tests.compliance.helpers import aged_rows, announced_long_ago
from tests.patients.helpers import make_patient
from tests.scoping import every_practice

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _closed_entry(world, closed_days_ago: int):
    patient = make_patient(world.practice_a)
    with practice_scope(world.practice_a):
        kind = appointment_type(world.practice_a, name=f"Type {closed_days_ago}")
        entry = WaitingListEntry.objects.create(
            practice=world.practice_a, patient=patient, appointment_type=kind
        )
        WaitingListEntry.objects.filter(pk=entry.pk).update(
            resolved_at=timezone.now() - closed_days_ago * DAY
        )
    return entry


def _planned():
    return Notice.objects.filter(kind=Notice.Kind.PURGE_PLANNED)


def test_first_purge_of_a_kind_is_announced_then_applied_after_the_notice(world):
    entry = _closed_entry(world, 200)
    now = timezone.now()
    first = retention.purge_all(now)
    assert first[world.practice_a.pk]["waiting_list"] == 0
    notice = _planned().get(recipient=world.users["compliance_officer"])
    assert notice.practice_id == world.practice_a.pk
    assert notice.params["counts"]["waiting_list"] == 1
    assert notice.params["due"] == timezone.localdate(now + retention.NOTICE_DAYS * DAY).isoformat()
    assert _planned().filter(recipient=world.users["manager_a"]).exists()
    assert not _planned().filter(recipient=world.users["practitioner_a"]).exists()
    text = notices.text_of(notice)
    assert "Inscriptions closes en liste d'attente : 1" in "\n".join(text.lines)
    # The next nights, before the due date: nothing purged, nothing announced again.
    later = now + (retention.NOTICE_DAYS - 1) * DAY
    assert retention.purge_all(later)[world.practice_a.pk]["waiting_list"] == 0
    assert _planned().count() == 2
    with every_practice():
        assert WaitingListEntry.objects.filter(pk=entry.pk).exists()
    due = now + retention.NOTICE_DAYS * DAY
    assert retention.purge_all(due)[world.practice_a.pk]["waiting_list"] == 1
    assert _planned().count() == 2


def test_practice_with_nothing_to_delete_gets_no_notice(world):
    retention.purge_all()
    assert not _planned().exists()
    with every_practice():
        assert PurgeSchedule.objects.filter(practice=world.practice_a).count() == len(
            retention.PURGED_KINDS
        )


def test_shortened_policy_is_announced_on_save_and_applied_after_notice(world):
    rows = aged_rows(world, "a", ages_days=[60, 5])
    announced_long_ago(world.practice_a, world.practice_b)
    client = world.client("manager_a")
    data = {kind: rule.default_days for kind, rule in retention.RULES.items()}
    response = client.post("/p/cabinet-a/conservation/", {**data, "call_messages": 30})
    assert response.status_code == 302
    notice = _planned().get(recipient=world.users["manager_a"])
    assert notice.params["counts"] == {"call_messages": 1}
    assert notice.params["days"] == {"call_messages": 30}
    page = client.get("/p/cabinet-a/conservation/").content.decode()
    assert "30 jours à partir du" in page
    now = timezone.now()
    # Still the 90 days until the notice has run.
    assert retention.purge_practice(world.practice_a, now)["call_messages"] == 0
    counts = retention.purge_all(now + (retention.NOTICE_DAYS + 1) * DAY)
    assert counts[world.practice_a.pk]["call_messages"] == 1
    with every_practice():
        from appointments.models import CallMessage

        assert set(
            CallMessage.objects.filter(pk__in=rows["call_messages"]).values_list("pk", flat=True)
        ) == {rows["call_messages"][1]}


def test_longer_policy_applies_at_once_without_notice(world):
    announced_long_ago(world.practice_a)
    client = world.client("manager_a")
    data = {kind: rule.default_days for kind, rule in retention.RULES.items()}
    assert client.post("/p/cabinet-a/conservation/", {**data, "reminders": 300}).status_code == 302
    assert not _planned().exists()
    assert retention.periods_in_force(world.practice_a)["reminders"] == 300


def test_retention_page_lists_every_kind_with_period_bounds_count_and_next_purge(world):
    aged_rows(world, "a", ages_days=[400, 5])
    announced_long_ago(world.practice_a)
    page = world.client("compliance_officer").get("/conformite/conservation/cabinet-a/")
    assert page.status_code == 200
    body = page.content.decode()
    for kind in DataKind:
        rule = retention.RULES[kind]
        assert f'class="kind-{kind.value}"' in body
        assert str(kind.label).replace("'", "&#x27;") in body
        assert f"Entre {rule.min_days} et {rule.max_days} jours" in body
    for kind in retention.PURGED_KINDS:
        assert f'class="count-{kind}">' in body
    assert 'class="count-appointments">1<' in body
    assert 'class="count-call_messages">1<' in body
    when = formats.date_format(timezone.localtime(retention.next_purge_at()), "d/m/Y H:i")
    assert f"Prochaine purge : le {when}." in body


def test_next_purge_follows_the_beat_schedule(settings):
    from celery.schedules import crontab

    settings.CELERY_BEAT_SCHEDULE = {
        retention.PURGE_BEAT_ENTRY: {"task": "x", "schedule": crontab(hour=4, minute=5)}
    }
    now = timezone.make_aware(timezone.datetime(2026, 3, 2, 10, 0), timezone.UTC)
    assert retention.next_purge_at(now) == timezone.make_aware(
        timezone.datetime(2026, 3, 3, 4, 5), timezone.UTC
    )


@pytest.mark.parametrize(
    ("kind", "days", "words"),
    [
        ("clinical_notes", 3650, "Durée trop courte : au moins 7300 jours"),
        ("inactive_patients", 100, "Durée trop courte : au moins 365 jours"),
        ("consents", 99999, "Durée trop longue : au plus 3650 jours"),
        ("waiting_list", 1, "Durée trop courte : au moins 7 jours"),
    ],
)
def test_new_kinds_out_of_bounds_refused_in_french_nothing_written(world, kind, days, words):
    data = {kind: rule.default_days for kind, rule in retention.RULES.items()}
    response = world.client("manager_a").post("/p/cabinet-a/conservation/", {**data, kind: days})
    assert response.status_code == 400
    assert words in response.content.decode()
    with every_practice():
        assert not RetentionPolicy.objects.exists()
        assert not PurgeSchedule.objects.exists()
    assert not _planned().exists()


def test_register_says_the_purge_still_applies_the_longer_period_during_the_notice(world):
    from django.urls import reverse

    from compliance import register, services
    from tests.factories import as_actor

    announced_long_ago(world.practice_a)

    def pending(practice):
        rows = register.retention_periods(practice)
        return {row["kind"]: row["pending"] for row in rows}

    assert pending(world.practice_a)["call_messages"] == ""
    assert pending(world.practice_b)["call_messages"].startswith("pas encore purgé")
    services.retention_policy_set(
        practice=world.practice_a,
        kind=DataKind.CALL_MESSAGES,
        days=30,
        actor=as_actor(world.users["manager_a"]),
    )
    retention.purge_announce(practice=world.practice_a)
    assert "encore 90 jours" in pending(world.practice_a)["call_messages"]
    page = world.client("compliance_officer").get(
        reverse("compliance:register", args=["cabinet-a"])
    )
    assert "la purge applique encore 90 jours" in page.content.decode()
