import datetime

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Membership
from accounts.scoping import practice_scope
from tests.factories import as_actor

pytestmark = pytest.mark.django_db


def test_removed_telesecretary_loses_access_on_next_request(world):
    client = world.client("telesecretary_a")
    url = reverse("accounts:practice_home", args=[world.practice_a.slug])
    assert client.get(url).status_code == 200
    membership = Membership.objects.get(user=world.users["telesecretary_a"])
    services.membership_revoke(actor=as_actor(), membership=membership)
    assert client.get(url).status_code == 404


def test_ended_membership_gives_no_access(world):
    client = world.client("telesecretary_a")
    Membership.objects.filter(user=world.users["telesecretary_a"]).update(
        ends_on=datetime.date.today() - datetime.timedelta(days=1)
    )
    url = reverse("accounts:practice_home", args=[world.practice_a.slug])
    assert client.get(url).status_code == 404


def test_membership_without_guardian_grant_is_refused(world):
    from django.contrib.auth.models import Group

    from accounts.roles import practice_group_name

    group = Group.objects.get(name=practice_group_name(world.practice_a.pk, "telesecretary"))
    group.user_set.remove(world.users["telesecretary_a"])
    url = reverse("accounts:practice_home", args=[world.practice_a.slug])
    assert world.client("telesecretary_a").get(url).status_code == 403


def test_suspended_practice_answers_404(world):
    world.practice_a.status = "suspended"
    world.practice_a.save()
    url = reverse("accounts:practice_home", args=[world.practice_a.slug])
    assert world.client("telesecretary_a").get(url).status_code == 404


def test_practice_scope_refuses_none():
    with pytest.raises(ValueError), practice_scope(None):
        pass


def test_global_permission_holder_gets_no_practice_objects(world):
    from guardian.shortcuts import get_objects_for_user

    from accounts.models import Practice

    user = world.users["compliance_officer"]
    found = get_objects_for_user(
        user, "accounts.view_patient_identity", Practice.objects.all(), accept_global_perms=False
    )
    assert list(found) == []


def test_provider_role_cannot_be_given_a_practice(world):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            user=world.users["no_role"], practice=world.practice_a, role="compliance_officer"
        )
