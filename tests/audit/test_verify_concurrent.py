"""verify_all and audit_verify outside a transaction: chains verified by worker
threads, each on its own connection and snapshot, on real PostgreSQL connections."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.backends.signals import connection_created

from audit.models import AuditChain, AuditEvent
from audit.verification import verify_all
from tests.audit.helpers import audit_verify, fill_chain, raw, triggers_disabled
from tests.factories import PracticeFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads only on PostgreSQL"
)


@pytest.fixture
def opened_by_thread():
    """Names of the threads that opened a database connection during the test."""
    names: list[str] = []

    def record(sender, **kwargs):
        names.append(threading.current_thread().name)

    connection_created.connect(record, weak=False)
    yield names
    connection_created.disconnect(record)


@pytest.mark.django_db(transaction=True)
def test_verify_all_checks_chains_concurrently_and_pinpoints_the_broken_one(
    settings, opened_by_thread
):
    settings.AUDIT_VERIFY_WORKERS = 3
    chains = [fill_chain(PracticeFactory(), 4) for _ in range(5)]
    broken_chain = chains[2]
    target = AuditEvent.objects.get(chain=broken_chain, seq=3)
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET object_id = '4242' WHERE id = %s", [target.pk])

    reports = verify_all()

    assert not connection.in_atomic_block
    assert [r.chain_id for r in reports] == list(
        AuditChain.objects.order_by("id").values_list("id", flat=True)
    )
    assert {name for name in opened_by_thread if name.startswith("audit-verify")}
    failed = [r for r in reports if not r.ok]
    assert [r.chain_id for r in failed] == [broken_chain.pk]
    broken = failed[0].broken
    assert (broken.event_id, broken.seq, broken.problem) == (target.pk, 3, "hash")
    assert failed[0].count == 2
    others = {r.chain_id: r.count for r in reports if r.ok and r.chain_id != broken_chain.pk}
    assert all(others[c.pk] == c.last_seq for c in chains if c != broken_chain)


@pytest.mark.django_db(transaction=True)
def test_verify_all_of_one_practice_stays_in_the_callers_thread(settings, opened_by_thread):
    settings.AUDIT_VERIFY_WORKERS = 3
    practice = PracticeFactory()
    chain = fill_chain(practice, 3)

    reports = verify_all(practice.pk)

    assert [(r.chain_id, r.count, r.ok) for r in reports] == [(chain.pk, chain.last_seq, True)]
    assert not [name for name in opened_by_thread if name.startswith("audit-verify")]


def _tamper_three(chains: list[AuditChain]) -> dict[int, tuple[int, int, int, str]]:
    """Chain 2 of 5: an event rewritten; chain 3: an event deleted; chain 4: two
    events swapped. The break each must show: chain id -> (events verified before
    it, event id, seq, problem)."""
    rewritten = AuditEvent.objects.get(chain=chains[1], seq=3)
    deleted = AuditEvent.objects.get(chain=chains[2], seq=2)
    after_deleted = AuditEvent.objects.get(chain=chains[2], seq=3)
    second, third = (AuditEvent.objects.get(chain=chains[3], seq=seq) for seq in (2, 3))
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET object_id = '4242' WHERE id = %s", [rewritten.pk])
        raw("DELETE FROM audit_auditevent WHERE id = %s", [deleted.pk])
        raw("UPDATE audit_auditevent SET seq = -1 WHERE id = %s", [second.pk])
        raw("UPDATE audit_auditevent SET seq = 2 WHERE id = %s", [third.pk])
        raw("UPDATE audit_auditevent SET seq = 3 WHERE id = %s", [second.pk])
    return {
        chains[1].pk: (2, rewritten.pk, 3, "hash"),
        chains[2].pk: (1, after_deleted.pk, 3, "sequence"),
        chains[3].pk: (1, third.pk, 2, "prev_hash"),
    }


@pytest.mark.django_db(transaction=True)
def test_audit_verify_in_parallel_pinpoints_a_rewritten_deleted_and_reordered_event(
    opened_by_thread,
):
    chains = [fill_chain(PracticeFactory(), 5) for _ in range(5)]
    expected = _tamper_three(chains)

    output, status = audit_verify("--no-alert", "--jobs", "3")

    assert status == 1
    assert {name for name in opened_by_thread if name.startswith("audit-verify")}
    lines = {line.split()[0]: line for line in output.splitlines() if line.startswith("practice:")}
    for chain in chains:
        if chain.pk not in expected:
            assert lines[chain.key].endswith(f"{chain.last_seq} événements  0 empreintes  OK")
            continue
        count, event_id, seq, problem = expected[chain.pk]
        assert f"ROMPUE après {count} événements" in lines[chain.key]
        assert f"anomalie={problem} événement={event_id} seq={seq} " in lines[chain.key]
    assert sum("ROMPUE" in line for line in output.splitlines()) == 3


@pytest.mark.django_db(transaction=True)
def test_audit_verify_prints_the_same_with_one_job_and_with_several():
    chains = [fill_chain(PracticeFactory(), 4) for _ in range(5)]
    clean = [audit_verify("--no-alert", "--jobs", jobs) for jobs in ("1", "4")]
    _tamper_three(chains)
    broken = [audit_verify("--no-alert", "--jobs", jobs) for jobs in ("1", "4")]

    assert clean[0] == clean[1]
    assert clean[0][1] == 0
    assert broken[0] == broken[1]
    assert broken[0][1] == 1
    # Chains in id order, whatever the order in which the workers finished.
    keys = [line.split()[0] for line in broken[1][0].splitlines() if "  " in line]
    assert keys == list(AuditChain.objects.order_by("id").values_list("key", flat=True))


def test_audit_verify_refuses_zero_jobs(db):
    with pytest.raises(CommandError, match="--jobs"):
        call_command("audit_verify", "--jobs", "0")
