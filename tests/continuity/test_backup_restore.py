"""Backup then restore on PostgreSQL: identical data; damage refused with nothing written."""

import json
import sqlite3

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import TOTPDevice
from audit.models import AuditEvent
from continuity import backup, stream
from continuity.backup import DatabaseTarget
from continuity.models import BackupRun, Outcome
from tests.continuity.conftest import sequences, table_rows
from tests.personas import build_world


def _cut_last_chunk(path):
    data = path.read_bytes()
    position, last = stream.HEADER_BYTES, None
    while position < len(data):
        last = position
        position += 4 + int.from_bytes(data[position : position + 4], "big")
    path.write_bytes(data[:last])


def _restore_fails(path, target) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("restore", str(path), database_url=target.url())
    return str(caught.value)


@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_gives_identical_data(backup_settings, scratch_database):
    build_world()
    source = DatabaseTarget.maintenance()
    call_command("backup")
    (path,) = backup_settings.glob("*.sbk")
    call_command("restore", str(path), database_url=scratch_database.url())
    restored = table_rows(scratch_database)
    original = table_rows(source)
    assert restored.keys() == original.keys()
    # The backup's own run row is dumped while running and its audit event is
    # written after the dump: the only differences allowed.
    for table in ("continuity_backuprun", "audit_auditchain"):
        assert len(restored.pop(table)) == len(original.pop(table))
    restored_events, original_events = (
        restored.pop("audit_auditevent"),
        original.pop("audit_auditevent"),
    )
    assert all(event in original_events for event in restored_events)
    assert len(original_events) - len(restored_events) == 1
    assert restored == original
    assert (
        sequences(scratch_database)["accounts_user_id_seq"]
        == (sequences(source)["accounts_user_id_seq"])
    )
    with scratch_database.connect() as conn:
        events = conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0]
    manifest = backup.manifest_read(path)
    assert events == manifest["row_counts"]["audit_auditevent"] > 0
    assert manifest["row_counts"]["accounts_totpdevice"] == TOTPDevice.objects.count()


@pytest.mark.django_db(transaction=True)
def test_backup_manifest_describes_the_file(backup_settings):
    build_world()
    call_command("backup")
    (path,) = backup_settings.glob("*.sbk")
    manifest = backup.manifest_read(path)
    assert manifest["size"] == path.stat().st_size
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    leaves = dict(MigrationLoader(connection).graph.leaf_nodes())
    assert manifest["schema"]["accounts"] == leaves["accounts"]
    assert manifest["schema"]["continuity"] == leaves["continuity"]
    assert manifest["row_counts"]["accounts_user"] == 8
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    run = BackupRun.objects.get()
    assert (run.outcome, run.file_name) == (Outcome.SUCCESS, path.name)
    assert AuditEvent.objects.filter(action="export", object_type="backup").exists()
    # The file is encrypted: no username appears in it.
    assert b"tele_a" not in path.read_bytes()


@pytest.mark.django_db(transaction=True)
def test_restore_flipped_byte_refused_and_nothing_written(backup_settings, scratch_database):
    build_world()
    call_command("backup")
    (path,) = backup_settings.glob("*.sbk")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    message = _restore_fails(path, scratch_database)
    assert "rien n'a été écrit" in message
    assert backup.database_is_empty(scratch_database)


@pytest.mark.django_db(transaction=True)
def test_restore_truncated_file_refused_and_nothing_written(
    backup_settings, scratch_database, settings
):
    settings.BACKUP_CHUNK_BYTES = 16 * 1024  # several chunks, so the cut is at a boundary
    build_world()
    call_command("backup")
    (path,) = backup_settings.glob("*.sbk")
    assert backup.manifest_read(path)["chunks"] > 2
    _cut_last_chunk(path)
    message = _restore_fails(path, scratch_database)
    assert "tronqué" in message
    assert backup.database_is_empty(scratch_database)


@pytest.mark.django_db(transaction=True)
def test_restore_edited_manifest_refused(backup_settings, scratch_database):
    call_command("backup")
    (path,) = backup_settings.glob("*.sbk")
    manifest_file = backup.manifest_path(path)
    document = json.loads(manifest_file.read_text())
    document["manifest"]["row_counts"]["accounts_user"] = 999
    manifest_file.write_text(json.dumps(document))
    assert "signature" in _restore_fails(path, scratch_database)
    assert backup.database_is_empty(scratch_database)


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_non_empty_database(backup_settings):
    call_command("backup")
    (path,) = backup_settings.glob("*.sbk")
    message = _restore_fails(path, DatabaseTarget.maintenance())
    assert "n'est pas vide" in message


@pytest.mark.django_db(transaction=True)
def test_restore_with_another_backup_key_refused(backup_settings, scratch_database, settings):
    call_command("backup")
    (path,) = backup_settings.glob("*.sbk")
    from secretariat.crypto import new_keyring_value

    settings.BACKUP_KEYRING = new_keyring_value()
    _restore_fails(path, scratch_database)
    assert backup.database_is_empty(scratch_database)


@pytest.mark.django_db(transaction=True)
def test_backup_without_backup_keyring_fails_clearly(settings, tmp_path):
    settings.BACKUP_KEYRING = ""
    with pytest.raises(CommandError, match="BACKUP_KEYRING"):
        call_command("backup", dest=tmp_path)
    assert not list(tmp_path.iterdir())
    assert BackupRun.objects.get().outcome == Outcome.FAILURE
    with pytest.raises(ImproperlyConfigured):
        stream.backup_keyring()


def test_backup_and_restore_sqlite_round_trip(backup_settings, tmp_path):
    source = tmp_path / "source.sqlite3"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body BLOB)")
        conn.executemany(
            "INSERT INTO note (body) VALUES (?)", [(bytes([i]) * 50,) for i in range(200)]
        )
    result = backup.backup_create(target=DatabaseTarget(engine="sqlite", name=str(source)))
    assert result.manifest["row_counts"] == {"note": 200}
    target = DatabaseTarget(engine="sqlite", name=str(tmp_path / "restored.sqlite3"))
    backup.backup_restore(result.path, target=target)
    with sqlite3.connect(target.name) as restored, sqlite3.connect(source) as original:
        query = "SELECT id, body FROM note ORDER BY id"
        assert restored.execute(query).fetchall() == original.execute(query).fetchall()
    with pytest.raises(backup.BackupError, match="pas vide"):
        backup.backup_restore(result.path, target=target)


def test_database_url_password_goes_to_environment_not_argv():
    target = DatabaseTarget.from_url("postgres://app:s3cr%40t@db.example:5433/prod")
    env = target.libpq_env()
    assert env["PGPASSWORD"] == "s3cr@t"
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "db.example",
        "5433",
        "app",
        "prod",
    )


@pytest.mark.django_db
def test_schema_ahead_of_code_names_unknown_migrations():
    manifest = {"schema": {"accounts": "0001_initial", "accounts_x": "0099_future"}}
    assert backup.schema_ahead_of_code(manifest) == ["accounts_x.0099_future"]
