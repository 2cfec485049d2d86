"""Hash chain: canonical serialisation, append, and verification.

event hash = sha256(prev_hash ":" seq ":" payload_digest), where payload_digest
is sha256 of the canonical JSON of the event's content (everything but the chain
links). seq and prev_hash are only known under the chain head's lock, so on
PostgreSQL the digest and the link are computed by the database in the same
statement that locks the head, inserts the event and advances the head.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from audit.models import GENESIS_HASH, AuditChain, AuditEvent

CONTENT_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_username",
    "role",
    "action",
    "object_type",
    "object_id",
    "practice_id",
    "outcome",
    "ip_address",
    "user_agent",
    "request_id",
    "detail",
)


# One encoder, built once: verification calls it for every event.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_time(moment: datetime) -> str:
    # "2026-11-23T09:00:00.000000Z"; isoformat is faster than strftime.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def payload_digest(content: dict) -> str:
    data = dict(content)
    data["occurred_at"] = canonical_time(data["occurred_at"])
    return _canonical_digest(data)


def _canonical_digest(data: dict) -> str:
    return hashlib.sha256(_CANONICAL.encode(data).encode()).hexdigest()


def link_hash(prev_hash: str, seq: int, digest: str) -> str:
    return hashlib.sha256(f"{prev_hash}:{seq}:{digest}".encode()).hexdigest()


def chain_key(practice_id: int | None) -> str:
    return f"practice:{practice_id}" if practice_id else "platform"


def chain_id_for(key: str, practice_id: int | None) -> int:
    chain = AuditChain.objects.filter(key=key).values_list("id", flat=True).first()
    if chain is None:
        AuditChain.objects.bulk_create(
            [AuditChain(key=key, practice_id=practice_id)], ignore_conflicts=True
        )
        chain = AuditChain.objects.values_list("id", flat=True).get(key=key)
    return chain


# occurred_at is taken before the chain's lock: two requests racing at a month's
# last millisecond, or a clock stepped back by NTP, would file a later seq in an
# earlier month, and a month could then not be dropped cleanly (retention drops
# whole months from a checkpoint). Such a small step back is raised to the
# previous event's time. A large one (a clock that was wrong and got fixed) is
# kept as it is: events stamped years ahead must not drag the times after them.
CLOCK_TOLERANCE = timedelta(hours=1)

# Everything under the chain head's lock, in one statement: occurred_at as above,
# the payload digest rendered by audit_payload_digest (migration 0006, the same
# text as payload_digest), the link hashed, the head advanced, the event inserted.
_PG_APPEND = """
WITH old AS (
    SELECT id, last_seq, last_hash,
           CASE WHEN last_occurred_at > %(occurred_at)s::timestamptz
                 AND last_occurred_at - %(occurred_at)s::timestamptz < %(tolerance)s::interval
                THEN last_occurred_at ELSE %(occurred_at)s::timestamptz END AS occurred_at
    FROM audit_auditchain WHERE {chain_filter} FOR UPDATE
), linked AS (
    SELECT old.*, encode(sha256(convert_to(
        last_hash || ':' || (last_seq + 1)::text || ':' || audit_payload_digest(
            occurred_at, {digest_arguments}), 'UTF8')), 'hex') AS hash
    FROM old
), head AS (
    UPDATE audit_auditchain AS c
    SET last_seq = linked.last_seq + 1, last_hash = linked.hash,
        last_occurred_at = linked.occurred_at, updated_at = now()
    FROM linked WHERE c.id = linked.id
    RETURNING c.id, c.last_seq, c.last_hash, linked.last_hash AS prev_hash, linked.occurred_at
)
INSERT INTO audit_auditevent (chain_id, seq, prev_hash, hash, occurred_at, {columns})
SELECT head.id, head.last_seq, head.prev_hash, head.last_hash, head.occurred_at, {values}
FROM head
RETURNING id, seq, hash
"""

# In an INSERT ... SELECT the parameters need explicit types.
_PG_TYPES = {
    "actor_id": "bigint",
    "practice_id": "bigint",
    "detail": "jsonb",
}
_PG_COLUMNS = [name for name in CONTENT_FIELDS if name != "occurred_at"]
_PG_VALUES = ", ".join(f"%({name})s::{_PG_TYPES.get(name, 'text')}" for name in _PG_COLUMNS)
_PG_APPEND_BY = {
    chain_filter: _PG_APPEND.format(
        chain_filter=chain_filter,
        digest_arguments=_PG_VALUES,
        columns=", ".join(_PG_COLUMNS),
        values=_PG_VALUES,
    )
    for chain_filter in ("id = %(chain_id)s", "key = %(chain_key)s")
}
_PG_APPEND_SQL = _PG_APPEND_BY["id = %(chain_id)s"]
# By the chain's key (unique): no lookup of its id before the append.
_PG_APPEND_KEY_SQL = _PG_APPEND_BY["key = %(chain_key)s"]


@dataclass(frozen=True)
class Appended:
    id: int
    seq: int
    hash: str


def append(chain_id: int, content: dict) -> Appended:
    if connection.vendor == "postgresql":
        row = _append_postgresql(_PG_APPEND_SQL, content, chain_id=chain_id)
        if row is None:
            raise RuntimeError(f"audit chain {chain_id} is missing")
        return row
    return _append_portable(chain_id, content)


def append_to(practice_id: int | None, content: dict) -> Appended:
    """Append to the practice's chain (None: the platform's), found by its key
    in the append statement itself: one statement per event. A chain's first
    event creates the chain, then appends again."""
    key = chain_key(practice_id)
    if connection.vendor != "postgresql":
        return _append_portable(chain_id_for(key, practice_id), content)
    row = _append_postgresql(_PG_APPEND_KEY_SQL, content, chain_key=key)
    if row is None:
        row = append(chain_id_for(key, practice_id), content)
    return row


def _append_postgresql(sql: str, content: dict, **chain: object) -> Appended | None:
    params = dict(
        content,
        **chain,
        tolerance=CLOCK_TOLERANCE,
        detail=json.dumps(content["detail"]),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else Appended(*row)


class AuditClockError(ValueError):
    """An event dated too far from now (PostgreSQL refuses it in the database)."""


@transaction.atomic
def _append_portable(chain_id: int, content: dict) -> Appended:
    # PostgreSQL's guard (migration 0012) compares with the database's clock;
    # SQLite, the embedded demo, has only this process's.
    if abs(content["occurred_at"] - timezone.now()) > CLOCK_TOLERANCE:
        raise AuditClockError("audit event refused: occurred_at is too far from now")
    head = AuditChain.objects.select_for_update().get(pk=chain_id)
    if head.last_occurred_at:
        behind = head.last_occurred_at - content["occurred_at"]
        if timedelta(0) < behind < CLOCK_TOLERANCE:
            content = dict(content, occurred_at=head.last_occurred_at)
    seq = head.last_seq + 1
    event_hash = link_hash(head.last_hash, seq, payload_digest(content))
    event = AuditEvent.objects.create(
        chain_id=chain_id, seq=seq, prev_hash=head.last_hash, hash=event_hash, **content
    )
    AuditChain.objects.filter(pk=chain_id).update(
        last_seq=seq, last_hash=event_hash, last_occurred_at=content["occurred_at"]
    )
    return Appended(event.pk, seq, event_hash)


@dataclass(frozen=True)
class BrokenLink:
    chain_key: str
    event_id: int | None
    seq: int
    problem: str
    expected: str
    found: str


def verify_chain(
    chain: AuditChain,
    batch_size: int = 10_000,
    start: tuple[int, str] = (0, GENESIS_HASH),
    end: int | None = None,
) -> tuple[int, BrokenLink | None]:
    """Recompute a chain from its genesis (or from a trusted (seq, hash) start,
    e.g. a signed digest); return (events checked, first broken link). The head
    in `chain` must come from the same snapshot as the events (see
    audit.verification.snapshot), or a live chain looks tampered with. With
    `end`, only up to that seq (retention: the month dropped), which must be
    there; the head is then not compared."""
    if connection.vendor == "postgresql":
        return _verify_chain_postgresql(chain, start, end)
    return _verify_chain_python(chain, batch_size, start, end)


def _check_end(chain: AuditChain, end: int, last_seq: int) -> BrokenLink | None:
    if last_seq != end:
        return BrokenLink(chain.key, None, end, "missing_events", str(end), str(last_seq))
    return None


def _verify_chain_python(
    chain: AuditChain,
    batch_size: int = 10_000,
    start: tuple[int, str] = (0, GENESIS_HASH),
    end: int | None = None,
) -> tuple[int, BrokenLink | None]:
    """The reference: SQLite's path, and what the PostgreSQL path is tested against."""
    fields = ("id", "seq", "prev_hash", "hash", *CONTENT_FIELDS)
    events = AuditEvent.objects.filter(chain=chain, seq__gt=start[0])
    if end is not None:
        events = events.filter(seq__lte=end)
    rows = events.order_by("seq").values_list(*fields).iterator(chunk_size=batch_size)
    prev_hash, expected_seq, count = start[1], start[0] + 1, 0
    for row in rows:
        event_id, seq, stored_prev, stored_hash = row[:4]
        content = dict(zip(CONTENT_FIELDS, row[4:], strict=True))
        content["occurred_at"] = canonical_time(content["occurred_at"])
        broken = _check_link(chain.key, event_id, seq, expected_seq, prev_hash, stored_prev)
        if broken:
            return count, broken
        computed = link_hash(prev_hash, seq, _canonical_digest(content))
        if computed != stored_hash:
            return count, BrokenLink(chain.key, event_id, seq, "hash", computed, stored_hash)
        broken = _check_practice(chain, event_id, seq, content["practice_id"])
        if broken:
            return count, broken
        prev_hash, expected_seq, count = stored_hash, seq + 1, count + 1
    if end is not None:
        return count, _check_end(chain, end, expected_seq - 1)
    return count, _check_head(chain, expected_seq, prev_hash)


