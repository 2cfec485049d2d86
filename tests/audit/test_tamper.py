"""Tampering with the audit trail, triggers on, as the application's database
role could (a role that owns nothing, with every privilege on the audit tables:
whatever the grants, the guards must hold), and triggers off, as a superuser
could. Each scenario is refused by the database or detected by verification
(`audit_verify`, the seal every few minutes, `--against` the exported heads).

Scenarios (issue 12, defect 12): (a) a forged event inserted outside the append;
(b) a chain head deleted, reset or moved; (c) the newest events rewritten or
truncated after the last daily digest; (d) an event back- or forward-dated.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from freezegun import freeze_time

from accounts.dbroles import MAINTENANCE, OWNER
from audit import chain as chain_module
from audit.chain import CONTENT_FIELDS, link_hash, payload_digest
from audit.models import GENESIS_HASH, AuditChain, AuditEvent
from audit.selectors import patient_access_events
from audit.services import record_event
from audit.verification import verify_all
from compliance.audit_trail import heads_seal
from compliance.models import Alert
from compliance.tasks import seal_audit_chains, verify_audit_chains, write_audit_digests
from tests.audit.helpers import audit_verify, fill_chain, head_reset, raw, triggers_disabled
from tests.dbroles import as_role
from tests.factories import as_actor

PATIENT = "4242"


@contextmanager
def application_role() -> Iterator[str]:
    """The rest of the block runs as a role that is neither superuser nor owner,
    with every privilege on the audit tables (more than production grants): the
    maintenance role, granted them by the owner inside the test's transaction
    (rolled back with it)."""
    with as_role(OWNER):
        raw(
            "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON audit_auditevent, "
            f"audit_auditchain, audit_auditdigest TO {MAINTENANCE}"
        )
    with as_role(MAINTENANCE):
        yield MAINTENANCE


def _refused(sql: str, params: list | tuple = (), match: str = "refused") -> None:
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        raw(sql, params)


def _content(practice_id: int | None, **changes) -> dict:
    content = {
        "occurred_at": timezone.now(),
        "actor_id": None,
        "actor_username": "dr_a",
        "role": "practitioner",
        "action": "view",
        "object_type": "patient",
        "object_id": PATIENT,
        "practice_id": practice_id,
        "outcome": "allowed",
        "ip_address": "10.0.0.9",
        "user_agent": "forged",
        "request_id": "",
        "detail": {},
    }
    return content | changes


_INSERT = (
    f"INSERT INTO audit_auditevent (chain_id, seq, prev_hash, hash, {', '.join(CONTENT_FIELDS)}) "
    f"VALUES (%s, %s, %s, %s, {', '.join(['%s'] * len(CONTENT_FIELDS))})"
)


def _insert(chain_id: int, seq: int, prev_hash: str, content: dict, event_hash: str = "") -> None:
    """A plain INSERT of a well-formed event, its link hashed as the append does."""
    event_hash = event_hash or link_hash(prev_hash, seq, payload_digest(content))
    values = [json.dumps(v) if name == "detail" else v for name, v in content.items()]
    raw(_INSERT, [chain_id, seq, prev_hash, event_hash, *values])


def _latest_export() -> Path:
    return max(Path(settings.AUDIT_DIGEST_EXPORT_DIR).glob("audit-digests-*.json"))


@pytest.fixture
def chain(world) -> AuditChain:
    return fill_chain(world.practice_a, 5)


def _unknown_chain_id() -> int:
    return (AuditChain.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000


# --- (a) forged events ---------------------------------------------------------------


def test_forged_event_under_an_unknown_chain_is_refused(world, chain):
    forged = _content(world.practice_a.pk)
    with application_role():
        _refused_insert = pytest.raises(DatabaseError, match="chain .* does not exist")
        with _refused_insert, transaction.atomic():
            _insert(_unknown_chain_id(), 1, GENESIS_HASH, forged)
    assert not patient_access_events(world.practice_a, PATIENT).exists()
    assert audit_verify("--no-alert")[1] == 0


def test_forged_event_under_an_unknown_chain_is_reported_by_verification(world, chain):
    """Inserted with the triggers off: no head covers it, yet the practice's
    report shows it. Verification looks at every chain id the events name."""
    orphan = _unknown_chain_id()
    with triggers_disabled():
        _insert(orphan, 1, GENESIS_HASH, _content(world.practice_a.pk))
    assert patient_access_events(world.practice_a, PATIENT).exists()

    output, status = audit_verify()
    practice_output, practice_status = audit_verify(
        "--practice", world.practice_a.slug, "--no-alert"
    )

    assert status == 1 and practice_status == 1
    assert f"chain:{orphan}  ROMPUE après 0 événements : anomalie=unknown_chain" in output
    assert f"chain:{orphan}  ROMPUE" in practice_output
    alert = Alert.objects.get()
    assert (alert.kind, alert.detail["chain"], alert.detail["problem"]) == (
        "chain_broken",
        f"chain:{orphan}",
        "unknown_chain",
    )
    # The practice's own chain still verifies: the break is the orphan's alone.
    assert f"{chain.key}  {chain.last_seq} événements" in output


def test_forged_event_after_the_head_without_moving_it_is_refused(world, chain):
    forged = _content(world.practice_a.pk)
    with (
        application_role(),
        pytest.raises(DatabaseError, match="not appended with its chain head"),
        transaction.atomic(),
    ):
        _insert(chain.pk, chain.last_seq + 1, chain.last_hash, forged)
    assert not patient_access_events(world.practice_a, PATIENT).exists()


_FORGED_APPEND = f"""
WITH head AS (
    UPDATE audit_auditchain SET last_seq = last_seq + 1, last_hash = %s, last_occurred_at = %s
    WHERE id = %s RETURNING id, last_seq, last_hash
)
INSERT INTO audit_auditevent (chain_id, seq, prev_hash, hash, {", ".join(CONTENT_FIELDS)})
SELECT head.id, head.last_seq, %s, head.last_hash, {", ".join(["%s"] * len(CONTENT_FIELDS))}
FROM head
"""


def test_forged_event_moving_the_head_with_a_made_up_hash_is_refused(world, chain):
    """The attacker writes the append statement themselves, with a hash that is
    not the link of the event's content."""
    forged = _content(world.practice_a.pk)
    values = [json.dumps(v) if name == "detail" else v for name, v in forged.items()]
    params = ["f" * 64, forged["occurred_at"], chain.pk, chain.last_hash, *values]
    before = chain.last_seq
    with (
        application_role(),
        pytest.raises(DatabaseError, match="hash is not its link"),
        transaction.atomic(),
    ):
        raw(_FORGED_APPEND, params)
    chain.refresh_from_db()
    assert chain.last_seq == before


