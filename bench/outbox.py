"""Outbox benchmark: python -m bench.outbox [--rounds N]

What a committed action pays to hand a task over (outbox/services.py): one
transaction that writes the outbox row, then the on-commit relay publishing it.
Three cases, N rounds each (default 50), medians and ratios against the baseline:
1. baseline: the same transaction writing the row, no relay (nothing published);
2. broker up: the configured CELERY_BROKER_URL (make bench: the run's Redis);
3. broker down: a local port where nothing listens (the row stays, for the sweep).

Runs in its own throw-away database (bench_outbox_<DATABASE name>); the messages
published in case 2 are purged from the broker afterwards (no worker runs them).
"""

import argparse
import os
import socket
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from outbox import services  # noqa: E402
from outbox.models import OutboxTask  # noqa: E402
from secretariat.celery import app  # noqa: E402

TASK = "compliance.tasks.notice_mail"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _time(rounds: int, enqueue) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        with transaction.atomic():
            enqueue()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    rounds = parser.parse_args().rounds
    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})["NAME"] = f"bench_outbox_{settings_dict['NAME']}"
    old_name = settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    app.conf.task_always_eager = False
    try:
        baseline = _time(rounds, lambda: OutboxTask.objects.create(task=TASK, kwargs={}))
        up = _time(rounds, lambda: services.enqueue(TASK, notice_id=0))
        published = rounds - OutboxTask.objects.filter(kwargs={"notice_id": 0}).count()
        app.conf.broker_write_url = f"redis://127.0.0.1:{_closed_port()}/0"
        down = _time(rounds, lambda: services.enqueue(TASK, notice_id=1))
        kept = OutboxTask.objects.filter(kwargs={"notice_id": 1}).count()
        app.conf.broker_write_url = None
        app.control.purge()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print(f"rounds: {rounds}")
    print(f"baseline (row only)   {baseline:7.2f} ms")
    print(f"broker up             {up:7.2f} ms  {up / baseline:5.1f}x  published {published}")
    print(f"broker down           {down:7.2f} ms  {down / baseline:5.1f}x  kept {kept}")


if __name__ == "__main__":
    main()