def _check_head(chain: AuditChain, expected_seq: int, prev_hash: str) -> BrokenLink | None:
    if (chain.last_seq, chain.last_hash) != (expected_seq - 1, prev_hash):
        return BrokenLink(
            chain.key,
            None,
            chain.last_seq,
            "head",
            f"{chain.last_seq}:{chain.last_hash}",
            f"{expected_seq - 1}:{prev_hash}",
        )
    return None


# --- The canonical text rendered inside the verification statement -------------
#
# audit_payload_digest (migration 0006, what appends hash) renders the canonical
# text through SQL functions: a plpgsql call per non-empty detail (an executor
# started for each, ~15 us) and to_json for each of the nine strings. Verification
# renders the same text inline instead, with two fast paths that are taken only
# when they give the very same text, which tests/audit/test_canonical_sql.py
# checks against Python on hostile content:
# - strings are wrapped in quotes as they are when none of them holds a character
#   JSON escapes (", \ and the controls below 0x20: PostgreSQL's to_json and
#   Python's json escape exactly these, see migration 0006), else to_json each;
# - an array in the detail is its jsonb text with ", " turned into "," when it
#   holds no object, no nested array and exactly (length - 1) ", ": each of its
#   strings then holds none (a string can only add occurrences), else it is
#   rendered element by element as audit_canonical_json does.
# Server CPU per event on a 100k-event chain of bench.verify: 10.3 us -> 7.0 us.
_JSON_ESCAPED = r"""'["\\\x01-\x1f]'"""
_PG_ARRAY = (
    "coalesce((SELECT '[' || string_agg(CASE WHEN jsonb_typeof(y) IN ('object', 'array')"
    " THEN audit_canonical_json(y) ELSE y::text END, ',' ORDER BY i) || ']'"
    " FROM jsonb_array_elements(x) WITH ORDINALITY AS a(y, i)), '[]')"
)
_PG_ARRAY_FAST = (
    "CASE WHEN strpos(x::text, '{') = 0 AND strpos(substr(x::text, 2), '[') = 0"
    " AND length(x::text) - length(replace(x::text, ', ', ','))"
    " = greatest(jsonb_array_length(x) - 1, 0)"
    f" THEN replace(x::text, ', ', ',') ELSE {_PG_ARRAY} END"
)
# audit_canonical's detail: {} as is, an object key by key (sorted as Python
# sorts them), anything else through audit_canonical_json.
_PG_DETAIL = (
    "CASE WHEN detail = '{}'::jsonb THEN '{}'"  # noqa: S608 (constant SQL)
    " WHEN jsonb_typeof(detail) <> 'object' THEN audit_canonical_json(detail)"
    " ELSE (SELECT '{' || string_agg(to_json(k)::text || ':' || CASE jsonb_typeof(x)"
    " WHEN 'object' THEN audit_canonical_json(x)"
    f" WHEN 'array' THEN {_PG_ARRAY_FAST} ELSE x::text END,"
    """ ',' ORDER BY k COLLATE "C") || '}' FROM jsonb_each(detail) AS e(k, x)) END"""
)
_PG_RENDER = {
    "actor_id": "coalesce(actor_id::text, 'null')",
    "practice_id": "coalesce(practice_id::text, 'null')",
    "detail": f"coalesce({_PG_DETAIL}, 'null')",
    "occurred_at": """'"' || to_char(occurred_at AT TIME ZONE 'UTC', """
    """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'""",
}
# The nine strings: action, actor_username, ip_address, object_id, ...
_PG_STRINGS = [name for name in CONTENT_FIELDS if name not in _PG_RENDER]


