"""Concurrent appends to one chain, on real PostgreSQL connections."""

import threading

import pytest
from django.db import connection

from audit.chain import verify_chain
from audit.models import AuditChain, AuditEvent
from audit.services import record_event
from tests.factories import PracticeFactory, as_actor

WORKERS = 4
EVENTS_EACH = 25


def _append_many(practice_id: int, worker: int, barrier: threading.Barrier, errors: list) -> None:
    try:
        barrier.wait()
        for number in range(EVENTS_EACH):
            record_event(
                actor=as_actor(),
                action="view",
                practice=practice_id,
                object_type="patient",
                object_id=worker * 1000 + number,
            )
    except Exception as error:  # reported to the test thread
        errors.append(error)
    finally:
        connection.close()


def _run_workers(target, *args) -> list:
    barrier = threading.Barrier(WORKERS)
    errors: list = []
    threads = [
        threading.Thread(target=target, args=(*args, worker, barrier, errors))
        for worker in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain_valid_without_gaps():
    practice = PracticeFactory()
    before = AuditChain.objects.get(key=f"practice:{practice.pk}").last_seq

    errors = _run_workers(_append_many, practice.pk)

    assert errors == []
    chain = AuditChain.objects.get(key=f"practice:{practice.pk}")
    total = before + WORKERS * EVENTS_EACH
    assert chain.last_seq == total
    seqs = list(
        AuditEvent.objects.filter(chain=chain).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, total + 1))
    assert verify_chain(chain) == (total, None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_appends_create_the_chain_once():
    # No event yet for this practice id: the workers race to create its chain.
    errors = _run_workers(_append_many, 987654)

    assert errors == []
    chains = AuditChain.objects.filter(key="practice:987654")
    assert chains.count() == 1
    assert verify_chain(chains.get()) == (WORKERS * EVENTS_EACH, None)


@pytest.mark.django_db(transaction=True)
def test_verification_during_concurrent_appends_finds_no_false_break():
    from audit.verification import verify_all

    practice = PracticeFactory()
    barrier = threading.Barrier(WORKERS)
    errors: list = []
    threads = [
        threading.Thread(target=_append_many, args=(practice.pk, worker, barrier, errors))
        for worker in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    runs = []
    while any(thread.is_alive() for thread in threads):
        runs.append(verify_all(practice.pk))
    for thread in threads:
        thread.join()
    runs.append(verify_all(practice.pk))

    assert errors == []
    assert [report.broken for run in runs for report in run] == [None] * len(runs)
    assert runs[-1][0].count == 1 + WORKERS * EVENTS_EACH
