"""Connection pool benchmark (issue 18 item 7): requests/s with Django's
psycopg pool (`DATABASE_POOL`, on in production) against no pool (a new
PostgreSQL connection for each request, `CONN_MAX_AGE` 0), in one run.

    python -m bench.pool                    # 4 clients, 3 rounds of 10 s per workload (~3 min)
    python -m bench.pool --clients 8 --seconds 20 --rounds 5

Two gunicorn servers (bench.booking's, 127.0.0.1 only, `--workers` each) serve
the same throw-away database, one with the pool and one without; the clients
are logged-in telesecretaries (verified sessions). Two workloads:

- booking: GET the proposals page, POST a booking (bench.booking's loop,
  clients spread over the first 20 proposals): attempts/s;
- agenda page: GET the practice's day (view, template, audit write): pages/s.

Rounds are interleaved (each round: pool then none, the order swapped every
round; a configuration runs `--seconds`), min/median/max of the rounds and the
ratio of the medians, against the issue's goal (pool >= 3x none). Errors must
be 0.
"""

import argparse
import http.client
import statistics
import sys
import threading
import time

from django.db import connection

from bench.booking import (
    Desk,
    Server,
    _create_database,
    _practice_with_desks,
    _request,
    run_configuration,
)
from bench.goals import goal


def _pages(port: int, desks: list[Desk], paths: list[str], seconds: float) -> dict:
    """Each client GETs its page in a loop for `seconds`: pages/s."""
    done = [0] * len(desks)
    failed = [0] * len(desks)
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        name, _sep, value = desks[number].cookie.partition("=")
        cookies = {name: value}
        while time.monotonic() < deadline:
            try:
                status, _where, _page = _request(port, "GET", paths[number], cookies)
            except (OSError, http.client.HTTPException):
                failed[number] += 1
                continue
            if status == 200:
                done[number] += 1
            else:
                failed[number] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(desks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"per_s": sum(done) / elapsed, "errors": sum(failed)}


def _connect_ms(database: str, times: int) -> list[float]:
    """A new connection, as a request without the pool opens one: connect,
    Django's per-connection setup, one query, close."""
    from django.db import connections

    samples = []
    for _ in range(times):
        begin = time.perf_counter()
        wrapper = connections.create_connection("default")
        options = {k: v for k, v in wrapper.settings_dict["OPTIONS"].items() if k != "pool"}
        wrapper.settings_dict = {**wrapper.settings_dict, "NAME": database, "OPTIONS": options}
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
        wrapper.close()
        samples.append((time.perf_counter() - begin) * 1e3)
    return samples


def _server_ms(port: int, desk: Desk, path: str, times: int) -> list[float]:
    """The page's own cost on the server: the `Server-Timing` total of each answer."""
    samples = []
    for _ in range(times):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers={"Cookie": desk.cookie})
        response = conn.getresponse()
        response.read()
        conn.close()
        timing = response.getheader("Server-Timing", "")
        samples.append(float(timing.rpartition("total;dur=")[2]))
    return samples


def main() -> int:
    from django.urls import reverse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0, help="per configuration")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    args = parser.parse_args()

    database = _create_database()
    servers: dict[str, Server] = {}
    results: dict[tuple[str, str], list[float]] = {}
    errors = 0
    try:
        desks = _practice_with_desks("pool", args.clients)
        slug = "bench-pool"
        agenda = reverse("appointments:practice_day", args=[slug])
        connection.close()
        servers = {
            "pool": Server(database, args.workers, 1, pool=True),
            "none": Server(database, args.workers, 1, pool=False),
        }
        print(
            f"{args.clients} clients, 2 gunicorn servers of {args.workers} workers (pool on, pool"
            f" off), {args.rounds} rounds of {args.seconds:.0f} s per workload and server",
            flush=True,
        )
        for server in servers.values():  # warm-up: imports, templates, connections
            run_configuration(server.port, desks[:1], attempts=3, seconds=10)
            _pages(server.port, desks[:1], [agenda], 2)
        workloads = {
            # Attempts (a proposals page and a booking POST) per second: the
            # requests served. Clients pick among the first 20 proposals, so
            # few lose their slot to another (a 409 is an answer too).
            "booking (attempts/s)": lambda port: run_configuration(
                port, desks, attempts=10**6, seconds=args.seconds, contended=20
            ),
            "agenda page (pages/s)": lambda port: _pages(
                port, desks, [agenda] * len(desks), args.seconds
            ),
        }
        for number in range(args.rounds):
            order = ("pool", "none") if number % 2 == 0 else ("none", "pool")
            for workload, run in workloads.items():
                for label in order:
                    result = run(servers[label].port)
                    rate = result.get("attempts_per_s", result.get("per_s"))
                    errors += result["errors"]
                    results.setdefault((workload, label), []).append(rate)
        # What a pool can save: a new connection's cost against the page's.
        connect = _connect_ms(database, 30)
        page = _server_ms(servers["pool"].port, desks[0], agenda, 30)
    finally:
        for server in servers.values():
            server.stop()
        connection.creation.destroy_test_db(database, verbosity=0)

    print()
    print(f"{'workload':<24}{'pool min/med/max':>22}{'none min/med/max':>22}   pool / none")
    ratios = {}
    for workload in workloads:
        pool, none = results[workload, "pool"], results[workload, "none"]
        cells = [f"{min(r):.1f}/{statistics.median(r):.1f}/{max(r):.1f}" for r in (pool, none)]
        ratio = ratios[workload] = statistics.median(pool) / statistics.median(none)
        print(f"{workload:<24}{cells[0]:>22}{cells[1]:>22}   {ratio:5.2f}x (goal >= 3x)")
    print(
        f"a new connection (connect, setup, SELECT 1, close), from this process:"
        f" {min(connect):.1f}/{statistics.median(connect):.1f}/{max(connect):.1f} ms;"
        f" the agenda page on the server (Server-Timing total, pool on):"
        f" {min(page):.1f}/{statistics.median(page):.1f}/{max(page):.1f} ms"
    )
    print(f"errors: {errors} (must be 0)")
    for workload, ratio in ratios.items():
        goal(
            issue="18.7",
            figure=f"pool vs none, {workload}, {args.clients} clients, medians",
            measured=ratio,
            unit="x",
            target=3,
            better="higher",
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