def _pg_canonical(string: str) -> str:
    """audit_canonical's text, keys in Python's sort_keys order, each string
    rendered by the `string` template."""
    parts = []
    for number, name in enumerate(sorted(CONTENT_FIELDS)):
        value = string.format(name) if name in _PG_STRINGS else _PG_RENDER[name]
        parts.append(f"""'{"," if number else "{"}"{name}":' || {value}""")
    return "\n    || ".join(parts) + " || '}'"


# A NULL string makes the test NULL: the ELSE branch, which renders it null.
_PG_CANONICAL = (
    f"CASE WHEN ({' || '.join(_PG_STRINGS)}) !~ {_JSON_ESCAPED}\n"
    f"""THEN {_pg_canonical("'\"' || {} || '\"'")}\n"""
    f"ELSE {_pg_canonical("coalesce(to_json({})::text, 'null')")} END"
)
_PG_DIGEST = f"encode(sha256(convert_to({_PG_CANONICAL}, 'UTF8')), 'hex')"


# The whole chain recomputed by PostgreSQL in one statement (_PG_DIGEST renders
# the same canonical text as Python and as audit_payload_digest). Each
# event is checked against its predecessor (lag); the statement stops at the first
# event that breaks, else returns the last event (lead is null) for the head check.
# One statement, so one snapshot even outside a transaction. The only formatted
# part is the constant digest expression above.
_PG_VERIFY = f"""
SELECT n, id, seq, prev_hash, hash, expected_seq, expected_prev, computed, practice_id
FROM (
    SELECT *, encode(sha256(convert_to(
        expected_prev || ':' || seq::text || ':' || digest, 'UTF8')), 'hex') AS computed
    FROM (
        SELECT id, seq, prev_hash, hash, digest, practice_id,
               row_number() OVER w AS n,
               coalesce(lag(seq) OVER w, %(start_seq)s::bigint) + 1 AS expected_seq,
               coalesce(lag(hash) OVER w, %(start_hash)s::text) AS expected_prev,
               lead(seq) OVER w IS NULL AS is_last
        FROM (
            SELECT id, seq, prev_hash::text, hash::text, practice_id,
                   {_PG_DIGEST} AS digest
            FROM audit_auditevent
            WHERE chain_id = %(chain_id)s AND seq > %(start_seq)s::bigint
              AND seq <= %(end_seq)s::bigint
            -- Sorted here, digest included, behind a fence (OFFSET 0): the digest is
            -- then computed below the sort, by the parallel workers. Without it the
            -- planner defers the digest to the window node, in one process (~1.6x
            -- slower on 1M events).
            ORDER BY seq OFFSET 0
        ) AS event
        WINDOW w AS (ORDER BY seq)
    ) AS linked
) AS checked
-- IS DISTINCT FROM: a NULL forced into a content column (NOT NULL dropped by a
-- superuser) makes the digest NULL, which must count as broken, not be skipped.
WHERE seq IS DISTINCT FROM expected_seq OR prev_hash IS DISTINCT FROM expected_prev
   OR hash IS DISTINCT FROM computed OR is_last
   OR practice_id IS DISTINCT FROM %(practice_id)s::bigint
ORDER BY seq
LIMIT 1
"""  # noqa: S608


