"""A real streaming replica for tests/scaling/test_replica.py: a primary cluster
of our own (the machine's cluster allows no replication connection), holding a
copy of the test database, and a standby made from it by pg_basebackup."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.scaling.nodes import free_port

BIN = Path("/usr/lib/postgresql")


def postgres_bin() -> Path | None:
    versions = sorted(BIN.glob("*/bin/initdb")) if BIN.is_dir() else []
    return versions[-1].parent if versions else None


@dataclass(frozen=True)
class Pair:
    primary_port: int
    replica_port: int
    directory: Path


def _as_postgres(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def _configure(data: Path, port: int, sockets: Path) -> None:
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{sockets}'\nfsync = off\nfull_page_writes = off\n"
            "shared_buffers = 16MB\nmax_connections = 40\n"
        )


def _start(binaries: Path, data: Path) -> None:
    _as_postgres(
        [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(data / "log"), "-w", "start"]
    )


def _stop(binaries: Path, data: Path) -> None:
    _as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])


@contextmanager
def primary_and_replica(source_database: str) -> Iterator[Pair]:
    """Our own primary holding a copy of `source_database` (schema, rows, roles
    from the machine's cluster) and a hot standby streaming from it."""
    binaries = postgres_bin()
    with tempfile.TemporaryDirectory(prefix="replica-") as name:
        directory = Path(name)
        directory.chmod(0o755)
        shutil.chown(directory, "postgres") if os.geteuid() == 0 else None
        primary, replica = directory / "primary", directory / "replica"
        ports = free_port(), free_port()
        _as_postgres(
            [str(binaries / "initdb"), "-D", str(primary), "-A", "trust", "-U", "postgres"]
        )
        _configure(primary, ports[0], directory)
        _start(binaries, primary)
        try:
            _copy_database(source_database, ports[0])
            _as_postgres(
                [str(binaries / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(ports[0]),
                 "-U", "postgres", "-D", str(replica), "-R", "-X", "stream"]
            )  # fmt: skip
            with (replica / "postgresql.conf").open("a") as conf:
                conf.write(f"port = {ports[1]}\n")
            _start(binaries, replica)
            try:
                yield Pair(ports[0], ports[1], directory)
            finally:
                _stop(binaries, replica)
        finally:
            _stop(binaries, primary)


def _copy_database(source_database: str, port: int) -> None:
    machine = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
    ours = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    roles = subprocess.run(
        ["pg_dumpall", *machine, "--roles-only"], check=True, capture_output=True, text=True
    ).stdout
    subprocess.run(
        ["psql", *ours, "-q", "-d", "postgres"], input=roles, capture_output=True, text=True
    )
    subprocess.run(["createdb", *ours, source_database], check=True)
    dump = subprocess.run(
        ["pg_dump", *machine, "-Fc", source_database], check=True, capture_output=True
    ).stdout
    subprocess.run(
        ["pg_restore", *ours, "--disable-triggers", "-d", source_database],
        input=dump,
        capture_output=True,
    )