def test_forged_event_moving_the_head_off_the_previous_hash_is_refused(world, chain):
    """A well-linked event whose prev_hash is not the head's: a fork."""
    forged = _content(world.practice_a.pk)
    new_hash = link_hash("e" * 64, chain.last_seq + 1, payload_digest(forged))
    values = [json.dumps(v) if name == "detail" else v for name, v in forged.items()]
    params = [new_hash, forged["occurred_at"], chain.pk, "e" * 64, *values]
    with (
        application_role(),
        pytest.raises(DatabaseError, match="head only moves onto"),
        transaction.atomic(),
    ):
        raw(_FORGED_APPEND, params)


def test_event_naming_another_practice_than_its_chain_is_refused(world, chain):
    """The real append, into the platform chain, of an event naming practice A:
    it would show in practice A's reports, vouched for by another chain."""
    platform = AuditChain.objects.get(key="platform")
    with (
        application_role(),
        pytest.raises(DatabaseError, match="is not the practice of chain"),
        transaction.atomic(),
    ):
        chain_module.append(platform.pk, _content(world.practice_a.pk))
    assert not patient_access_events(world.practice_a, PATIENT).exists()


def test_event_naming_another_practice_than_its_chain_is_reported(world, chain):
    platform = AuditChain.objects.get(key="platform")
    with triggers_disabled():
        appended = chain_module.append(platform.pk, _content(world.practice_a.pk))

    output, status = audit_verify("--no-alert")

    assert status == 1
    assert (
        f"platform  ROMPUE après {appended.seq - 1} événements : anomalie=practice "
        f"événement={appended.id} seq={appended.seq} attendu=None trouvé={world.practice_a.pk}"
    ) in output


