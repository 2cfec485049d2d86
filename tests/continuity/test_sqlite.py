"""The embedded default (SQLite) end to end, in subprocesses: backup, restore, drill."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from secretariat.crypto import new_keyring_value

ROOT = Path(__file__).resolve().parents[2]
_NOT_INHERITED = {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    full.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sqlite_backup_restore_and_drill(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRETARIAT_ENV": "dev",
        "BACKUP_KEYRING": new_keyring_value(),
        "BACKUP_DIR": str(tmp_path / "backups"),
    }
    for command in (["migrate", "-v", "0"], ["seed_demo"], ["backup"], ["restore_drill"]):
        result = _manage(env, *command)
        assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
    assert "totp_secrets_checked : 7" in result.stdout
    (path,) = (tmp_path / "backups").glob("*.sbk")
    restored = tmp_path / "restored.sqlite3"
    result = _manage(env, "restore", str(path), "--database-url", f"sqlite:///{restored}")
    assert result.returncode == 0, result.stderr[-2000:]
    query = "SELECT id, username, password FROM accounts_user ORDER BY id"
    with sqlite3.connect(restored) as copy, sqlite3.connect(database) as original:
        assert copy.execute(query).fetchall() == original.execute(query).fetchall()
    # Restoring again over a non-empty file is refused.
    result = _manage(env, "restore", str(path), "--database-url", f"sqlite:///{restored}")
    assert result.returncode != 0
    assert "n'est pas vide" in result.stderr
