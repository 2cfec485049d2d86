"""The phone system's events between the webhook and the database
(docs/decisions.md, "The webhook: accepted, then recorded in batches").

The webhook checks an event (signature, window, replay, line), then appends it
to a Redis stream, `console:<database name>:cti:events`, sealed: Redis never
holds a caller's number in clear. Whoever then takes the drain lock records
every pending event, a batch of up to BATCH at a time, one transaction per
practice of the batch (console.services.call_events_record), and deletes the
entries it recorded. The request that appended an event drains once its answer
is sent (console.webhook.AcceptedResponse), until the stream is empty; while
another process holds the lock, that one records it. The beat task
`console.tasks.drain_phone_events` drains whatever a crash left behind.

An entry recorded twice (a drainer that crashed after its commit, before its
delete) changes nothing the second time: the events are idempotent on the call
id. An entry no batch can record (its line or practice gone, a defect) is moved
to `...:cti:failed` (kept, sealed, for an operator), never retried forever at
the head of the stream.
"""

import dataclasses
import json
import logging
from collections import Counter, defaultdict
from datetime import UTC, datetime
from functools import cache

import redis
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import LockError
from redis.lock import Lock

from accounts.models import Practice
from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action, Outcome
from audit.services import record_event
from console import ring, services
from console.cti import CallEvent
from console.models import PhoneLine
from secretariat import crypto

logger = logging.getLogger(__name__)

BATCH = 200
# The lock outlives any batch by far; a drainer that died frees it at the latest then.
LOCK_SECONDS = 60
# Entries no batch could record, kept for an operator (the oldest dropped first).
FAILED_KEPT = 10_000
_BINDING = ("console_intake",)


def _key(name: str) -> str:
    return f"{ring.key_prefix()}cti:{name}"


def _stream_key(version: int) -> bytes:
    """The stream's own key, derived from the keyring's: a leaked stream entry
    opens with nothing stored in Redis or in the database."""
    return _derived(crypto.keyring().key(version))


@cache
def _derived(keyring_key: bytes) -> bytes:
    # By the key itself, not its version: a version names another key in
    # another keyring (an installation, a test).
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"console:cti-intake").derive(
        keyring_key
    )


def _seal(payload: dict) -> bytes:
    version = crypto.keyring().current
    plaintext = json.dumps(payload, separators=(",", ":")).encode()
    return crypto.seal(_stream_key(version), version, plaintext, _BINDING)


def _open(blob: bytes) -> dict:
    version = crypto.sealed_key_id(blob)
    return json.loads(crypto.open_sealed(_stream_key(version), blob, _BINDING))


def _payload(item: services.PhoneEvent) -> dict:
    event = item.event
    return {
        "line": item.line.pk,
        "event": [event.event, event.call_id, event.caller, event.called, event.agent],
        "at": item.at.timestamp(),
        "ip": item.actor.ip,
        "request_id": item.actor.request_id,
    }


