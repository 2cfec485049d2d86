"""The phone events between the webhook and the database (console/intake.py):
accepted into a Redis stream, sealed, recorded in batches once the answer is
sent; each guarantee of docs/decisions.md, "The webhook: accepted, then
recorded in batches"."""

import io
import threading
from collections import Counter

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Practice
from accounts.scoping import practice_scope
from audit.chain import verify_chain
from audit.context import Actor
from audit.models import AuditChain, AuditEvent
from console import cti, intake, services, tasks
from console.models import Call
from secretariat import crypto
from tests.appointments.helpers import booking_world
from tests.console.helpers import SECRET, phone_line, post_event

CALLER = "06 12 34 56 78"  # booking_world's patient


@pytest.fixture(autouse=True)
def _cti(settings):
    settings.CTI_WEBHOOK_SECRET = SECRET
    settings.CTI_RATE = "100000/s"
    caches[settings.RATELIMIT_CACHE].clear()


@pytest.fixture
def line(world):
    booking_world(world)
    return phone_line(world.practice_a)


def _event(call_id: str = "c-1", **overrides) -> dict:
    return {
        "event": "ringing",
        "call_id": call_id,
        "caller": CALLER,
        "called": "01 40 00 00 01",
        "agent": "tele_a",
    } | overrides


def _item(line, call_id: str = "c-1", **overrides) -> services.PhoneEvent:
    return services.PhoneEvent(
        line=line,
        event=cti.CallEvent(**_event(call_id, **overrides)),
        at=timezone.now(),
        actor=Actor.system("cti", practice=line.practice),
    )


def _states() -> dict[str, str]:
    return dict(Call.objects.values_list("call_id", "state"))


def _refusals(reason: str) -> int:
    return AuditEvent.objects.filter(action="permission_denied", detail__reason=reason).count()


def test_an_accepted_event_waits_in_redis_sealed_without_the_number(line, _clean_redis):
    assert intake.accept(_item(line, caller="+33612345678"))
    [(_id, fields)] = _clean_redis.xrange(intake._key("events"))
    stored = repr(fields)
    assert "612345678" not in stored and "12 34 56 78" not in stored
    assert "c-1" not in stored and "tele_a" not in stored
    assert Call.objects.count() == 0
    assert intake.drain() == 1
    assert _states() == {"c-1": "ringing"}
    assert _clean_redis.xlen(intake._key("events")) == 0


def test_the_call_is_recorded_once_the_answer_is_sent(line, _clean_redis):
    response = post_event(Client(), _event())
    assert response.status_code == 202
    # The test client closes the response before returning it, as a WSGI server
    # does once the answer is sent: the drain has run.
    assert _states() == {"c-1": "ringing"}
    assert intake.pending() == 0


def test_events_left_by_a_crashed_drain_are_recorded_by_the_next_one(line):
    for number in range(3):
        assert intake.accept(_item(line, f"left-{number}"))
    assert post_event(Client(), _event("new")).status_code == 202
    assert _states() == {name: "ringing" for name in ("left-0", "left-1", "left-2", "new")}


def test_the_beat_task_records_what_no_request_drained(line):
    for number in range(intake.BATCH + 5):
        assert intake.accept(_item(line, f"late-{number}"))
    assert tasks.drain_phone_events() == intake.BATCH + 5
    assert Call.objects.count() == intake.BATCH + 5
    assert intake.pending() == 0


def test_a_lock_held_by_another_drainer_leaves_the_events_to_it(line, _clean_redis):
    _clean_redis.set(intake._key("drain"), "someone-else", px=60_000)
    assert post_event(Client(), _event()).status_code == 202
    assert Call.objects.count() == 0
    assert intake.pending() == 1
    # The drainer died: its lock runs out, and the next drain records the event.
    _clean_redis.delete(intake._key("drain"))
    assert tasks.drain_phone_events() == 1
    assert _states() == {"c-1": "ringing"}


