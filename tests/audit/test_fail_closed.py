"""If the audit write fails, the access fails: the page is not served."""

import pytest
from django.urls import reverse

from accounts.dbroles import OWNER
from audit.models import AuditEvent
from tests.audit.helpers import raw
from tests.dbroles import as_role
from tests.personas import build_world

REFUSE_INSERT = """
CREATE FUNCTION test_refuse_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit storage unavailable' USING ERRCODE = 'disk_full';
END;
$$;
CREATE TRIGGER test_refuse_audit_insert BEFORE INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION test_refuse_audit_insert();
"""
ALLOW_INSERT = """
DROP TRIGGER IF EXISTS test_refuse_audit_insert ON audit_auditevent;
DROP FUNCTION IF EXISTS test_refuse_audit_insert();
"""


@pytest.fixture
def refuse_audit_writes():
    # The database refuses the insert, as on a full disk or a revoked privilege:
    # the application code under test runs unchanged. (The trigger is the
    # owner's to create.)
    def refuse() -> None:
        with as_role(OWNER):
            raw(REFUSE_INSERT)

    yield refuse
    with as_role(OWNER):
        raw(ALLOW_INSERT)


@pytest.mark.django_db(transaction=True)
def test_page_is_not_served_when_the_audit_write_fails(refuse_audit_writes):
    world = build_world()
    client = world.client("telesecretary_a")
    client.raise_request_exception = False
    before = AuditEvent.objects.count()
    refuse_audit_writes()

    response = client.get(reverse("accounts:practice_home", args=[world.practice_a.slug]))

    assert response.status_code == 500
    body = response.content.decode()
    assert "Cabinet A" not in body
    assert "Vous intervenez ici" not in body
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_page_is_served_once_the_audit_write_works_again():
    world = build_world()
    client = world.client("telesecretary_a")

    response = client.get(reverse("accounts:practice_home", args=[world.practice_a.slug]))

    assert response.status_code == 200
    assert "Cabinet A" in response.content.decode()
    assert AuditEvent.objects.filter(action="view", object_type="practice").exists()


@pytest.mark.django_db(transaction=True)
def test_audit_trail_is_not_shown_when_its_own_read_cannot_be_recorded(refuse_audit_writes):
    world = build_world()
    client = world.client("compliance_officer")
    client.raise_request_exception = False
    event_id = AuditEvent.objects.latest("id").pk
    refuse_audit_writes()

    listing = client.get(reverse("audit:event_list"))
    detail = client.get(reverse("audit:event_detail", args=[event_id]))
    export = client.post(reverse("audit:export"), {})

    assert [listing.status_code, detail.status_code, export.status_code] == [500, 500, 500]
    assert not export.streaming
    assert AuditEvent.objects.latest("id").pk == event_id
