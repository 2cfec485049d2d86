"""Full logical backups, encrypted while streaming, and their verified restore.

PostgreSQL: `pg_dump --format=custom` reads a snapshot exported by a REPEATABLE
READ transaction that also counts the rows and reads the migrations, so the
manifest describes exactly what the dump holds. SQLite: the online backup API
into a private temporary file, then streamed. Nothing in plaintext is kept once
the command ends; connection secrets go through the environment, never argv.
"""

import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import environ
import psycopg
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from continuity import stream
from continuity.stream import BackupIntegrityError

FORMAT = "secretariat-backup/1"
SUFFIX = ".sbk"
MANIFEST_SUFFIX = ".manifest.json"
_READ_BYTES = 256 * 1024


class BackupError(Exception):
    """A backup or restore could not be done; the message is for the operator."""


@dataclass(frozen=True)
class DatabaseTarget:
    """Connection parameters of one database, as Django's settings hold them."""

    engine: str
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""
    options: dict | None = None

    @classmethod
    def from_settings(cls, config: dict) -> "DatabaseTarget":
        engine = config["ENGINE"].rsplit(".", 1)[-1]
        if engine not in ("postgresql", "sqlite3"):
            raise BackupError(f"moteur de base de données non pris en charge : {engine}")
        return cls(
            engine="postgresql" if engine == "postgresql" else "sqlite",
            name=str(config["NAME"]),
            user=config.get("USER") or "",
            password=config.get("PASSWORD") or "",
            host=config.get("HOST") or "",
            port=str(config.get("PORT") or ""),
            options={k: v for k, v in (config.get("OPTIONS") or {}).items() if k != "pool"},
        )

    @classmethod
    def from_url(cls, url: str) -> "DatabaseTarget":
        return cls.from_settings(environ.Env.db_url_config(url))

    @classmethod
    def default(cls) -> "DatabaseTarget":
        # connection.settings_dict, not DATABASE_URL again: under the test runner
        # it names the test database.
        return cls.from_settings(connection.settings_dict)

    @classmethod
    def maintenance(cls) -> "DatabaseTarget":
        """The database in use, reached with DATABASE_MAINTENANCE_URL's role and
        address when it is set: backups read every practice's rows, which row
        security hides from the application role (the maintenance role bypasses
        it; the web tier is never given it). Without it, the default connection's."""
        default = cls.default()
        url = getattr(settings, "DATABASE_MAINTENANCE_URL", "")
        if not url or default.engine != "postgresql":
            return default
        role = cls.from_url(url)
        return cls(
            default.engine,
            default.name,
            role.user,
            role.password,
            role.host or default.host,
            role.port or default.port,
            role.options,
        )

    def with_name(self, name: str) -> "DatabaseTarget":
        return DatabaseTarget(
            self.engine, name, self.user, self.password, self.host, self.port, self.options
        )

    def libpq_env(self) -> dict[str, str]:
        """Environment for pg_dump / pg_restore: the password never on argv."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        pairs = {
            "PGHOST": self.host,
            "PGPORT": self.port,
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.name,
            "PGSSLMODE": (self.options or {}).get("sslmode", ""),
        }
        env.update({k: v for k, v in pairs.items() if v})
        return env

    def connect(self, **kwargs):
        """A psycopg connection (PostgreSQL) outside Django's connection handling."""
        params = {
            "dbname": self.name,
            "user": self.user or None,
            "password": self.password or None,
            "host": self.host or None,
            "port": self.port or None,
            **{k: v for k, v in (self.options or {}).items() if k == "sslmode"},
        }
        return psycopg.connect(**{k: v for k, v in params.items() if v is not None}, **kwargs)

    def url(self) -> str:
        """A DATABASE_URL for a child process (passed in its environment only)."""
        if self.engine == "sqlite":
            return f"sqlite:///{self.name}"

        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        host = self.host or "localhost"
        port = f":{self.port}" if self.port else ""
        return f"postgres://{auth}@{host}{port}/{quote(self.name, safe='')}"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Partitions are counted through their parent (audit_auditevent's months).
_PG_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""
_SQLITE_TABLES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
)


def table_names(cursor, vendor: str) -> list[str]:
    cursor.execute(_PG_TABLES if vendor == "postgresql" else _SQLITE_TABLES)
    return [row[0] for row in cursor.fetchall()]


def row_counts(cursor, vendor: str) -> dict[str, int]:
    """Rows per table, through any DB-API cursor (psycopg, sqlite3, Django)."""
    counts = {}
    for name in table_names(cursor, vendor):
        # Table names come from the catalogue, quoted as identifiers.
        cursor.execute(f"SELECT count(*) FROM {_quote_ident(name)}")  # noqa: S608
        counts[name] = cursor.fetchone()[0]
    return counts


def schema_versions(cursor, vendor: str) -> dict[str, str]:
    """The latest applied migration of each app (none for a database Django never migrated)."""
    if "django_migrations" not in table_names(cursor, vendor):
        return {}
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY applied, id")
    latest: dict[str, str] = {}
    for app, name in cursor.fetchall():
        latest[app] = name
    return dict(sorted(latest.items()))


