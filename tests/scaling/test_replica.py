"""Reads that can lag read a real streaming replica when one is configured
(secretariat/replica.py), and the primary when none is."""

import time

import psycopg
import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.urls import reverse

from audit.models import AuditEvent
from audit.selectors import filtered_events
from secretariat.replica import REPLICA, lagging_reads
from tests import dbroles
from tests.scaling.replica import postgres_bin, primary_and_replica

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA]),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL replication"),
    pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL's server binaries"),
]


def _superuser(port: int):
    return psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname=connection.settings_dict["NAME"],
        autocommit=True,
    )  # fmt: skip


def _append_on_primary(port: int) -> str:
    """One more event, written on the primary behind the application's back (the
    guard triggers are the application's business, not this test's)."""
    with _superuser(port) as primary:
        columns = [
            row[0]
            for row in primary.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'audit_auditevent' AND column_name <> 'id'"
            )
        ]
        names = ", ".join(columns)
        primary.execute("SET session_replication_role = replica")
        primary.execute(
            f"INSERT INTO audit_auditevent ({names})"  # noqa: S608 - catalog's column names
            f" SELECT {names} FROM audit_auditevent ORDER BY id DESC LIMIT 1"
        )
        return primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]


def _replayed(port: int, lsn: str) -> None:
    with _superuser(port) as replica:
        for _ in range(300):
            query = "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"
            if replica.execute(query, [lsn]).fetchone()[0]:
                return
            time.sleep(0.1)
    raise AssertionError("the replica did not replay the primary's write")


@pytest.fixture(scope="module", autouse=True)
def replica_alias():
    """The `replica` database, declared before the tests start (Django lets a
    test use only the databases it declared); pointed at the real standby by the
    `replica` fixture. A mirror: the suite never flushes or creates it."""
    alias = {**connections[DEFAULT_DB_ALIAS].settings_dict, "TEST": {"MIRROR": DEFAULT_DB_ALIAS}}
    connections.settings[REPLICA] = settings.DATABASES[REPLICA] = alias
    yield alias
    connections[REPLICA].close()
    del connections[REPLICA]
    settings.DATABASES.pop(REPLICA, None)
    connections.settings.pop(REPLICA, None)


@pytest.fixture
def replica(world, replica_alias):
    if not dbroles.enabled():
        pytest.skip("needs the database roles (a superuser DATABASE_URL)")
    # Events committed before the copy: the officer's visits to the audit browser.
    officer = world.client("compliance_officer")
    for _ in range(3):
        assert officer.get(reverse("audit:event_list")).status_code == 200
    with primary_and_replica(connection.settings_dict["NAME"]) as pair:
        connections[REPLICA].close()
        replica_alias.update(HOST="127.0.0.1", PORT=pair.replica_port)
        try:
            yield pair
        finally:
            connections[REPLICA].close()


def test_the_audit_browser_reads_the_replica_and_sees_what_it_replays(replica):
    assert lagging_reads() == REPLICA
    events = filtered_events()
    assert events.db == REPLICA
    before = events.count()
    assert before >= 3
    with _superuser(replica.replica_port) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        lsn = _append_on_primary(replica.primary_port)
        time.sleep(0.5)
        assert filtered_events().count() == before  # paused: the replica lags
        standby.execute("SELECT pg_wal_replay_resume()")
    _replayed(replica.replica_port, lsn)
    assert filtered_events().count() == before + 1
    # The primary of the suite never saw that write: the count came from the replica.
    assert AuditEvent.objects.using(DEFAULT_DB_ALIAS).count() == before