# XADD unless the stream already holds `max` entries: one round trip, and no
# event dropped to make room (a MAXLEN would drop the oldest).
_ADD_UNLESS_FULL = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('XADD', KEYS[1], '*', 'e', ARGV[2])
return 1
"""


def accept(item: services.PhoneEvent) -> bool:
    """Append the checked event to the stream; False when Redis is not there, or
    the stream already holds CTI_PENDING_MAX events (recording stalled: the
    caller then records it at once, and Redis does not fill up)."""
    client = ring.redis_client()
    if client is None:
        return False
    try:
        # EVALSHA, the script sent once per connection pool and cached by Redis.
        add_unless_full = client.register_script(_ADD_UNLESS_FULL)
        added = add_unless_full(
            keys=[_key("events")], args=[settings.CTI_PENDING_MAX, _seal(_payload(item))]
        )
    except redis.RedisError as error:
        ring.redis_failed(error)
        return False
    if not added:
        logger.warning("phone events stream full: recorded before the answer")
    return bool(added)


def drain(*, batches: int | None = None) -> int:
    """Record pending events, a batch at a time, while this process can take
    the lock for it; at most `batches` batches (None: until none is left).
    Returns how many it recorded."""
    client = ring.redis_client()
    if client is None:
        return 0
    recorded = ran = 0
    try:
        while batches is None or ran < batches:
            # The lock is held for one batch: a drainer that runs long never
            # outlives it, and a drainer that died frees it after LOCK_SECONDS.
            lock = client.lock(_key("drain"), timeout=LOCK_SECONDS, blocking=False)
            if not lock.acquire():
                break
            try:
                entries = client.xrange(_key("events"), count=BATCH)
                if entries:
                    recorded += _record(client, entries)
                    client.xdel(_key("events"), *[entry_id for entry_id, _fields in entries])
            except (OperationalError, InterfaceError) as error:
                # The database is away: everything stays in the stream for later.
                logger.warning("phone events kept for later: %s", type(error).__name__)
                break
            finally:
                _release(lock)
            ran += 1
            # Looked at after the release: an event appended by a request that
            # found the lock taken just before it is not left waiting.
            if not entries and not client.xlen(_key("events")):
                break
    except redis.RedisError as error:
        ring.redis_failed(error)
    return recorded


def _release(lock: Lock) -> None:
    try:
        lock.release()
    except LockError:
        # Held past LOCK_SECONDS and taken by another drainer since: theirs now.
        logger.warning("phone events drain lock expired while held")


def _record(client: redis.Redis, entries: list) -> int:
    """Record a batch, one transaction per practice; an entry that cannot be
    opened or recorded is moved to the failed stream."""
    opened, unreadable = [], []
    for _entry_id, fields in entries:
        try:
            opened.append(_open(fields[b"e"]))
        except (crypto.DecryptionError, ValueError, KeyError):
            unreadable.append(fields)
    lines = _active_lines({payload["line"] for payload in opened})
    by_practice: dict[Practice, list[services.PhoneEvent]] = defaultdict(list)
    for payload in opened:
        line = lines.get(payload["line"])
        item = _phone_event(payload, line)
        if line is None:
            _refuse_unknown_line(item.actor)
        else:
            by_practice[line.practice].append(item)
    recorded = 0
    for practice, items in by_practice.items():
        recorded += _record_practice(client, practice, items)
    for fields in unreadable:
        _keep_failed(client, fields, "unreadable")
    return recorded


def _active_lines(line_ids: set[int]) -> dict[int, PhoneLine]:
    """The lines still there, of practices still active: an event accepted just
    before its line was removed or its practice closed is refused now."""
    lines = PhoneLine.objects.filter(
        pk__in=line_ids, practice__status=Practice.Status.ACTIVE
    ).select_related("practice")
    return {line.pk: line for line in lines}


def _phone_event(payload: dict, line: PhoneLine | None) -> services.PhoneEvent:
    practice = line.practice if line is not None else None
    actor = dataclasses.replace(
        Actor.system("cti", practice=practice),
        ip=payload["ip"],
        request_id=payload["request_id"],
    )
    return services.PhoneEvent(
        line=line,
        event=CallEvent(*payload["event"]),
        at=datetime.fromtimestamp(payload["at"], tz=UTC),
        actor=actor,
    )


def _refuse_unknown_line(actor: Actor) -> None:
    record_event(
        actor=actor,
        action=Action.PERMISSION_DENIED,
        outcome=Outcome.DENIED,
        practice=None,
        object_type=services.CALL,
        detail={"reason": "unknown_line", "status": 404},
    )


def _record_practice(client: redis.Redis, practice: Practice, items: list) -> int:
    try:
        with practice_scope(practice):
            services.call_events_record(practice=practice, items=items)
        return len(items)
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:  # noqa: BLE001 -- retried one by one below, kept aside if it fails again
        logger.warning("phone events batch retried one by one: %s", type(error).__name__)
    # One of them cannot be recorded with the others (two drainers racing on a
    # new call, a defect): each alone, and one that still fails is kept aside.
    recorded = 0
    for item in items:
        try:
            with practice_scope(practice):
                services.call_events_record(practice=practice, items=[item])
            recorded += 1
        except (OperationalError, InterfaceError):
            raise
        except Exception as error:  # noqa: BLE001 -- kept aside, never retried forever
            logger.error("phone event not recorded: %s", type(error).__name__)
            _keep_failed(client, {b"e": _seal(_payload(item))}, type(error).__name__)
    return recorded


def _keep_failed(client: redis.Redis, fields: dict, reason: str) -> None:
    client.xadd(_key("failed"), {**fields, b"reason": reason}, maxlen=FAILED_KEPT, approximate=True)


def pending() -> int:
    """Events accepted and not yet recorded (0 without Redis)."""
    client = ring.redis_client()
    if client is None:
        return 0
    return client.xlen(_key("events"))


def failed_counts() -> Counter:
    """The entries kept aside, by reason (an error's type or "unreadable")."""
    client = ring.redis_client()
    if client is None:
        return Counter()
    entries = client.xrange(_key("failed"))
    return Counter(fields.get(b"reason", b"").decode() for _entry_id, fields in entries)


def failed_retry(*, actor: Actor) -> int:
    """Put the entries kept aside back in the stream (after what waits there)
    and drain it: a defect fixed, or a database restored, they are recorded;
    one that fails again is kept aside again. Returns how many went back."""
    client = ring.redis_client()
    if client is None:
        return 0
    entries = client.xrange(_key("failed"))
    for entry_id, fields in entries:
        client.xadd(_key("events"), {"e": fields[b"e"]})
        client.xdel(_key("failed"), entry_id)
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=None,
        object_type=services.CALL,
        detail={"count": len(entries)},
    )
    drain()
    return len(entries)
