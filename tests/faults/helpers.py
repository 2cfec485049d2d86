"""Real faults for the fault tests: an unreachable broker, a worker over the
run's own Redis database. Nothing shared is stopped or flushed: an outage is an
address where nothing listens."""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections

from secretariat.celery import app


def closed_port() -> int:
    """A local port nothing listens on (bound by the kernel, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def broker_down() -> Iterator[None]:
    """Tasks are handed to a broker where nothing listens (not run in process).
    `broker_write_url`, not `broker_url`: the environment's CELERY_BROKER_URL
    takes precedence over the latter in Celery's configuration."""
    saved = {key: app.conf.get(key) for key in ("broker_write_url", "task_always_eager")}
    app.conf.update(
        broker_write_url=f"redis://127.0.0.1:{closed_port()}/0", task_always_eager=False
    )
    try:
        yield
    finally:
        app.conf.update(saved)


def _close_worker_connection(**kwargs) -> None:
    # Runs in the worker's thread after each task: its connection must not
    # outlive the test (TRUNCATE between tests, DROP DATABASE at the end).
    connections.close_all()


@contextmanager
def worker() -> Iterator[None]:
    """A Celery worker in threads of this process, on the run's own broker
    (CELERY_BROKER_URL: make test gives each run its own Redis database)."""
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    task_postrun.connect(_close_worker_connection, weak=False)
    app.control.purge()  # messages left by an interrupted run
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False):
            yield
    finally:
        task_postrun.disconnect(_close_worker_connection)
        app.conf.task_always_eager = saved


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.1)


class Signalled:
    """Set when a Celery signal fires (e.g. task_retry), from any thread."""

    def __init__(self, signal) -> None:
        self.signal = signal
        self.fired = threading.Event()

    def __call__(self, **kwargs) -> None:
        self.fired.set()

    def __enter__(self) -> "Signalled":
        self.signal.connect(self, weak=False)
        return self

    def __exit__(self, *exc) -> None:
        self.signal.disconnect(self)
