"""The audit table partitioned by month (PostgreSQL), and retention by dropping
the oldest months from a signed checkpoint."""

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from freezegun import freeze_time

from accounts.dbroles import MAINTENANCE, OWNER
from audit import chain as chain_module
from audit import partitions
from audit.digests import digest_export, digest_write
from audit.models import AuditChain, AuditDigest, AuditEvent
from audit.partitions import PartitionDropRefused, partition_drop, partitions_ensure
from audit.verification import digest_signature, verify_all
from compliance.models import Alert
from tests.audit.helpers import raw, triggers_disabled
from tests.dbroles import as_role
from tests.factories import PracticeFactory, as_actor

# Events are written at frozen dates (freezegun): see the fixture.
pytestmark = pytest.mark.usefixtures("audit_clock_unchecked")


def _partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM audit_auditevent WHERE id = %s", [event_id]
        )
        return cursor.fetchone()[0]


def _record(practice, when: datetime | None = None, count: int = 1) -> list[int]:
    from audit.services import record_event

    ids = []
    with freeze_time(when or timezone.now()):
        for number in range(count):
            ids.append(
                record_event(
                    actor=as_actor(), action="view", practice=practice, object_id=number
                ).id
            )
    return ids


def _drop_months(before: str, confirm: bool = True) -> None:
    """audit_drop_partitions, run by the maintenance role (docs/tenancy.md)."""
    with as_role(MAINTENANCE):
        call_command("audit_drop_partitions", before=before, confirm=confirm)


def _exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        return cursor.fetchone()[0] is not None


JAN = datetime(2025, 1, 15, 10, tzinfo=UTC)
FEB = datetime(2025, 2, 10, 10, tzinfo=UTC)


@pytest.fixture
def old_trail(db):
    """Practice A: created (one event) and 3 events in January 2025, 2 in
    February, 2 now: seqs 1-4, 5-6, 7-8. Practice B: created and one event in
    January, one now: 1-2, 3 (another chain a drop must keep right)."""
    partitions_ensure(today=date(2025, 1, 1), months_ahead=1)
    with freeze_time(JAN - timedelta(days=1)):
        practice_a, practice_b = PracticeFactory(), PracticeFactory()
    _record(practice_a, JAN, 3)
    _record(practice_b, JAN)
    _record(practice_a, FEB, 2)
    _record(practice_a, count=2)
    _record(practice_b)
    return (
        AuditChain.objects.get(key=f"practice:{practice_a.pk}"),
        AuditChain.objects.get(key=f"practice:{practice_b.pk}"),
    )


def test_audit_table_is_partitioned_by_month(db):
    assert partitions.is_partitioned()
    [event_id] = _record(PracticeFactory())
    assert _partition_of(event_id) == f"audit_auditevent_{timezone.now():%Y_%m}"


def test_event_outside_every_month_lands_in_the_default_partition(db):
    moment = datetime(2001, 5, 1, tzinfo=UTC)
    with freeze_time(moment):
        practice = PracticeFactory()
    [event_id] = _record(practice, moment)
    assert _partition_of(event_id) == partitions.DEFAULT
    assert all(report.ok for report in verify_all())


def test_partitions_ensure_creates_months_ahead_once(db):
    assert partitions_ensure(today=date(2030, 1, 20), months_ahead=2) == 3
    assert partitions_ensure(today=date(2030, 1, 20), months_ahead=2) == 0
    names = [p.name for p in partitions.list_partitions()]
    assert {"audit_auditevent_2030_01", "audit_auditevent_2030_03"} <= set(names)
    assert names[-1] == partitions.DEFAULT
    assert AuditEvent.objects.filter(object_type="audit_partition", action="create").count() == 1


def test_partitions_ensure_skips_a_month_already_in_the_default_partition(db):
    moment = datetime(2031, 6, 2, tzinfo=UTC)
    with freeze_time(moment):
        _record(PracticeFactory(), moment)
    assert partitions_ensure(today=date(2031, 5, 1), months_ahead=2) == 2
    assert not _exists("audit_auditevent_2031_06")


