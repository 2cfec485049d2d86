import secrets
from pathlib import Path

import pytest
from django.db import connection

from continuity.backup import DatabaseTarget
from secretariat.crypto import new_keyring_value


@pytest.fixture
def backup_settings(settings, tmp_path) -> Path:
    """A backup keyring (distinct from the data keyring) and a private backup directory."""
    settings.BACKUP_KEYRING = new_keyring_value()
    settings.BACKUP_DIR = tmp_path / "backups"
    return settings.BACKUP_DIR


@pytest.fixture
def scratch_database(transactional_db):
    """An empty PostgreSQL database beside the test database, dropped afterwards."""
    source = DatabaseTarget.maintenance()
    name = f"test_scratch_{secrets.token_hex(4)}"
    with source.connect(autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield source.with_name(name)
    finally:
        with source.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table_rows(target: DatabaseTarget) -> dict[str, list[tuple]]:
    """Every row of every table of the public schema, in a comparable order."""
    rows = {}
    with target.connect() as conn, conn.cursor() as cursor:
        # Partitions (the audit table's months) are read through their parent.
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " ORDER BY c.relname"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT * FROM "{table}"')
            rows[table] = sorted(cursor.fetchall(), key=repr)
    return rows


def sequences(target: DatabaseTarget) -> dict[str, int]:
    with target.connect() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")
        return dict(cursor.fetchall())


def default_vendor() -> str:
    return connection.vendor


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The training gate caches good standing per user id.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