def test_copy_of_the_newest_event_is_refused(chain):
    newest = AuditEvent.objects.get(chain=chain, seq=chain.last_seq)
    content = {name: getattr(newest, name) for name in CONTENT_FIELDS}
    with (
        application_role(),
        pytest.raises(DatabaseError, match="already has seq"),
        transaction.atomic(),
    ):
        _insert(chain.pk, newest.seq, newest.prev_hash, content, newest.hash)
    assert AuditEvent.objects.filter(chain=chain, seq=newest.seq).count() == 1


# --- (b) chain heads -------------------------------------------------------------


def test_chain_head_delete_and_truncate_are_refused(chain):
    with application_role():
        _refused("DELETE FROM audit_auditchain WHERE id = %s", [chain.pk], "append-only")
        # The suite's session flag lets a superuser's TRUNCATE through, not this role's.
        _refused("TRUNCATE audit_auditchain CASCADE", match="append-only")
    assert AuditChain.objects.filter(pk=chain.pk).exists()


@pytest.mark.parametrize(
    "change",
    [
        "last_seq = 2, last_hash = (SELECT hash FROM audit_auditevent"
        " WHERE chain_id = audit_auditchain.id AND seq = 2)",
        "last_seq = 0, last_hash = repeat('0', 64)",
        "last_seq = last_seq + 5",
        "last_hash = repeat('a', 64)",
        "last_occurred_at = last_occurred_at + interval '1 day'",
        "key = 'practice:0'",
        "practice_id = practice_id + 1",
    ],
    ids=["reset", "genesis", "skip", "hash", "time", "key", "practice"],
)
def test_chain_head_moved_without_its_event_is_refused(chain, change):
    with application_role():
        _refused(f"UPDATE audit_auditchain SET {change} WHERE id = %s", [chain.pk])
    before = (chain.last_seq, chain.last_hash)
    chain.refresh_from_db()
    assert (chain.last_seq, chain.last_hash) == before


@pytest.mark.parametrize(
    "values",
    [
        ("practice:999999", 999999, 5, GENESIS_HASH),
        ("practice:999999", 999999, 0, "a" * 64),
        ("practice:1", 999999, 0, GENESIS_HASH),
        ("platform", 999999, 0, GENESIS_HASH),
    ],
    ids=["not-empty", "not-genesis", "wrong-key", "platform-key"],
)
def test_new_chain_starts_empty_under_its_practice_key(db, values):
    with application_role():
        _refused(
            "INSERT INTO audit_auditchain (key, practice_id, last_seq, last_hash, updated_at)"
            " VALUES (%s, %s, %s, %s, now())",
            values,
        )


def test_chain_head_deleted_with_triggers_off_is_reported(world, chain):
    seal_audit_chains.apply().get()
    with triggers_disabled("audit_auditdigest"):
        raw("DELETE FROM audit_auditchain WHERE id = %s", [chain.pk])

    output, status = audit_verify("--no-alert", "--against", str(_latest_export()))

    assert status == 1
    assert f"chain:{chain.pk}  ROMPUE après 0 événements : anomalie=unknown_chain" in output
    assert f"{chain.key}  ROMPUE selon {_latest_export().name} : anomalie=export_chain" in output


# --- (c) the newest events, after the last daily digest ------------------------------


