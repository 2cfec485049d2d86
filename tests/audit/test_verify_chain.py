"""verify_chain recomputes a chain and names the first broken link."""

import pytest

from accounts.dbroles import OWNER
from audit.chain import verify_chain
from audit.models import AuditChain, AuditEvent
from tests.audit.helpers import fill_chain, head_reset, raw, triggers_disabled
from tests.dbroles import as_role
from tests.factories import PracticeFactory


@pytest.fixture
def chain(db) -> AuditChain:
    # Six events: the practice's creation, then five reads.
    chain = fill_chain(PracticeFactory(), 5)
    assert chain.last_seq == 6
    return chain


def _event(chain: AuditChain, seq: int) -> AuditEvent:
    return AuditEvent.objects.get(chain=chain, seq=seq)


def test_verify_chain_passes_on_a_clean_log(chain):
    assert verify_chain(chain) == (6, None)


def test_verify_chain_passes_on_an_empty_chain(db):
    empty = AuditChain.objects.create(key="practice:999", practice_id=999)
    assert verify_chain(empty) == (0, None)


def test_verify_chain_pinpoints_a_modified_event(chain):
    target = _event(chain, 3)
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET object_id = '4242' WHERE id = %s", [target.pk])
    count, broken = verify_chain(chain)
    assert count == 2
    assert (broken.event_id, broken.seq, broken.problem) == (target.pk, 3, "hash")
    assert broken.found == target.hash
    assert broken.expected != target.hash


def test_verify_chain_pinpoints_a_modified_detail(chain):
    target = _event(chain, 2)
    with triggers_disabled():
        raw("""UPDATE audit_auditevent SET detail = '{"count": 1}' WHERE id = %s""", [target.pk])
    _count, broken = verify_chain(chain)
    assert (broken.event_id, broken.problem) == (target.pk, "hash")


def test_verify_chain_pinpoints_a_deleted_event(chain):
    deleted, following = _event(chain, 3), _event(chain, 4)
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE id = %s", [deleted.pk])
    count, broken = verify_chain(chain)
    assert count == 2
    assert (broken.event_id, broken.seq, broken.problem) == (following.pk, 4, "sequence")
    assert (broken.expected, broken.found) == ("3", "4")


def test_verify_chain_pinpoints_a_deleted_event_even_with_seq_renumbered(chain):
    # A careful attacker closes the gap; the next event's prev_hash still names
    # the deleted one.
    deleted, following = _event(chain, 3), _event(chain, 4)
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE id = %s", [deleted.pk])
        raw("UPDATE audit_auditevent SET seq = seq - 1 WHERE chain_id = %s AND seq > 3", [chain.pk])
    _count, broken = verify_chain(chain)
    assert (broken.event_id, broken.seq, broken.problem) == (following.pk, 3, "prev_hash")
    assert broken.found == deleted.hash


def test_verify_chain_pinpoints_reordered_events(chain):
    second, third = _event(chain, 2), _event(chain, 3)
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET seq = -1 WHERE id = %s", [second.pk])
        raw("UPDATE audit_auditevent SET seq = 2 WHERE id = %s", [third.pk])
        raw("UPDATE audit_auditevent SET seq = 3 WHERE id = %s", [second.pk])
    _count, broken = verify_chain(chain)
    assert (broken.event_id, broken.seq, broken.problem) == (third.pk, 2, "prev_hash")
    assert (broken.expected, broken.found) == (_event(chain, 3).prev_hash, second.hash)


def test_verify_chain_detects_dropped_newest_events_against_the_head(chain):
    last = _event(chain, 6)
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])
    count, broken = verify_chain(chain)
    assert count == 5
    assert (broken.problem, broken.expected, broken.found) == (
        "head",
        f"6:{chain.last_hash}",
        f"5:{_event(chain, 5).hash}",
    )


def test_verify_chain_accepts_the_triggers_back_on_after_tampering(chain):
    with triggers_disabled():
        pass
    with pytest.raises(Exception, match="append-only"), as_role(OWNER):
        raw("DELETE FROM audit_auditevent")


def test_verify_chain_detects_events_beyond_a_head_reset_to_genesis(chain):
    head_reset(chain, 0, "0" * 64)
    chain.refresh_from_db()
    _count, broken = verify_chain(chain)
    assert broken.problem == "head"