@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE {table}",
        "DELETE FROM {table}",
        "UPDATE {table} SET object_id = 'x'",
    ],
)
@pytest.mark.parametrize("table", ["audit_auditevent_2030_02", "audit_auditevent_default"])
def test_partition_changed_directly_is_refused(db, sql, table):
    """By the triggers, even to the owner of the partitions; the application role
    is refused before, for want of any privilege on them (test below)."""
    partitions_ensure(today=date(2030, 2, 1), months_ahead=0)
    moment = (
        datetime(2030, 2, 3, tzinfo=UTC)
        if table.endswith("02")
        else datetime(2001, 1, 1, tzinfo=UTC)
    )
    with freeze_time(moment):
        practice = PracticeFactory()
    [event_id] = _record(practice, moment)
    assert _partition_of(event_id) == table
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), as_role(OWNER):
        # The suite's connections let the owner TRUNCATE for the flush.
        raw("SET LOCAL secretariat.audit_maintenance = 'off'")
        raw(sql.format(table=table))
    assert AuditEvent.objects.filter(pk=event_id, object_id="0").exists()


@pytest.mark.parametrize(
    "sql", ["SELECT 1 FROM {table}", "INSERT INTO {table} SELECT * FROM {table}"]
)
def test_partitions_are_out_of_the_application_roles_reach(db, database_roles, sql):
    """Row security is declared on the parent table: the partitions themselves
    are granted to no role, so that nobody reads or writes around it."""
    partitions_ensure(today=date(2030, 2, 1), months_ahead=0)
    for table in ("audit_auditevent_2030_02", "audit_auditevent_default"):
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            raw(sql.format(table=table))


def test_occurred_at_does_not_step_back_a_little_within_a_chain(db):
    practice = PracticeFactory()
    [first] = _record(practice)
    [second] = _record(practice, timezone.now() - timedelta(minutes=10))
    times = dict(AuditEvent.objects.filter(pk__in=[first, second]).values_list("pk", "occurred_at"))
    assert times[second] == times[first]
    assert all(report.ok for report in verify_all())


def test_occurred_at_after_a_clock_fixed_by_days_is_kept(db):
    practice = PracticeFactory()
    with freeze_time(timezone.now() + timedelta(days=3)):
        _record(practice)
    now = timezone.now()
    [event_id] = _record(practice, now)
    assert AuditEvent.objects.get(pk=event_id).occurred_at == now
    assert all(report.ok for report in verify_all())


def test_portable_append_does_not_step_back_a_little_either(db):
    # SQLite's path, run here on PostgreSQL: its insert and head update are two
    # statements, which the chain guard (migration 0012) refuses on PostgreSQL.
    with triggers_disabled():
        _portable_append_does_not_step_back()


def _portable_append_does_not_step_back():
    chain = AuditChain.objects.create(key="test:portable")
    later = timezone.now()
    content = {
        "occurred_at": later,
        "actor_id": None,
        "actor_username": "",
        "role": "",
        "action": "view",
        "object_type": "",
        "object_id": "",
        "practice_id": None,
        "outcome": "allowed",
        "ip_address": "",
        "user_agent": "",
        "request_id": "",
        "detail": {},
    }
    chain_module._append_portable(chain.pk, content)
    earlier = chain_module._append_portable(
        chain.pk, dict(content, occurred_at=later - timedelta(minutes=5))
    )
    assert AuditEvent.objects.get(pk=earlier.id).occurred_at == later
    chain.refresh_from_db()
    assert chain_module._verify_chain_python(chain) == (2, None)