def _rewrite_and_rechain(chain: AuditChain, seq: int) -> str:
    """Change one event's object, re-link every event after it and move the head
    to match: the chain alone verifies again. Returns the new head hash."""
    events = list(AuditEvent.objects.filter(chain=chain, seq__gte=seq).order_by("seq"))
    prev_hash = events[0].prev_hash
    with triggers_disabled():
        for event in events:
            content = {name: getattr(event, name) for name in CONTENT_FIELDS}
            if event.seq == seq:
                content["object_id"] = "999999"
            new_hash = link_hash(prev_hash, event.seq, payload_digest(content))
            raw(
                "UPDATE audit_auditevent SET object_id = %s, prev_hash = %s, hash = %s"
                " WHERE id = %s",
                [content["object_id"], prev_hash, new_hash, event.pk],
            )
            prev_hash = new_hash
    head_reset(chain, events[-1].seq, prev_hash)
    return prev_hash


@pytest.fixture
def sealed(world, chain) -> AuditChain:
    """The daily digests are written, then more reads, then a seal (the beat runs
    it every few minutes): the newest events are past the daily digest."""
    write_audit_digests.apply().get()
    chain.refresh_from_db()
    chain.digested = chain.last_seq
    for _number in range(3):
        record_event(
            actor=as_actor(),
            action="view",
            practice=world.practice_a,
            object_type="patient",
            object_id=77,
        )
    seal_audit_chains.apply().get()
    chain.refresh_from_db()
    assert chain.last_seq == chain.digested + 3
    return chain


def test_rewrite_after_the_daily_digest_is_detected_by_the_next_seal(sealed):
    # After the daily digest, before the seal.
    _rewrite_and_rechain(sealed, sealed.digested + 2)
    # The database alone, digests included, sees nothing.
    assert audit_verify("--no-alert")[1] == 0

    seal_audit_chains.apply().get()

    alert = Alert.objects.get()
    assert (alert.kind, alert.detail["problem"], alert.detail["seq"]) == (
        "digest_mismatch",
        "export_hash",
        sealed.last_seq,
    )
    output, status = audit_verify("--no-alert", "--against", str(_latest_export()))
    assert status == 1
    assert "anomalie=export_hash" in output


def test_truncation_after_the_daily_digest_is_detected_by_the_next_seal(sealed):
    kept = AuditEvent.objects.get(chain=sealed, seq=sealed.digested + 1)
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE chain_id = %s AND seq > %s", [sealed.pk, kept.seq])
    head_reset(sealed, kept.seq, kept.hash)
    assert audit_verify("--no-alert")[1] == 0

    seal_audit_chains.apply().get()

    alert = Alert.objects.get()
    assert (alert.detail["problem"], alert.detail["seq"]) == ("export_beyond_head", sealed.last_seq)
    assert verify_audit_chains.apply().get()["export_broken"] == 1


def test_seal_keeps_the_last_sound_head_of_a_broken_chain(sealed):
    document = json.loads(_latest_export().read_text())
    _rewrite_and_rechain(sealed, sealed.digested + 2)
    record_event(
        actor=as_actor(),
        action="view",
        practice=sealed.practice,
        object_type="patient",
        object_id=1,
    )

    seal_audit_chains.apply().get()
    seal_audit_chains.apply().get()

    def entry(document: dict) -> dict:
        return next(e for e in document["entries"] if e["chain"] == sealed.key)

    assert entry(json.loads(_latest_export().read_text())) == entry(document)
    assert Alert.objects.count() == 1  # raised once


def test_seal_signs_the_events_since_the_daily_digest(sealed):
    sealed.refresh_from_db()
    document = json.loads(_latest_export().read_text())
    entry = next(e for e in document["entries"] if e["chain"] == sealed.key)
    assert (entry["seq"], entry["hash"]) == (sealed.last_seq, sealed.last_hash)
    assert audit_verify("--no-alert", "--against", str(_latest_export()))[1] == 0


