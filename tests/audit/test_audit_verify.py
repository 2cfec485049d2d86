"""audit_verify, signed digests, the daily tasks and the alerts they raise."""

import hashlib

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import TestCase

from audit import digests
from audit.chain import CONTENT_FIELDS, link_hash, payload_digest
from audit.models import AuditChain, AuditDigest, AuditEvent
from audit.verification import digest_signature, verify_all
from compliance.models import Alert
from compliance.tasks import verify_audit_chains, write_audit_digests
from tests.audit.helpers import audit_verify, fill_chain, head_reset, raw, triggers_disabled

# Alerts are mailed after commit: run the on-commit callbacks.
committed = TestCase.captureOnCommitCallbacks


@pytest.fixture
def chain(world) -> AuditChain:
    officer = world.users["compliance_officer"]
    officer.email = "dpo@example.org"
    officer.save(update_fields=["email"])
    return fill_chain(world.practice_a, 5)


def _event(chain: AuditChain, seq: int) -> AuditEvent:
    return AuditEvent.objects.get(chain=chain, seq=seq)


def test_audit_verify_prints_each_chain_ok_on_a_clean_log(chain):
    output, status = audit_verify()
    assert status == 0
    assert f"{chain.key}  {chain.last_seq} événements  0 empreintes  OK" in output
    assert "platform" in output
    assert Alert.objects.count() == 0


def test_audit_verify_for_one_practice_checks_only_its_chain(chain, world):
    output, status = audit_verify("--practice", world.practice_a.slug)
    assert status == 0
    assert chain.key in output
    assert f"practice:{world.practice_b.pk}" not in output
    assert "platform" not in output


def test_audit_verify_refuses_an_unknown_practice(chain):
    with pytest.raises(CommandError, match="Cabinet inconnu"):
        call_command("audit_verify", "--practice", "nope")


def test_audit_verify_reports_the_first_broken_link_and_exits_non_zero(chain, mailoutbox):
    target = _event(chain, 4)
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET actor_username = 'x' WHERE id = %s", [target.pk])

    with committed(execute=True):
        output, status = audit_verify()

    assert status == 1
    line = next(line for line in output.splitlines() if line.startswith(chain.key))
    assert f"événement={target.pk} seq=4" in line
    assert "anomalie=hash" in line
    assert f"trouvé={target.hash}" in line
    alert = Alert.objects.get()
    found = (alert.kind, alert.detail["chain_id"], alert.detail["event_id"], alert.detail["seq"])
    assert found == (
        "chain_broken",
        chain.pk,
        target.pk,
        4,
    )
    assert alert.practice == chain.practice
    assert alert.notified_at is not None
    assert [m.to for m in mailoutbox] == [["dpo@example.org"]]
    assert str(target.pk) in mailoutbox[0].body


def test_audit_verify_raises_one_alert_and_one_mail_per_break(chain, mailoutbox):
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE id = %s", [_event(chain, 3).pk])
    with committed(execute=True):
        audit_verify()
        audit_verify()
        verify_audit_chains.apply()
    assert Alert.objects.count() == 1
    assert len(mailoutbox) == 1


def test_write_audit_digests_signs_every_head_once(chain):
    write_audit_digests.apply()
    write_audit_digests.apply()

    digests = AuditDigest.objects.filter(chain=chain)
    assert digests.count() == 1
    digest = digests.get()
    assert (digest.seq, digest.hash) == (chain.last_seq, chain.last_hash)
    expected = hmac_hex(f"{chain.key}:{chain.last_seq}:{chain.last_hash}")
    assert digest.signature == expected
    practices = AuditChain.objects.exclude(last_seq=0).exclude(key="platform")
    assert AuditDigest.objects.filter(chain__in=practices).count() == practices.count()
    # The platform chain moved once in between: the first run's export event.
    assert AuditDigest.objects.filter(chain__key="platform").count() == 2


def hmac_hex(message: str) -> str:
    import hmac

    return hmac.new(
        settings.AUDIT_SIGNING_KEY.encode(), message.encode(), hashlib.sha256
    ).hexdigest()


def test_write_audit_digests_signs_the_new_head_after_new_events(chain, world):
    write_audit_digests.apply()
    chain = fill_chain(world.practice_a, 2)
    write_audit_digests.apply()
    assert list(AuditDigest.objects.filter(chain=chain).values_list("seq", flat=True)) == [
        chain.last_seq - 2,
        chain.last_seq,
    ]
    output, status = audit_verify()
    assert status == 0
    assert f"{chain.key}  {chain.last_seq} événements  2 empreintes  OK" in output


def _truncate_newest(chain: AuditChain, keep: int) -> None:
    """Drop the newest events and reset the head to match: the chain itself then
    verifies; only the signed digest can tell."""
    kept = _event(chain, keep)
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE chain_id = %s AND seq > %s", [chain.pk, keep])
    head_reset(chain, keep, kept.hash)