def test_drop_old_months_checkpoints_and_the_chains_still_verify(old_trail):
    chain_a, chain_b = old_trail
    _drop_months(before="2025-03", confirm=True)
    assert not _exists("audit_auditevent_2025_01") and not _exists("audit_auditevent_2025_02")
    checkpoints = AuditDigest.objects.filter(kind=AuditDigest.Kind.CHECKPOINT)
    assert sorted(checkpoints.values_list("chain__key", "seq")) == sorted(
        [(chain_a.key, 4), (chain_a.key, 6), (chain_b.key, 2)]
    )
    assert AuditEvent.objects.filter(chain=chain_a).count() == 2
    reports = {report.chain_key: report for report in verify_all()}
    assert reports[chain_a.key].ok and reports[chain_a.key].count == 2
    assert reports[chain_b.key].ok and reports[chain_b.key].count == 1
    drops = AuditEvent.objects.filter(action="purge", object_type="audit_partition")
    assert sorted(drops.values_list("object_id", flat=True)) == [
        "audit_auditevent_2025_01",
        "audit_auditevent_2025_02",
    ]
    assert drops.get(object_id="audit_auditevent_2025_01").detail == {"events": 6, "chains": 2}


def test_drop_then_daily_digest_restarts_from_the_checkpoint(old_trail):
    chain_a, _chain_b = old_trail
    _drop_months(before="2025-03", confirm=True)
    digest, _finding = digest_write(chain=chain_a)
    assert digest is not None and digest.seq == 8


def test_events_deleted_after_a_drop_are_detected(old_trail):
    chain_a, _chain_b = old_trail
    _drop_months(before="2025-02", confirm=True)
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE chain_id = %s AND seq = 5", [chain_a.pk])
    report = {r.chain_key: r for r in verify_all()}[chain_a.key]
    assert (report.broken.problem, report.broken.seq) == ("missing_events", 6)


def test_oldest_events_deleted_up_to_a_daily_digest_are_detected(old_trail):
    chain_a, _chain_b = old_trail
    assert digest_write(chain=chain_a)[0].seq == 8
    _record(chain_a.practice)
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE chain_id = %s AND seq <= 8", [chain_a.pk])
    report = {r.chain_key: r for r in verify_all()}[chain_a.key]
    assert report.broken.problem == "missing_events"


def test_checkpoint_signed_as_a_daily_digest_is_refused(old_trail):
    chain_a, _chain_b = old_trail
    event = AuditEvent.objects.get(chain=chain_a, seq=4)
    AuditDigest.objects.create(
        chain=chain_a,
        kind=AuditDigest.Kind.CHECKPOINT,
        seq=4,
        hash=event.hash,
        signature=digest_signature(chain_a.key, 4, event.hash),
    )
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE chain_id = %s AND seq <= 4", [chain_a.pk])
    report = {r.chain_key: r for r in verify_all()}[chain_a.key]
    assert report.broken.problem == "digest_signature"


def test_drop_of_a_month_with_older_events_left_is_refused(old_trail):
    [february] = [p for p in partitions.list_partitions() if p.month == date(2025, 2, 1)]
    with pytest.raises(PartitionDropRefused, match="mois antérieurs"), as_role(MAINTENANCE):
        partition_drop(partition=february)
    assert _exists("audit_auditevent_2025_02")
    assert not AuditDigest.objects.filter(kind=AuditDigest.Kind.CHECKPOINT).exists()


def test_drop_of_a_tampered_month_is_refused(old_trail):
    chain_a, _chain_b = old_trail
    with triggers_disabled():
        raw(
            "UPDATE audit_auditevent SET object_id = '9' WHERE chain_id = %s AND seq = 2",
            [chain_a.pk],
        )
    with pytest.raises(CommandError, match="rompue"):
        _drop_months(before="2025-02", confirm=True)
    assert _exists("audit_auditevent_2025_01")
    assert not AuditDigest.objects.filter(kind=AuditDigest.Kind.CHECKPOINT).exists()


def test_drop_verifies_the_chain_up_to_the_month_only(old_trail):
    # Issue 18 item 5: the drop's cost follows the month, not the whole trail.
    # A break after the month is the nightly verification's, and it still finds it.
    chain_a, _chain_b = old_trail
    with triggers_disabled():
        raw(
            "UPDATE audit_auditevent SET object_id = '9' WHERE chain_id = %s AND seq = 7",
            [chain_a.pk],
        )
    _drop_months(before="2025-02", confirm=True)
    assert not _exists("audit_auditevent_2025_01")
    report = {r.chain_key: r for r in verify_all()}[chain_a.key]
    assert (report.broken.problem, report.broken.seq) == ("hash", 7)