def test_seal_runs_every_few_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["seal-audit-chains"]
    assert entry["task"] == "compliance.tasks.seal_audit_chains"
    assert entry["schedule"] == settings.AUDIT_SEAL_MINUTES * 60 <= 15 * 60


def test_nightly_verification_alerts_when_the_seal_has_stopped(sealed):
    with freeze_time(timezone.now() + timedelta(minutes=3 * settings.AUDIT_SEAL_MINUTES + 1)):
        result = verify_audit_chains.apply().get()
    assert result["export_broken"] == 1
    alert = Alert.objects.get()
    assert (alert.kind, alert.detail["problem"]) == ("digest_mismatch", "export_stale")


# --- (d) the time of an event ---------------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(days=-40), timedelta(hours=-2), timedelta(days=2)])
def test_event_dated_away_from_the_database_clock_is_refused(world, chain, offset):
    content = _content(world.practice_a.pk, occurred_at=timezone.now() + offset)
    before = chain.last_seq
    with (
        application_role(),
        pytest.raises(DatabaseError, match="too far from the database clock"),
        transaction.atomic(),
    ):
        chain_module.append(chain.pk, content)
    chain.refresh_from_db()
    assert chain.last_seq == before


def test_event_back_dated_by_the_application_clock_is_refused(world, chain):
    back = freeze_time(timezone.now() - timedelta(days=40))
    with back, pytest.raises(DatabaseError, match="too far"), transaction.atomic():
        record_event(
            actor=as_actor(), action="view", practice=world.practice_a, object_type="patient"
        )


def test_clock_check_cannot_be_turned_off_by_the_application_role(world, chain):
    with application_role(), pytest.raises(DatabaseError, match="owner"), transaction.atomic():
        raw("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_clock")


def test_portable_append_refuses_a_back_dated_event(world, chain):
    content = _content(world.practice_a.pk, occurred_at=timezone.now() - timedelta(days=40))
    with pytest.raises(chain_module.AuditClockError):
        chain_module._append_portable(chain.pk, content)


def test_database_clock_tolerance_is_the_applications(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_clock_tolerance()")
        assert cursor.fetchone()[0] == chain_module.CLOCK_TOLERANCE


# --- the application still writes, as a role that owns nothing -------------------------


def test_application_role_appends_and_seals(world, chain):
    with application_role():
        appended = record_event(
            actor=as_actor(), action="view", practice=world.practice_a, object_type="patient"
        )
        record_event(actor=as_actor(), action="login")  # the platform chain
        fresh = record_event(
            actor=as_actor(), action="view", practice=world.practice_b, object_type="patient"
        )
    assert appended.seq == chain.last_seq + 1
    assert fresh.seq >= 1
    heads_seal()
    assert all(report.ok for report in verify_all())


def test_seal_alerts_a_chain_head_deleted_since_the_last_seal(sealed):
    with triggers_disabled("audit_auditdigest"):
        raw("DELETE FROM audit_auditdigest WHERE chain_id = %s", [sealed.pk])
        raw("DELETE FROM audit_auditchain WHERE id = %s", [sealed.pk])

    seal_audit_chains.apply().get()

    problems = set(Alert.objects.values_list("detail__problem", flat=True))
    assert problems == {"export_chain", "unknown_chain"}
    # The last sound entry stays in the file: the next seal reports it again.
    entries = json.loads(_latest_export().read_text())["entries"]
    assert any(entry["chain"] == sealed.key for entry in entries)


def test_seal_alerts_a_tampered_export_and_starts_from_the_database(sealed):
    path = _latest_export()
    document = json.loads(path.read_text())
    document["entries"][0]["seq"] -= 1
    path.write_text(json.dumps(document))

    seal_audit_chains.apply().get()

    assert list(Alert.objects.values_list("detail__problem", flat=True)) == ["export_signature"]
    assert audit_verify("--no-alert", "--against", str(_latest_export()))[1] == 0
