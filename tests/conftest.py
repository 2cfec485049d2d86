import fcntl
import functools
import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.db.backends.postgresql.operations import DatabaseOperations
from django.db.backends.signals import connection_created
from django.utils import translation

from accounts.dbroles import APP, MAINTENANCE, OWNER
from tests import dbroles
from tests.personas import World, build_world

# What `make test` sets (Makefile): without it the suite would run on SQLite with
# tasks in process and fail in misleading ways, so it stops before collecting.
MAKE_TEST_ENVIRONMENT = {
    "SECRETARIAT_ENV": "test",
    "DATABASE_URL": "postgres://",
    "CELERY_BROKER_URL": "redis://",
}


def missing_test_environment(environ=os.environ) -> list[str]:
    return [
        name
        for name, prefix in MAKE_TEST_ENVIRONMENT.items()
        if not environ.get(name, "").startswith(prefix)
    ]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    missing = missing_test_environment()
    if missing:
        raise pytest.UsageError(
            "run the suite with `make test` (pytest's arguments in PYTEST_ARGS=…, your own"
            " database and Redis in PG_URL=… and REDIS_URL=…): it starts PostgreSQL and Redis,"
            " compiles the translations, finds chromium and sets SECRETARIAT_ENV=test,"
            " DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis). Missing or wrong here: "
            + ", ".join(missing)
            + "."
        )


def _session_settings(sender, connection, **kwargs):
    # pytest-django empties the database between transactional tests with
    # TRUNCATE; the audit trigger lets the owner (or a superuser) through only
    # when the session says so (see audit/migrations/0013). Tests of the trigger
    # turn it off. Then the session takes its role (tests/dbroles.py).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET secretariat.audit_maintenance = 'on'")
        dbroles.on_connection(connection)


connection_created.connect(_session_settings)

_flush = DatabaseOperations.execute_sql_flush


def _flush_as_owner(self, sql_list):
    # The application role holds no TRUNCATE privilege: the flush is the owner's.
    with dbroles.as_role(OWNER, self.connection):
        _flush(self, sql_list)


DatabaseOperations.execute_sql_flush = _flush_as_owner


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    # Before pytest-django creates the test database: the roles, the test login.

    dbroles.prepare(connections["default"].settings_dict)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # Created and migrated as the owner; everything else runs as the application.
    from django.conf import settings

    dbroles.set_session_role(APP)
    connections.close_all()
    if dbroles.enabled():
        default = connections["default"].settings_dict
        settings.DATABASE_MAINTENANCE_URL = dbroles.login_url(default, MAINTENANCE)
    yield
    dbroles.set_session_role(OWNER)
    with django_db_blocker.unblock():
        connections.close_all()


@pytest.fixture
def database_roles(django_db_setup) -> None:
    """For tests that prove something about the roles: skipped without them."""
    if not dbroles.enabled():
        pytest.skip("needs the database roles (DATABASE_URL naming a superuser)")


@pytest.fixture(autouse=True)
def _french_to_begin_with():
    # A request served in English leaves English active in the thread (the locale
    # middleware activates and never deactivates): each test starts in French.
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Speed only: production hashing is PBKDF2, checked by test_settings.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _audit_digest_export_dir(settings, tmp_path_factory):
    # The daily digest task writes its export file: never into the checkout, and
    # one directory per test (the nightly verification reads the newest file).
    settings.AUDIT_DIGEST_EXPORT_DIR = tmp_path_factory.mktemp("audit-digests")


@pytest.fixture(autouse=True)
def eager_tasks(request):
    """Tasks handed over by the outbox run in process here (the real worker on
    Redis is exercised by the tests marked `real_worker`, which set up their own)."""
    from secretariat.celery import app

    if request.node.get_closest_marker("real_worker"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


@pytest.fixture
def audit_clock_unchecked(db):
    """For tests that freeze the application's clock (freezegun) and write audit
    events: the database refuses an event dated more than an hour from its own
    clock (audit/migrations/0012), which freezegun cannot move. The check is
    turned off in the test's transaction (rolled back with it), as the table's
    owner can and the application's role cannot."""
    from django.db import connection

    with dbroles.as_role(OWNER), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_clock")
    yield


@pytest.fixture
def world(db) -> World:
    return build_world()


def pytest_terminal_summary(terminalreporter):
    from tests import report

    for section, lines in report.LINES.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)


# Tests that share something outside their own database take turns when the suite
# runs in parallel (`make test`: pytest -n): a Celery worker on the shared Redis
# broker would take another test's messages; the pooler and the replica are one
# each. Marked at collection, they hold a lock file common to the test processes.
SERIAL_DIRECTORIES = ("tests/scaling/", "tests/faults/", "tests/outbox/")
SERIAL_MODULES = ("tests/test_queues.py", "tests/test_beat.py")


def pytest_itemcollected(item):
    path = item.nodeid.split("::")[0]
    if (
        item.get_closest_marker("real_worker")
        or path.startswith(SERIAL_DIRECTORIES)
        or path in SERIAL_MODULES
        or _starts_a_worker(path)
    ):
        item.add_marker(pytest.mark.shared_services)


@functools.cache
def _starts_a_worker(path: str) -> bool:
    """A module that starts a Celery worker takes turns whether or not it says
    so: tests/appointments/test_worker.py did not, and its worker (and its purge
    of the queue) took the faults tests' messages when both ran at once."""
    return "start_worker(" in (Path(__file__).parent.parent / path).read_text()


@pytest.fixture(autouse=True)
def _shared_services_one_at_a_time(request, tmp_path_factory):
    if not request.node.get_closest_marker("shared_services"):
        yield
        return
    # The processes' temporary directories (popen-gw0, popen-gw1…) share a parent.
    lock = tmp_path_factory.getbasetemp().parent / "shared-services.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