def test_drop_of_a_month_missing_an_event_is_refused(old_trail):
    chain_a, _chain_b = old_trail
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE chain_id = %s AND seq = 3", [chain_a.pk])
    with pytest.raises(CommandError, match="rompue"):
        _drop_months(before="2025-02", confirm=True)
    assert _exists("audit_auditevent_2025_01")
    assert not AuditDigest.objects.filter(kind=AuditDigest.Kind.CHECKPOINT).exists()


def test_drop_within_the_retention_period_is_refused(old_trail):
    following = partitions.next_month(timezone.now().date())
    with pytest.raises(CommandError, match="365 jours"):
        _drop_months(before=f"{following:%Y-%m}", confirm=True)
    assert _exists("audit_auditevent_2025_01")


def test_drop_without_confirm_changes_nothing(old_trail, capsys):
    _drop_months(before="2025-03", confirm=False)
    assert "2025-01  6 événements" in capsys.readouterr().out
    assert _exists("audit_auditevent_2025_01") and _exists("audit_auditevent_2025_02")


def test_drop_bad_month_is_refused(db):
    with pytest.raises(CommandError, match="Mois invalide"):
        _drop_months(before="janvier", confirm=False)


def test_partitions_ensure_works_for_the_application_role_that_cannot_drop_them(db, database_roles):
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_ensure_partitions('2032-01-01', '2032-02-01')")
        assert cursor.fetchone()[0] == 2
    for sql in (
        "DROP TABLE audit_auditevent_2032_01",
        "ALTER TABLE audit_auditevent DETACH PARTITION audit_auditevent_2032_01",
        "SELECT audit_drop_partition('audit_auditevent_2032_01')",
        "SELECT audit_lock_partition('audit_auditevent_2032_01')",
    ):
        refused = pytest.raises(DatabaseError, match="must be owner|permission denied")
        with refused, transaction.atomic():
            raw(sql)
    assert _exists("audit_auditevent_2032_01")


def test_drop_partition_function_takes_only_monthly_partitions(db, database_roles):
    with as_role(MAINTENANCE):
        for name in ("audit_auditevent_default", "audit_auditevent", "patients_patient"):
            refused = pytest.raises(DatabaseError, match="not a monthly audit partition")
            with refused, transaction.atomic():
                raw("SELECT audit_drop_partition(%s)", [name])
    assert _exists("audit_auditevent_default")


def test_digest_export_signs_heads_not_checkpoints(old_trail, settings, tmp_path):
    settings.AUDIT_DIGEST_EXPORT_DIR = tmp_path
    chain_a, chain_b = old_trail
    _drop_months(before="2025-03", confirm=True)

    entries = json.loads(digest_export()[0].read_text())["entries"]

    sealed = {entry["chain"]: entry for entry in entries}
    # Chain B's oldest events are gone: sealed from its checkpoint to its head.
    for chain in (chain_a, chain_b):
        chain.refresh_from_db()
        entry = sealed[chain.key]
        assert (entry["seq"], entry["hash"]) == (chain.last_seq, chain.last_hash)
        assert entry["signature"] == digest_signature(chain.key, chain.last_seq, chain.last_hash)
    assert not Alert.objects.exists()


def test_audit_verify_against_an_export_older_than_a_drop_passes(old_trail, settings, tmp_path):
    """An exported digest of events since dropped by retention is vouched for by
    the checkpoint: not a break."""
    settings.AUDIT_DIGEST_EXPORT_DIR = tmp_path
    chain_a, _chain_b = old_trail
    event = AuditEvent.objects.get(chain=chain_a, seq=4)
    AuditDigest.objects.create(
        chain=chain_a,
        seq=4,
        hash=event.hash,
        signature=digest_signature(chain_a.key, 4, event.hash),
    )
    path, _findings = digest_export()
    _drop_months(before="2025-03", confirm=True)

    out = StringIO()
    call_command("audit_verify", "--against", str(path), "--no-alert", stdout=out)

    assert f"{path.name}  " in out.getvalue() and "export(s) vérifié(s) : OK" in out.getvalue()
