"""The topology's costs, measured on the booking bench (bench.booking) in one run:

    python -m bench.topology                 # 16 clients, <= 20 s per configuration
    python -m bench.topology --clients 8 --seconds 10

Four configurations, each on a fresh practice (the same work for each), with the
same clients looping "proposals page, then book" against gunicorn:
1. baseline: one node, the application role (row security on), straight to PostgreSQL;
2. row security off: the same node logged in as the superuser (policies bypassed);
3. through PgBouncer in transaction mode, at most --pool server connections;
4. two nodes (two gunicorn processes, same settings), the clients split between them.
Each line gives bookings/s, its ratio to the baseline, errors (must be 0) and the
most server connections seen on the database while it ran.
"""

import argparse
import os
import sys
import threading
import time
from contextlib import ExitStack
from urllib.parse import urlsplit

from django.db import connection

from accounts.dbroles import APP
from bench.booking import (
    Server,
    _booked_once,
    _create_database,
    _database_url,
    _practice_with_desks,
    run_configuration,
)
from bench.goals import goal
from tests.scaling.nodes import pgbouncer

WORKERS = 2  # per node: this machine has 2 cores


class Connections:
    """The most server connections on the database, sampled while a block runs."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.most = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        import psycopg

        url = _database_url("postgres")
        with psycopg.connect(url, autocommit=True) as conn:
            while not self._stop.is_set():
                query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                count = conn.execute(query, [self.database]).fetchone()[0]
                self.most = max(self.most, count)
                time.sleep(0.1)

    def __enter__(self) -> "Connections":
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _as(url: str, user: str, port: int | None = None) -> str:
    parts = urlsplit(url)
    netloc = f"{user}@{parts.hostname}:{port or parts.port or 5432}"
    return parts._replace(netloc=netloc).geturl()


def _run(label: str, servers: list[Server], desks: list, attempts: int, seconds: float) -> dict:
    """The clients split evenly between the servers, run at the same time."""
    results: list[dict] = []
    shares = [desks[i :: len(servers)] for i in range(len(servers))]
    threads = [
        threading.Thread(
            target=lambda s=server, d=share: results.append(
                run_configuration(s.port, d, attempts // len(servers), seconds)
            )
        )
        for server, share in zip(servers, shares, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = max(r["elapsed"] for r in results)
    return {
        "label": label,
        "booked": sum(r["booked"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "first_error": next((r["first_error"] for r in results if r["first_error"]), ""),
        "bookings_per_s": sum(r["booked"] for r in results) / elapsed,
    }


def _configuration(label, env, nodes, database, clients, attempts, seconds) -> dict:
    desks = _practice_with_desks(label, clients)
    connection.close()
    with ExitStack() as stack:
        servers = [
            stack.enter_context(_serving(database, env)) for _ in range(nodes)
        ]  # fmt: skip
        for server in servers:  # warm-up: imports, templates, connections
            run_configuration(server.port, desks[:1], attempts=3, seconds=10)
        with Connections(database) as seen:
            result = _run(label, servers, desks, attempts, seconds)
    result["connections"] = seen.most
    return result


class _serving:
    def __init__(self, database: str, env: dict) -> None:
        self.server = Server(database, WORKERS, 1, pool=True, env=env)

    def __enter__(self) -> Server:
        return self.server

    def __exit__(self, *exc) -> None:
        self.server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--attempts", type=int, default=400)
    parser.add_argument("--pool", type=int, default=4, help="PgBouncer server connections")
    args = parser.parse_args()
    database = _create_database()
    superuser = urlsplit(_database_url(database)).username or "postgres"
    app_url = _as(_database_url(database), APP)
    run = {"database": database, "clients": args.clients}
    run |= {"attempts": args.attempts, "seconds": args.seconds}
    results = []
    try:
        results.append(_configuration("t-base", {"DATABASE_URL": app_url}, 1, **run))
        results.append(
            _configuration("t-norls", {"DATABASE_URL": _database_url(database)}, 1, **run)
        )
        with pgbouncer(args.pool, users=(APP, superuser)) as port:
            pooled = {"DATABASE_URL": _as(app_url, APP, port), "DATABASE_TRANSACTION_POOLER": "1"}
            results.append(_configuration("t-pooled", pooled, 1, **run))
        results.append(_configuration("t-nodes", {"DATABASE_URL": app_url}, 2, **run))
        _print(results, args)
        failed = any(r["errors"] for r in results)
        for label in ("t-base", "t-norls", "t-pooled", "t-nodes"):
            count, distinct = _booked_once(label)
            failed |= count != distinct
    finally:
        connection.close()
        connection.creation.destroy_test_db(database, verbosity=0)
    return 1 if failed else 0


NAMES = {
    "t-base": "1 node, row security on (baseline)",
    "t-norls": "1 node, row security bypassed",
    "t-pooled": "1 node, through PgBouncer",
    "t-nodes": "2 nodes",
}


def _print(results: list[dict], args) -> None:
    print(
        f"{args.clients} clients, <= {args.attempts} attempts or {args.seconds:.0f} s each, "
        f"{WORKERS} gunicorn workers per node, PgBouncer pool {args.pool}\n"
    )
    baseline = results[0]["bookings_per_s"]
    print(
        f"{'configuration':<38} {'bookings/s':>10} {'ratio':>6} {'errors':>6} {'server conns':>12}"
    )
    for r in results:
        print(
            f"{NAMES[r['label']]:<38} {r['bookings_per_s']:>10.1f} "
            f"{r['bookings_per_s'] / baseline:>5.2f}x {r['errors']:>6} {r['connections']:>12}"
            + (f"   first error: {r['first_error']}" if r["first_error"] else "")
        )
    ratio = {r["label"]: r["bookings_per_s"] / baseline for r in results}
    goal(
        issue="17",
        figure=f"row security's cost on the booking bench, bypassed / on, {args.clients} clients",
        measured=ratio["t-norls"],
        unit="x",
        target=1.05,
        better="lower",
    )
    goal(
        issue="17",
        figure=f"through PgBouncer vs direct, bookings/s, {args.clients} clients",
        measured=ratio["t-pooled"],
        unit="x",
        target=1,
        better="higher",
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
    sys.exit(main())