def backup_dir() -> Path:
    return Path(settings.BACKUP_DIR)


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict


def backup_create(
    *,
    dest: Path | None = None,
    target: DatabaseTarget | None = None,
    progress: Callable[[int], None] | None = None,
) -> BackupResult:
    """Writes `<dest>/secretariat-<UTC time>-<random>.sbk` and its signed manifest."""
    keyring = stream.backup_keyring()
    target = target or DatabaseTarget.maintenance()
    dest = Path(dest or backup_dir())
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = datetime.now(UTC)
    name = f"secretariat-{created:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}{SUFFIX}"
    final = dest / name
    partial = dest / (name + ".part")
    chunk_bytes = getattr(settings, "BACKUP_CHUNK_BYTES", stream.DEFAULT_CHUNK_BYTES)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            writer = stream.EncryptingWriter(out, keyring, chunk_bytes, on_write=progress)
            if target.engine == "postgresql":
                described = _dump_postgresql(target, writer)
            else:
                described = _dump_sqlite(target, writer, dest)
            writer.close()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    manifest = {
        "format": FORMAT,
        "file": name,
        "created_at": created.isoformat(),
        "engine": target.engine,
        "size": writer.size,
        "sha256": writer.sha256.hexdigest(),
        "key_id": writer.key_id,
        "file_id": writer.file_id.hex(),
        "chunk_bytes": chunk_bytes,
        "chunks": writer.chunks,
        "schema": described["schema"],
        "row_counts": described["row_counts"],
    }
    _manifest_write(manifest_path(final), manifest, keyring)
    return BackupResult(final, manifest)


def _dump_postgresql(target: DatabaseTarget, writer: stream.EncryptingWriter) -> dict:
    with target.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            with tempfile.TemporaryFile() as errors:
                process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                    [
                        _tool("pg_dump"),
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        "--no-password",
                    ],
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    env=target.libpq_env(),
                )
                try:
                    while data := process.stdout.read(_READ_BYTES):
                        writer.feed(data)
                finally:
                    process.stdout.close()
                    code = process.wait()
                if code != 0:
                    errors.seek(0)
                    raise BackupError(f"pg_dump a échoué (code {code}) : {_tail(errors.read())}")
            # Same snapshot as the dump: the counts describe what it holds.
            described = {
                "row_counts": row_counts(cursor, "postgresql"),
                "schema": schema_versions(cursor, "postgresql"),
            }
        conn.rollback()
    return described


def _dump_sqlite(target: DatabaseTarget, writer: stream.EncryptingWriter, dest: Path) -> dict:
    source_path = Path(target.name)
    if not source_path.exists():
        raise BackupError(f"base SQLite introuvable : {source_path}")
    fd, copy_name = tempfile.mkstemp(prefix=".sqlite-copy-", dir=dest)
    os.close(fd)
    copy = Path(copy_name)
    try:
        source = sqlite3.connect(source_path)
        snapshot = sqlite3.connect(copy)
        try:
            source.backup(snapshot)
            cursor = snapshot.cursor()
            described = {
                "row_counts": row_counts(cursor, "sqlite"),
                "schema": schema_versions(cursor, "sqlite"),
            }
        finally:
            snapshot.close()
            source.close()
        with copy.open("rb") as plain:
            while data := plain.read(_READ_BYTES):
                writer.feed(data)
    finally:
        copy.unlink(missing_ok=True)
    return described


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} est introuvable : installez postgresql-client")
    return found


def _tail(raw: bytes, limit: int = 400) -> str:
    # pg_restore quotes the failing command or COPY line: rows could hold data.
    lines = [
        line
        for line in raw.decode(errors="replace").splitlines()
        if not line.lstrip().startswith(("CONTEXT:", "Command was:", "DETAIL:"))
    ]
    return "\n".join(lines).strip()[-limit:]


def schema_ahead_of_code(manifest: dict) -> list[str]:
    """Migrations named by the backup that this code does not have (a backup
    made by a newer release: restore with that release)."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return sorted(
        f"{app}.{name}"
        for app, name in manifest.get("schema", {}).items()
        if (app, name) not in known
    )


def _canonical(manifest: dict) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def _manifest_write(path: Path, manifest: dict, keyring) -> None:
    signature = stream.sign_manifest(keyring, manifest["key_id"], _canonical(manifest))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"manifest": manifest, "hmac_sha256": signature}, out, indent=2, sort_keys=True)


def manifest_read(backup: Path, keyring=None) -> dict:
    """The backup's manifest, once its HMAC checks out."""
    keyring = keyring or stream.backup_keyring()
    path = manifest_path(backup)
    try:
        document = json.loads(path.read_text())
        manifest, signature = document["manifest"], document["hmac_sha256"]
        key_id = int(manifest["key_id"])
    except FileNotFoundError:
        raise BackupIntegrityError(f"manifeste introuvable : {path.name}") from None
    except (ValueError, KeyError, TypeError):
        raise BackupIntegrityError(f"manifeste illisible : {path.name}") from None
    try:
        valid = stream.verify_manifest_signature(keyring, key_id, _canonical(manifest), signature)
    except BackupIntegrityError:
        raise
    except Exception:
        raise BackupIntegrityError(f"clé de sauvegarde {key_id} absente du trousseau") from None
    if not valid:
        raise BackupIntegrityError("le manifeste a été modifié (signature HMAC invalide)")
    if manifest.get("format") != FORMAT:
        raise BackupIntegrityError("format de manifeste inconnu")
    return manifest


