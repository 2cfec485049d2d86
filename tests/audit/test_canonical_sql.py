"""PostgreSQL renders the canonical payload (migration 0006) exactly as Python
does (audit.chain): the fast verification path must never disagree with the
hash format of existing events, nor with the Python reference on tampering."""

import json
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from audit import chain as chain_module
from audit.chain import (
    _CANONICAL,
    CONTENT_FIELDS,
    _verify_chain_python,
    canonical_time,
    payload_digest,
    verify_chain,
)
from audit.models import AuditChain, AuditEvent
from audit.services import clean_detail
from tests.audit.helpers import head_reset, raw, triggers_disabled

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the SQL canonical form is PostgreSQL only"
)

# Every character PostgreSQL text can hold below 0x80 (not NUL), and the
# non-ASCII ones most likely to be escaped by mistake.
ASCII = "".join(chr(code) for code in range(1, 0x80))
TRICKY = ASCII + "éÉàçœß€ñ\u00a0\u2028\u2029\ufeff\uffff😀👩‍⚕️𝄞中文"
# Sorted by code point: "B" < "Z" < "a" < "b" < "é"; "" and controls first.
KEYS = ["b", "a", "B", "é", "Z", "", "\n", "ä", "😀", "a b", "count", "ids", "A\\"]

_PG_CANONICAL = "SELECT {fn}({columns}) FROM audit_auditevent WHERE id = %s"


def _sql(fn: str, event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(_PG_CANONICAL.format(fn=fn, columns=", ".join(CONTENT_FIELDS)), [event_id])
        return cursor.fetchone()[0]


def _text(rng: random.Random, limit: int) -> str:
    return "".join(rng.choice(TRICKY) for _ in range(rng.randint(0, limit)))


def _detail_value(rng: random.Random):
    kind = rng.randrange(7)
    if kind == 0:
        return _text(rng, 80)
    if kind == 1:
        return rng.choice([0, 1, -1, 42, 2**31, -(2**63), 10**30])
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return None
    if kind == 4:
        return [
            rng.choice([rng.randint(-5, 10**12), _text(rng, 10)]) for _ in range(rng.randint(0, 5))
        ]
    if kind == 5:
        return "x" * 80
    return ""


def _content(rng: random.Random, number: int) -> dict:
    offset = timezone(timedelta(hours=rng.choice([-11, 0, 1, 2, 14])))
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        days=rng.randint(-9000, 3000),
        microseconds=rng.choice([0, 1, 999_999, rng.randint(0, 10**11)]),
    )
    detail = {rng.choice(KEYS): _detail_value(rng) for _ in range(rng.randint(0, 6))}
    return {
        "occurred_at": moment.astimezone(offset),
        "actor_id": rng.choice([None, 1, 2**62]),
        "actor_username": _text(rng, 150),
        "role": _text(rng, 32),
        "action": rng.choice(["view", "list", _text(rng, 32)]),
        "object_type": _text(rng, 64),
        "object_id": rng.choice(["", "1234", _text(rng, 64)]),
        "practice_id": rng.choice([None, 7]),
        "outcome": rng.choice(["allowed", "denied", ""]),
        "ip_address": rng.choice(["", "10.0.0.1", "2001:db8::1", _text(rng, 45)]),
        "user_agent": ASCII if number == 0 else _text(rng, 256),
        "request_id": _text(rng, 32),
        "detail": clean_detail(detail),
    }


def _python_canonical(content: dict) -> str:
    return _CANONICAL.encode(dict(content, occurred_at=canonical_time(content["occurred_at"])))


@pytest.fixture
def generated(db) -> tuple[AuditChain, list[tuple[int, dict]]]:
    rng = random.Random(20261123)
    contents = [_content(rng, number) for number in range(300)]
    # Shapes clean_detail refuses but a tampered row could hold: nested objects
    # and arrays, which the SQL renderer must still sort and render like Python.
    contents.append(
        dict(contents[1], detail={"z": {"b": [1, {"é": None, "a": "\t"}], "A": []}, "a": {}})
    )
    contents.append(dict(contents[2], detail={key: key for key in KEYS}))
    # A chain's times never go back (append raises an earlier one to the last
    # event's): in time order, every extreme time is stored as generated.
    contents.sort(key=lambda content: content["occurred_at"])
    # One practice's chain (verification checks that each event names it).
    contents = [dict(content, practice_id=7) for content in contents]
    # Dates over 34 years: the chain guard (migration 0012) would refuse them;
    # the rendering is what is tested here.
    with triggers_disabled():
        chain = AuditChain.objects.create(key="practice:7", practice_id=7)
        events = [(chain_module.append(chain.pk, content).id, content) for content in contents]
    chain.refresh_from_db()
    return chain, events


def test_sql_json_string_escaping_matches_python_for_every_character(db):
    with connection.cursor() as cursor:
        for char in TRICKY:
            cursor.execute(
                "SELECT to_json(%s::text)::text, audit_canonical_json(to_jsonb(%s::text))",
                [char, char],
            )
            expected = json.dumps(char, ensure_ascii=False)
            assert cursor.fetchone() == (expected, expected), hex(ord(char[0]))


