"""Liveness and readiness (secretariat/health.py): what a load balancer sees."""

import json

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from accounts.dbroles import OWNER
from audit.models import AuditEvent
from secretariat import health
from secretariat.crypto import keyring
from tests.dbroles import as_role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_migration_check(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


def _probe(client, path, **extra):
    response = client.get(path, HTTP_HOST="10.0.0.7", **extra)
    return response, json.loads(response.content)


def test_live_answers_by_address_without_session_or_audit(client):
    response, body = _probe(client, "/health/live")
    assert response.status_code == 200
    assert body == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert "sessionid" not in response.cookies
    assert not AuditEvent.objects.exists()


def test_a_page_by_address_is_refused_where_the_probe_is_not(client):
    # The probe answers a Host that ALLOWED_HOSTS refuses, because it comes first.
    assert client.get("/connexion/", HTTP_HOST="10.0.0.7").status_code == 400


def test_ready_names_every_check_when_all_pass(client):
    response, body = _probe(client, "/health/ready")
    assert response.status_code == 200
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok", "keyring": "ok"},
    }


def test_ready_fails_on_an_unreachable_broker_and_says_no_more(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response, body = _probe(client, "/health/ready/")
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == "fail"
    assert body["checks"]["database"] == "ok"
    assert "127.0.0.1:1" not in response.content.decode()


@pytest.fixture
def uncached_keyring():
    keyring.cache_clear()  # the process parses the keyring once, at first use
    yield
    keyring.cache_clear()


def test_ready_fails_on_a_broken_keyring_without_showing_it(client, settings, uncached_keyring):
    settings.SECRETARIAT_KEYRING = "1:not*base64"
    response, body = _probe(client, "/health/ready")
    assert response.status_code == 503
    assert body["checks"]["keyring"] == "fail"
    assert "base64" not in response.content.decode()


def test_ready_fails_while_a_migration_is_unapplied(client):
    with as_role(OWNER):
        MigrationRecorder(connection).migration_qs.filter(app="appointments").delete()
    response, body = _probe(client, "/health/ready")
    assert response.status_code == 503
    assert body["checks"]["migrations"] == "fail"


def test_probes_refuse_other_methods(client):
    response = client.post("/health/ready", HTTP_HOST="10.0.0.7")
    assert response.status_code == 405
    assert not AuditEvent.objects.exists()