def backup_verify(backup: Path) -> dict:
    """Checks the whole file before anything is written anywhere: manifest
    signature, every chunk authenticated, final chunk present, size and checksum
    equal to the manifest's. Returns the manifest."""
    keyring = stream.backup_keyring()
    manifest = manifest_read(backup, keyring)
    if not backup.exists():
        raise BackupIntegrityError(f"fichier de sauvegarde introuvable : {backup.name}")
    with backup.open("rb") as raw:
        header, key_id = stream.read_header(raw)
        if key_id != manifest["key_id"] or header[12:28].hex() != manifest["file_id"]:
            raise BackupIntegrityError("le fichier ne correspond pas à son manifeste")
        raw.seek(0)
        reader = stream.HashingReader(raw)
        for _chunk in stream.decrypt_chunks(reader, keyring):
            pass
    if reader.size != manifest["size"] or reader.sha256.hexdigest() != manifest["sha256"]:
        raise BackupIntegrityError("la somme de contrôle ne correspond pas au manifeste")
    return manifest


def database_is_empty(target: DatabaseTarget) -> bool:
    if target.engine == "sqlite":
        path = Path(target.name)
        if not path.exists() or path.stat().st_size == 0:
            return True
        with sqlite3.connect(path) as conn:
            return not table_names(conn.cursor(), "sqlite")
    with target.connect() as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
        )
        return cursor.fetchone()[0] == 0


def backup_restore(backup: Path, *, target: DatabaseTarget, keep_privileges: bool = False) -> dict:
    """Restores into an empty database: verify everything first, then decrypt
    streaming into pg_restore (one transaction) or a new SQLite file."""
    manifest = backup_verify(backup)
    if manifest["engine"] != target.engine:
        raise BackupError(
            f"sauvegarde {manifest['engine']} : elle ne se restaure pas dans une base "
            f"{target.engine}"
        )
    try:
        empty = database_is_empty(target)
    except Exception as error:
        raise BackupError(
            f"base cible inaccessible ({type(error).__name__}) : créez-la vide d'abord"
        ) from None
    if not empty:
        raise BackupError(
            "la base cible n'est pas vide : la restauration se fait dans une base vide"
        )
    keyring = stream.backup_keyring()
    with backup.open("rb") as raw:
        chunks = stream.decrypt_chunks(raw, keyring)
        if target.engine == "postgresql":
            _restore_postgresql(chunks, target, keep_privileges)
        else:
            _restore_sqlite(chunks, Path(target.name))
    return manifest


def _restore_postgresql(chunks: Iterable[bytes], target: DatabaseTarget, keep: bool) -> None:
    argv = [_tool("pg_restore"), "--exit-on-error", "--single-transaction", "--no-password"]
    if not keep:
        argv += ["--no-owner", "--no-privileges"]
    argv.append(f"--dbname={target.name}")
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv, stdin=subprocess.PIPE, stderr=errors, env=target.libpq_env()
        )
        try:
            _pipe(chunks, process.stdin)
        except BaseException:
            # One transaction: killing pg_restore leaves the target as it was.
            process.kill()
            process.wait()
            raise
        code = process.wait()
        if code != 0:
            errors.seek(0)
            raise BackupError(f"pg_restore a échoué (code {code}) : {_tail(errors.read())}")


def _pipe(chunks: Iterable[bytes], sink: BinaryIO) -> None:
    try:
        for chunk in chunks:
            sink.write(chunk)
    except BrokenPipeError:
        pass  # pg_restore stopped early; its exit code says why.
    finally:
        with contextlib.suppress(BrokenPipeError):
            sink.close()


def _restore_sqlite(chunks: Iterable[bytes], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial_name = tempfile.mkstemp(prefix=".restore-", dir=path.parent)
    partial = Path(partial_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class StoredBackup:
    path: Path
    created_at: datetime


def backups_list(directory: Path | None = None) -> list[StoredBackup]:
    """Backups in the directory, newest first, by their file name's UTC time."""
    directory = Path(directory or backup_dir())
    found = []
    for path in directory.glob(f"secretariat-*{SUFFIX}"):
        stamp = path.name.removeprefix("secretariat-")[:16]
        try:
            created = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            continue
        found.append(StoredBackup(path, created))
    return sorted(found, key=lambda item: (item.created_at, item.path.name), reverse=True)