def test_sql_canonical_text_matches_python_on_hostile_content(generated):
    _chain, events = generated
    for event_id, content in events:
        assert _sql("audit_canonical", event_id) == _python_canonical(content)


def test_sql_payload_digest_matches_the_stored_hash_format(generated):
    _chain, events = generated
    for event_id, content in events:
        assert _sql("audit_payload_digest", event_id) == payload_digest(content)


def _inline(expression: str, event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expression} FROM audit_auditevent WHERE id = %s", [event_id])
        return cursor.fetchone()[0]


def test_verification_inline_canonical_text_matches_python_on_hostile_content(generated):
    # What verification hashes (chain._PG_CANONICAL, with its fast paths) must be
    # the appends' text to the byte, including strings that hold quotes, controls,
    # backslashes, ", " and ": ", and arrays with nested values.
    _chain, events = generated
    for event_id, content in events:
        assert _inline(chain_module._PG_CANONICAL, event_id) == _python_canonical(content)
        assert _inline(chain_module._PG_DIGEST, event_id) == payload_digest(content)


@pytest.mark.parametrize(
    "detail",
    [
        {"ids": ["1", "2"]},
        {"ids": ["1, 2"]},  # a ", " inside a string: the array's slow path
        {"ids": ["a", "b, c", "d"]},
        {"ids": ["x: y", 3, None, True]},
        {"ids": [[1, 2], 3]},
        {"ids": [{"b": 1, "a": [2, 3]}]},
        {"ids": ["[", "{", "]"]},
        {"ids": ["]", "}"], "count": 2, "": []},
        {"ids": []},
        {"é": '"\\', "a": "\n", "b, c": "d: e"},
    ],
)
def test_verification_inline_detail_matches_python(db, detail):
    content = dict(_content(random.Random(7), 1), detail=detail, practice_id=None)
    with triggers_disabled():
        chain = AuditChain.objects.create(key="platform-test", practice_id=None)
        event_id = chain_module.append(chain.pk, content).id
    assert _inline(chain_module._PG_CANONICAL, event_id) == _python_canonical(content)


def test_sql_canonical_text_matches_python_on_the_rows_read_back(generated):
    # What the Python reference hashes at verification: the values as stored.
    _chain, events = generated
    ids = [event_id for event_id, _content in events]
    for row in AuditEvent.objects.filter(id__in=ids).values("id", *CONTENT_FIELDS):
        content = {name: row[name] for name in CONTENT_FIELDS}
        assert _sql("audit_canonical", row["id"]) == _python_canonical(content)


def test_verify_chain_fast_path_passes_hostile_content_like_the_reference(generated):
    chain, events = generated
    expected = (len(events), None)
    assert verify_chain(chain) == expected
    assert _verify_chain_python(chain) == expected
    start = (100, AuditEvent.objects.get(chain=chain, seq=100).hash)
    assert verify_chain(chain, start=start) == _verify_chain_python(chain, start=start)
    assert verify_chain(chain, start=start) == (len(events) - 100, None)


_AT = "WHERE chain_id = %s AND seq ="
TAMPERINGS = [
    (f"UPDATE audit_auditevent SET user_agent = user_agent || ' ' {_AT} 40", "hash"),
    (f"""UPDATE audit_auditevent SET detail = '{{"é": 1, "a": [1, "x"]}}' {_AT} 7""", "hash"),
    (f"UPDATE audit_auditevent SET occurred_at = occurred_at + '1 us'::interval {_AT} 300", "hash"),
    (f"DELETE FROM audit_auditevent {_AT} 150", "sequence"),
    (f"UPDATE audit_auditevent SET prev_hash = repeat('a', 64) {_AT} 1", "prev_hash"),
    (f"DELETE FROM audit_auditevent {_AT} 302", "head"),
]


@pytest.mark.parametrize(("sql", "problem"), TAMPERINGS)
def test_verify_chain_fast_path_reports_tampering_exactly_like_the_reference(
    generated, sql, problem
):
    chain, _events = generated
    with triggers_disabled():
        raw(sql, [chain.pk])
    fast = verify_chain(chain)
    assert fast == _verify_chain_python(chain)
    assert fast[1] is not None and fast[1].problem == problem


def test_verify_chain_fast_path_detects_a_head_reset_like_the_reference(generated):
    chain, _events = generated
    head_reset(chain, 5, "0" * 64)
    chain.refresh_from_db()
    assert verify_chain(chain) == _verify_chain_python(chain)
    assert verify_chain(chain)[1].problem == "head"


def test_verify_chain_fast_path_flags_a_null_forced_into_a_content_column(generated):
    chain, _events = generated
    target = AuditEvent.objects.get(chain=chain, seq=12)
    # Not occurred_at: the partition key keeps its NOT NULL.
    with triggers_disabled():
        raw("ALTER TABLE audit_auditevent ALTER COLUMN actor_username DROP NOT NULL")
        raw("UPDATE audit_auditevent SET actor_username = NULL WHERE id = %s", [target.pk])
    count, broken = verify_chain(chain)
    assert count == 11
    assert (broken.event_id, broken.seq, broken.problem) == (target.pk, 12, "hash")