# The bound when none is given (every seq is below it).
_NO_END = 2**63 - 1


def _verify_chain_postgresql(
    chain: AuditChain, start: tuple[int, str], end: int | None = None
) -> tuple[int, BrokenLink | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            _PG_VERIFY,
            {
                "chain_id": chain.pk,
                "start_seq": start[0],
                "start_hash": start[1],
                "end_seq": _NO_END if end is None else end,
                "practice_id": chain.practice_id,
            },
        )
        row = cursor.fetchone()
    if row is None:  # no event after the start
        if end is not None:
            return 0, _check_end(chain, end, start[0])
        return 0, _check_head(chain, start[0] + 1, start[1])
    n, event_id, seq, stored_prev, stored_hash, expected_seq, expected_prev, computed = row[:8]
    # The same checks, in the same order, as the Python path.
    broken = _check_link(chain.key, event_id, seq, expected_seq, expected_prev, stored_prev)
    if broken:
        return n - 1, broken
    if computed != stored_hash:
        expected = computed or "unrenderable content"
        return n - 1, BrokenLink(chain.key, event_id, seq, "hash", expected, stored_hash)
    broken = _check_practice(chain, event_id, seq, row[8])
    if broken:
        return n - 1, broken
    if end is not None:
        return n, _check_end(chain, end, seq)
    return n, _check_head(chain, seq + 1, stored_hash)


def _check_practice(chain: AuditChain, event_id, seq, practice_id) -> BrokenLink | None:
    # Each event sits in its practice's chain (the platform's when it names none):
    # an event filed in another chain would show in that practice's reports
    # while the chain that vouches for it is not the practice's.
    if practice_id != chain.practice_id:
        return BrokenLink(
            chain.key, event_id, seq, "practice", str(chain.practice_id), str(practice_id)
        )
    return None


def _check_link(key, event_id, seq, expected_seq, prev_hash, stored_prev) -> BrokenLink | None:
    if seq != expected_seq:
        return BrokenLink(key, event_id, seq, "sequence", str(expected_seq), str(seq))
    if stored_prev != prev_hash:
        return BrokenLink(key, event_id, seq, "prev_hash", prev_hash, stored_prev)
    return None
