import importlib.util
import os
import re
import secrets
import subprocess
import sys
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.urls import reverse

from secretariat.crypto import new_keyring_value

ROOT = Path(__file__).resolve().parent.parent
# The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment never has it.
_NOT_INHERITED = {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _run(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    """Run with this environment updated by env_overrides (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env.update(env_overrides)
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_with_production_settings_is_clean():
    result = _run(
        {
            "SECRETARIAT_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "SECRETARIAT_KEYRING": new_keyring_value(),
            "ALLOWED_HOSTS": "secretariat.example.org",
            "DEBUG": "false",
            "AUDIT_DIGEST_EXPORT_DIR": "/srv/audit-digests",
        },
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr


def test_production_refuses_to_start_without_keyring():
    env = {"SECRETARIAT_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(64)}
    env["AUDIT_DIGEST_EXPORT_DIR"] = "/srv/audit-digests"  # refused for the keyring alone
    env["SECRETARIAT_KEYRING"] = ""
    result = _run(env, "manage.py", "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRETARIAT_KEYRING holds no key." in result.stderr


def _load_settings(monkeypatch, **env: str | None):
    """secretariat/settings.py executed afresh in this process, with env applied
    (None: unset): start-up refusals without the cost of a subprocess."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        "settings_under_test", ROOT / "secretariat" / "settings.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AUDIT_SIGNING_KEY", "short-signing-key", "AUDIT_SIGNING_KEY must be at least 32 "),
        ("AUDIT_VERIFY_WORKERS", "0", "AUDIT_VERIFY_WORKERS must be at least 1."),
        ("AUDIT_VERIFY_WORKERS", "four", "AUDIT_VERIFY_WORKERS must be a whole number."),
        ("SESSION_IDLE_MINUTES", "16", "SESSION_IDLE_MINUTES must be at most 15."),
        ("SESSION_ABSOLUTE_HOURS", "13", "SESSION_ABSOLUTE_HOURS must be at most 12."),
        ("AXES_FAILURE_LIMIT", "5.5", "AXES_FAILURE_LIMIT must be a whole number."),
        ("TRAINING_TRACKING_START", "2026-13-01", "TRAINING_TRACKING_START must be a date"),
        ("SECRETARIAT_KEYRING", "", "SECRETARIAT_KEYRING holds no key."),
        ("SECRETARIAT_KEYRING", "1:not*base64", "SECRETARIAT_KEYRING must read '1:<base64>"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(monkeypatch, name, value, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)) as refused:
        _load_settings(monkeypatch, **{name: value})
    if value:
        assert value not in str(refused.value)  # a bad value may be a secret


def test_an_empty_audit_digest_export_dir_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="AUDIT_DIGEST_EXPORT_DIR must name"):
        _load_settings(monkeypatch, AUDIT_DIGEST_EXPORT_DIR="")


def test_a_missing_required_variable_is_named_with_where_it_comes_from(monkeypatch):
    monkeypatch.setenv("SECRETARIAT_ENV", "production")
    with pytest.raises(ImproperlyConfigured) as refused:
        _load_settings(monkeypatch, AUDIT_DIGEST_EXPORT_DIR=None)
    assert str(refused.value).startswith("Set the AUDIT_DIGEST_EXPORT_DIR environment variable")
    assert "make run" in str(refused.value)


def test_good_values_are_read_as_before(monkeypatch):
    loaded = _load_settings(
        monkeypatch,
        SESSION_IDLE_MINUTES="15",
        SESSION_ABSOLUTE_HOURS="12",
        TRAINING_TRACKING_START="2026-01-05",
        AUDIT_VERIFY_WORKERS="3",
    )
    assert loaded.SESSION_IDLE_TIMEOUT == timedelta(minutes=15)
    assert loaded.SESSION_ABSOLUTE_LIFETIME == timedelta(hours=12)
    assert loaded.TRAINING_TRACKING_START == date(2026, 1, 5)
    assert loaded.AUDIT_VERIFY_WORKERS == 3
    assert _load_settings(monkeypatch, TRAINING_TRACKING_START="").TRAINING_TRACKING_START is None


def _production_env() -> dict:
    return {
        "SECRETARIAT_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "SECRETARIAT_KEYRING": new_keyring_value(),
        "ALLOWED_HOSTS": "secretariat.example.org",
    }


def test_production_refuses_to_start_without_audit_digest_export_dir():
    env = {**_production_env(), "AUDIT_DIGEST_EXPORT_DIR": None}
    result = _run(env, "manage.py", "check")
    assert result.returncode != 0
    assert "Set the AUDIT_DIGEST_EXPORT_DIR environment variable" in result.stderr


def test_production_refuses_to_start_with_an_empty_audit_digest_export_dir():
    result = _run({**_production_env(), "AUDIT_DIGEST_EXPORT_DIR": ""}, "manage.py", "check")
    assert result.returncode != 0
    assert "AUDIT_DIGEST_EXPORT_DIR must name" in result.stderr


def test_audit_digest_export_dir_defaults_under_var_outside_production():
    env = {"SECRETARIAT_ENV": "dev", "AUDIT_DIGEST_EXPORT_DIR": None}
    code = "from django.conf import settings; print(settings.AUDIT_DIGEST_EXPORT_DIR)"
    result = _run(env, "manage.py", "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(ROOT / "var" / "audit-digests")
    assert "/var/" in (ROOT / ".gitignore").read_text().splitlines()


def test_sqlite_embedded_default_migrates_seeds_and_serves_login(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "SECRETARIAT_ENV": "dev"}
    for command in (["migrate", "-v", "0"], ["seed_demo"]):
        result = _run(env, "manage.py", *command)
        assert result.returncode == 0, result.stderr[-3000:]
    _assert_sqlite_audit_is_append_only(tmp_path / "db.sqlite3")
    port = _free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**full_env, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = _fetch_when_up(f"http://127.0.0.1:{port}/connexion/")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "Connexion" in body
    assert '<html lang="fr">' in body


def _assert_sqlite_audit_is_append_only(path) -> None:
    # After every migration (a table rebuilt by SQLite loses its triggers).
    import sqlite3

    with closing(sqlite3.connect(path)) as database:
        assert database.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] > 0
        for statement in ("UPDATE audit_auditevent SET role = 'x'", "DELETE FROM audit_auditevent"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                database.execute(statement)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fetch_when_up(url: str) -> str:
    import time
    import urllib.request

    for _ in range(100):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                return response.read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


@pytest.mark.parametrize("password", ["short-pw-1", "x" * 65, "password123456", "123456789012345"])
def test_weak_or_oversized_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


@pytest.mark.parametrize("password", ["tele.martintele.martin", "TeleMartin-2026-TeleMartin"])
def test_password_containing_the_username_is_refused(password):
    from accounts.models import User

    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=User(username="tele.martin"))
    assert [error.code for error in refused.value.error_list] == ["password_contains_username"]


def test_long_passphrase_up_to_64_characters_is_accepted():
    validate_password("une phrase de passe longue et tout à fait correcte " + "x" * 13)


def test_production_password_hasher_is_pbkdf2():
    from secretariat import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("PBKDF2PasswordHasher")


@pytest.mark.django_db
def test_security_headers_on_every_page(client):
    response = client.get(reverse("accounts:login"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Request-ID"]


@pytest.mark.django_db
def test_session_cookie_is_httponly_and_samesite(world):
    from tests.accounts.helpers import password_step
    from tests.factories import enrol_device

    enrol_device(world.users["telesecretary_a"])
    from django.test import Client

    client = Client()
    password_step(client, "tele_a")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


@pytest.mark.django_db
def test_error_page_is_generic_with_reference(world):
    response = world.client("telesecretary_a").get("/p/does-not-exist/")
    assert response.status_code == 404
    body = response.content.decode()
    assert response["X-Request-ID"] in body
    assert "Traceback" not in body


@pytest.mark.django_db
def test_stylesheet_is_served_without_debug(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert b"--accent" in b"".join(response.streaming_content)