def test_a_batch_records_what_the_events_one_by_one_would(world, line):
    agent = world.users["telesecretary_a"]
    events = [
        _item(line, "c-1", agent=""),
        _item(line, "c-2"),
        _item(line, "c-1", event="answered", agent="tele_a"),
        _item(line, "c-1", event="ringing"),
        _item(line, "c-1", event="ended", agent="tele_ab"),
        _item(line, "c-2", event="ringing"),
    ]
    with practice_scope(world.practice_a):
        results = services.call_events_record(practice=world.practice_a, items=events)
    assert [changed for _call, changed in results] == [True, True, True, False, True, False]
    calls = {call.call_id: call for call in Call.objects.all()}
    assert calls["c-1"].state == "ended" and calls["c-1"].agent == agent
    assert calls["c-1"].started_at <= calls["c-1"].answered_at <= calls["c-1"].ended_at
    assert calls["c-2"].state == "ringing" and calls["c-2"].agent == agent
    trail = AuditEvent.objects.filter(object_type="call").order_by("seq")
    assert [(event.action, event.detail["event"], event.detail["changed"]) for event in trail] == [
        ("create", "ringing", True),
        ("create", "ringing", True),
        ("update", "answered", True),
        ("update", "ringing", False),
        ("update", "ended", True),
        ("update", "ringing", False),
    ]


def test_a_batch_costs_a_few_statements_and_one_audit_append_an_event(world, line):
    with practice_scope(world.practice_a):
        services.call_events_record(
            practice=world.practice_a, items=[_item(line, f"old-{n}") for n in range(5)]
        )
    items = [_item(line, f"old-{n}", event="answered") for n in range(5)]
    items += [_item(line, f"new-{n}") for n in range(15)]
    with CaptureQueriesContext(connection) as queries, practice_scope(world.practice_a):
        services.call_events_record(practice=world.practice_a, items=items)
    kinds = Counter(query["sql"].split()[0].upper() for query in queries.captured_queries)
    # The audit appends (one statement each); the practice setting and its
    # restoring, the calls locked, the agent, one INSERT, one UPDATE.
    assert kinds.pop("WITH") == len(items)
    assert kinds == {"SELECT": 4, "INSERT": 1, "UPDATE": 1}


def test_an_event_on_a_line_removed_since_it_was_accepted_is_refused(world, line):
    assert post_event(Client(), _event("first")).status_code == 202
    services.phone_line_remove(
        practice=world.practice_a, number=line.number, actor=Actor.system("test")
    )
    # The webhook still knows the line (kept LINE_KEPT_SECONDS): accepted, then
    # refused when recorded, audited like a refusal at the door.
    assert post_event(Client(), _event("second")).status_code == 202
    assert _states() == {"first": "ringing"}
    assert _refusals("unknown_line") == 1


def test_an_event_of_a_practice_closed_since_it_was_accepted_is_refused(world, line):
    assert intake.accept(_item(line, "late"))
    Practice.objects.filter(pk=world.practice_a.pk).update(status=Practice.Status.CLOSED)
    assert intake.drain() == 0
    assert Call.objects.count() == 0
    assert _refusals("unknown_line") == 1
    assert intake.pending() == 0


def test_an_entry_that_cannot_be_opened_is_kept_aside(line, _clean_redis):
    _clean_redis.xadd(intake._key("events"), {"e": b"not sealed by us"})
    assert intake.accept(_item(line))
    assert intake.drain() == 1
    assert _states() == {"c-1": "ringing"}
    [(_id, fields)] = _clean_redis.xrange(intake._key("failed"))
    assert fields[b"reason"] == b"unreadable"
    assert intake.pending() == 0


def test_without_redis_the_event_is_recorded_before_the_answer(line, settings, _clean_redis):
    settings.CONSOLE_POLL_REDIS_URL = ""
    response = post_event(Client(), _event())
    assert response.status_code == 202
    assert _states() == {"c-1": "ringing"}


def test_with_redis_down_the_event_is_recorded_before_the_answer(line, settings):
    settings.CONSOLE_POLL_REDIS_URL = "redis://127.0.0.1:1/0"
    response = post_event(Client(), _event())
    assert response.status_code == 202
    assert _states() == {"c-1": "ringing"}


def test_without_redis_a_line_removed_is_refused_at_once(world, line, settings):
    assert post_event(Client(), _event("first")).status_code == 202
    services.phone_line_remove(
        practice=world.practice_a, number=line.number, actor=Actor.system("test")
    )
    settings.CONSOLE_POLL_REDIS_URL = ""
    assert post_event(Client(), _event("second")).status_code == 404
    assert _states() == {"first": "ringing"}


def test_the_webhook_touches_no_session(world, line):
    client = Client()
    client.force_login(world.users["telesecretary_a"])
    response = post_event(client, _event())
    assert response.status_code == 202
    assert "sessionid" not in response.cookies and "Cookie" not in response.get("Vary", "")
    assert response["X-Request-ID"]
    assert Client().get("/cti/evenements/").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_an_event_that_cannot_be_recorded_is_kept_aside_and_the_others_recorded(world, line):
    # Longer than the column: PostgreSQL refuses it, inside the batch and alone.
    assert intake.accept(_item(line, "x" * 150))
    for number in range(3):
        assert intake.accept(_item(line, f"fine-{number}"))
    assert intake.drain() == 3
    assert _states() == {"fine-0": "ringing", "fine-1": "ringing", "fine-2": "ringing"}
    assert intake.pending() == 0
    [(_id, fields)] = intake.ring.redis_client().xrange(intake._key("failed"))
    assert fields[b"reason"] == b"DataError"


