"""Processes for the multi-node tests: a PgBouncer in transaction mode and web
nodes (gunicorn) serving the test database through it, as production would."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from accounts.dbroles import APP

# The test process's own environment stays out (it names the test database's
# superuser, and the browser tests' async flag), as in tests/test_settings.py.
_NOT_INHERITED = {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None
    )


def _wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{what} stopped at start (exit {process.returncode})")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def pgbouncer(pool_size: int, users: tuple[str, ...] = (APP,)) -> Iterator[int]:
    """PgBouncer in transaction mode in front of 127.0.0.1:5432; yields its port.
    At most `pool_size` server connections per database and user; `users` may log
    in (trust, like the machine's PostgreSQL)."""
    # Its own directory, readable by the postgres user PgBouncer runs as (pytest's
    # tmp_path is private to root).
    with tempfile.TemporaryDirectory(prefix="pgbouncer-") as name:
        directory = Path(name)
        directory.chmod(0o755)
        with _pgbouncer(directory, pool_size, users) as port:
            yield port


@contextmanager
def _pgbouncer(directory: Path, pool_size: int, users: tuple[str, ...]) -> Iterator[int]:
    binary = pgbouncer_binary()
    port = free_port()
    users_file = directory / "users.txt"
    users_file.write_text("".join(f'"{user}" ""\n' for user in users))
    config = directory / "pgbouncer.ini"
    config.write_text(
        "[databases]\n* = host=127.0.0.1 port=5432\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {users_file}\n"
        f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 200\n"
        f"logfile = {directory / 'pgbouncer.log'}\npidfile = {directory / 'pgbouncer.pid'}\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    command = [binary, str(config)]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(directory, "postgres")
        for path in (users_file, config):
            shutil.chown(path, "postgres")
        command = [binary, "-u", "postgres", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, process, "pgbouncer")
        yield port
    finally:
        _stop(process)


def pooled_url(port: int) -> str:
    """The test database as the application role, through the pooler."""
    return f"postgres://{APP}@127.0.0.1:{port}/{settings.DATABASES['default']['NAME']}"


@contextmanager
def web_node(database_url: str) -> Iterator[str]:
    """A gunicorn web node on its own port; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env.update(
        DATABASE_URL=database_url,
        DATABASE_TRANSACTION_POOLER="1",
        DATABASE_POOL="1",  # as in production: connections kept between requests
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        SECRETARIAT_KEYRING=settings.SECRETARIAT_KEYRING,
        SECRETARIAT_KEYRING_CURRENT=str(settings.SECRETARIAT_KEYRING_CURRENT),
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
    )
    command = [sys.executable, "-m", "gunicorn", "secretariat.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--threads", "4", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)
    try:
        _wait_for_port(port, process, "gunicorn")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=30) as ready:
            assert ready.status == 200
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)