def test_digest_detects_a_truncation_of_the_newest_events(chain, mailoutbox):
    write_audit_digests.apply()
    signed_seq = chain.last_seq
    _truncate_newest(chain, signed_seq - 2)

    report = next(r for r in verify_all() if r.chain_id == chain.pk)

    assert report.count == signed_seq - 2  # the chain alone looks fine
    assert report.broken.problem == "digest_beyond_head"
    assert report.broken.seq == signed_seq
    with committed(execute=True):
        result = verify_audit_chains.apply().get()
    assert (result["broken"], result["export_broken"]) == (1, 1)
    # Seen twice: by the digest in the database and by the exported one.
    alerts = Alert.objects.order_by("detail__problem")
    assert [a.detail["problem"] for a in alerts] == ["digest_beyond_head", "export_beyond_head"]
    assert {a.kind for a in alerts} == {"digest_mismatch"}
    assert len(mailoutbox) == 2


def test_digest_detects_a_rewritten_and_rechained_newest_event(chain):
    write_audit_digests.apply()
    last = _event(chain, chain.last_seq)
    # The attacker rewrites the last event and recomputes its link and the head.
    content = {name: getattr(last, name) for name in CONTENT_FIELDS}
    content["object_id"] = "999999"
    new_hash = link_hash(last.prev_hash, last.seq, payload_digest(content))
    with triggers_disabled():
        raw(
            "UPDATE audit_auditevent SET object_id = '999999', hash = %s WHERE id = %s",
            [new_hash, last.pk],
        )
    head_reset(chain, last.seq, new_hash)

    report = next(r for r in verify_all() if r.chain_id == chain.pk)

    assert report.broken.problem == "digest_hash"
    assert (report.broken.event_id, report.broken.seq) == (last.pk, last.seq)
    assert (report.broken.expected, report.broken.found) == (last.hash, new_hash)


def test_a_forged_digest_is_detected(chain):
    AuditDigest.objects.create(
        chain=chain, seq=chain.last_seq, hash=chain.last_hash, signature="0" * 64
    )
    report = next(r for r in verify_all() if r.chain_id == chain.pk)
    assert report.broken.problem == "digest_signature"
    valid = digest_signature(chain.key, chain.last_seq, chain.last_hash)
    assert valid not in (report.broken.expected, report.broken.found)


def test_digest_is_not_written_over_a_tampered_segment(chain, mailoutbox):
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET role = 'x' WHERE id = %s", [_event(chain, 2).pk])
    digest, finding = digests.digest_write(chain=chain)
    assert (digest, finding.chain) == (None, chain)
    assert not Alert.objects.exists()  # audit reports; compliance alerts
    write_audit_digests.apply().get()
    assert not AuditDigest.objects.filter(chain=chain).exists()
    assert Alert.objects.get().detail["chain_id"] == chain.pk


def test_digest_signature_depends_on_the_key(settings):
    first = digest_signature("practice:1", 3, "a" * 64)
    settings.AUDIT_SIGNING_KEY = "another-key-of-at-least-thirty-two-chars"
    assert digest_signature("practice:1", 3, "a" * 64) != first


def test_the_daily_tasks_are_scheduled_and_acks_late():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "compliance.tasks.verify_audit_chains",
        "compliance.tasks.write_audit_digests",
    } <= scheduled
    assert verify_audit_chains.acks_late and write_audit_digests.acks_late


def test_verify_audit_chains_reports_counts_only(chain):
    result = verify_audit_chains.apply().get()
    assert result == {"chains": AuditChain.objects.count(), "broken": 0, "export_broken": 0}


def test_the_daily_tasks_are_registered_with_the_celery_app():
    from secretariat.celery import app

    app.loader.import_default_modules()
    assert {"compliance.tasks.verify_audit_chains", "compliance.tasks.write_audit_digests"} <= set(
        app.tasks
    )


@pytest.mark.parametrize("value", ["", "too-short"])
def test_settings_refuse_a_missing_or_short_signing_key(value):
    import subprocess
    import sys

    env = {**__import__("os").environ, "AUDIT_SIGNING_KEY": value}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "secretariat.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "AUDIT_SIGNING_KEY" in result.stderr


def test_digest_is_not_written_after_a_forged_digest(chain):
    AuditDigest.objects.create(chain=chain, seq=2, hash=_event(chain, 2).hash, signature="f" * 64)
    assert digests.digest_write(chain=chain)[0] is None
    write_audit_digests.apply().get()
    assert Alert.objects.get().detail["problem"] == "digest_signature"


@pytest.mark.django_db(transaction=True)
def test_verification_outside_a_transaction_uses_one_snapshot(mailoutbox):
    from tests.factories import PracticeFactory

    chain = fill_chain(PracticeFactory(), 3)
    output, status = audit_verify("--practice", chain.practice.slug)
    assert status == 0
    assert f"{chain.key}  4 événements  0 empreintes  OK" in output
    write_audit_digests.apply()
    assert AuditDigest.objects.filter(chain=chain, seq=4).exists()
    assert verify_audit_chains.apply().get()["broken"] == 0
