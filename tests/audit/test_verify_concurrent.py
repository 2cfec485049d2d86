"""verify_all outside a transaction: chains verified by worker threads, each on
its own connection and snapshot, on real PostgreSQL connections."""

import threading

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from audit.models import AuditChain, AuditEvent
from audit.verification import verify_all
from tests.audit.helpers import fill_chain, raw, triggers_disabled
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
