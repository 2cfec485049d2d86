"""`make test` is the way to run the suite: plain pytest without its environment
stops at once saying so, and the chromium it names is the one the browser tests
drive."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.conftest import chromium_path
from tests.conftest import MAKE_TEST_ENVIRONMENT, missing_test_environment

ROOT = Path(__file__).resolve().parent.parent


def test_plain_pytest_without_the_make_test_environment_stops_before_collecting():
    env = {k: v for k, v in os.environ.items() if k not in MAKE_TEST_ENVIRONMENT}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_docs.py", "-p", "no:cov"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 4  # pytest's usage error
    assert "run the suite with `make test`" in result.stderr
    assert "Missing or wrong here: SECRETARIAT_ENV, DATABASE_URL, CELERY_BROKER_URL" in (
        result.stderr
    )
    assert "collected" not in result.stdout


def test_a_sqlite_database_is_not_the_make_test_environment():
    environ = {
        "SECRETARIAT_ENV": "test",
        "DATABASE_URL": "sqlite:///db.sqlite3",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/2",
    }
    assert missing_test_environment(environ) == ["DATABASE_URL"]
    environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/secretariat"
    assert missing_test_environment(environ) == []


def test_the_browser_tests_drive_the_chromium_named_by_chromium_path(monkeypatch, tmp_path):
    monkeypatch.setenv("CHROMIUM_PATH", str(tmp_path / "chromium"))
    assert chromium_path() == str(tmp_path / "chromium")


def test_make_test_passes_chromium_path_to_pytest():
    # Not the variables of a `make test` running this test.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    result = subprocess.run(
        ["make", "-n", "test", "CHROMIUM_PATH=/opt/chromium/chrome"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert 'CHROMIUM_PATH="/opt/chromium/chrome"' in result.stdout
    assert 'test -x "/opt/chromium/chrome"' in result.stdout
    assert "apt-get install -y -qq chromium" not in result.stdout


def test_every_test_that_starts_a_celery_worker_takes_turns(request):
    """Two workers on the one broker take each other's messages (and a test's
    purge empties the other's queue): every test of a module that starts one
    holds the shared-services lock, marked or not."""
    root = Path(request.config.rootpath)
    starting = {
        str(path.relative_to(root))
        for path in (root / "tests").rglob("test_*.py")
        if "start_worker(" in path.read_text()
    }
    assert "tests/appointments/test_worker.py" in starting
    items = [item for item in request.session.items if item.nodeid.split("::")[0] in starting]
    if not items:
        pytest.skip("no module that starts a worker is collected in this run")
    assert all(item.get_closest_marker("shared_services") for item in items)