@pytest.mark.django_db(transaction=True)
def test_events_posted_at_once_are_each_recorded_once(world, line):
    """Eight phone system connections at once, each call's three events spread
    over them: each call recorded once, ended, and one audit event a post, the
    practice's chain intact."""
    posts = [
        _event(f"call-{number}", event=kind)
        for kind in ("ringing", "answered", "ended")
        for number in range(12)
    ]
    answers, lock = [], threading.Lock()

    def post(share: list[dict]) -> None:
        try:
            client = Client()
            for event in share:
                status = post_event(client, event).status_code
                with lock:
                    answers.append(status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(posts[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tasks.drain_phone_events()
    assert answers == [202] * len(posts)
    assert _states() == {f"call-{number}": "ended" for number in range(12)}
    assert AuditEvent.objects.filter(object_type="call").count() == len(posts)
    chain = AuditChain.objects.get(practice=world.practice_a)
    checked, broken = verify_chain(chain)
    assert broken is None and checked == chain.last_seq


def _command(*args) -> str:
    out = io.StringIO()
    call_command("cti_events", *args, stdout=out)
    return out.getvalue()


def test_the_command_counts_and_retries_the_events_kept_aside(line, _clean_redis):
    # Kept aside while the database was refusing them; readable, and fine now.
    for number in range(2):
        intake._keep_failed(
            _clean_redis, {b"e": intake._seal(intake._payload(_item(line, f"back-{number}")))}, "X"
        )
    _clean_redis.xadd(intake._key("failed"), {"e": b"not sealed by us", "reason": "unreadable"})
    assert intake.accept(_item(line, "waiting"))
    assert _command() == "En attente : 1\nMis de côté : 3\n  X : 2\n  unreadable : 1\n"
    assert _command("--retry-failed") == (
        "Remis dans la file : 3\nEn attente : 0\nMis de côté : 1\n  unreadable : 1\n"
    )
    assert _states() == {"waiting": "ringing", "back-0": "ringing", "back-1": "ringing"}
    retried = AuditEvent.objects.get(practice=None, action="update", object_type="call")
    assert retried.detail == {"count": 3}


def test_the_command_drains_what_waits(line):
    for number in range(3):
        assert intake.accept(_item(line, f"w-{number}"))
    assert _command("--drain") == "Enregistrés : 3\nEn attente : 0\nMis de côté : 0\n"
    assert len(_states()) == 3


def test_events_waiting_across_a_keyring_rotation_are_recorded(line, settings):
    assert intake.accept(_item(line, "before"))
    old_value = settings.SECRETARIAT_KEYRING
    settings.SECRETARIAT_KEYRING = f"{old_value},{crypto.new_keyring_value(version=2)}"
    settings.SECRETARIAT_KEYRING_CURRENT = 2
    crypto.keyring.cache_clear()
    try:
        assert intake.accept(_item(line, "after"))
        assert intake.drain() == 2
        assert _states() == {"before": "ringing", "after": "ringing"}
        # The old key withdrawn with an event still sealed under it: kept aside, not lost.
        assert intake.accept(_item(line, "late"))
        settings.SECRETARIAT_KEYRING = settings.SECRETARIAT_KEYRING.split(",")[0]
        settings.SECRETARIAT_KEYRING_CURRENT = 1
        crypto.keyring.cache_clear()
        assert intake.drain() == 0
        assert intake.failed_counts() == {"unreadable": 1}
    finally:
        settings.SECRETARIAT_KEYRING = old_value
        crypto.keyring.cache_clear()


def test_a_full_stream_takes_no_more_and_the_event_is_recorded_at_once(line, settings):
    settings.CTI_PENDING_MAX = 2
    for number in range(2):
        assert intake.accept(_item(line, f"waiting-{number}"))
    assert not intake.accept(_item(line, "third"))
    assert intake.pending() == 2
    # Through the webhook: recorded before the answer, then the stream drained.
    assert post_event(Client(), _event("fourth")).status_code == 202
    assert _states() == {"fourth": "ringing"}
    assert intake.drain() == 2
    assert len(_states()) == 3
