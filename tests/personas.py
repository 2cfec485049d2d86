"""Personas per role and practice. Practice A and practice B each hold data, so
that a test of "does not leak" has something that could leak."""

from dataclasses import dataclass, field

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import Practice, User, UserSession
from accounts.roles import Role
from accounts.sessions import SESSION_LAST_SEEN, SESSION_STARTED
from tests.factories import PracticeFactory, UserFactory, agreement, enrol_device, grant

PERSONAS = [
    "anonymous",
    "telesecretary_a",
    "telesecretary_ab",
    "practitioner_a",
    "practitioner_b",
    "manager_a",
    "compliance_officer",
    "platform_admin",
    "no_role",
]


@dataclass
class World:
    practice_a: Practice
    practice_b: Practice
    users: dict[str, User]
    objects: dict[str, object] = field(default_factory=dict)

    def client(self, persona: str) -> Client:
        if persona == "anonymous":
            return Client()
        return verified_client(self.users[persona])


def verified_client(user: User) -> Client:
    """A client past both login steps and the charter, like a real session."""
    from django.utils import timezone

    device = user.totpdevice_set.filter(confirmed=True).first() or enrol_device(user)
    current = agreement()
    user.acceptances.get_or_create(agreement=current)
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    now = timezone.now().isoformat()
    session[SESSION_STARTED] = now
    session[SESSION_LAST_SEEN] = now
    session.save()
    UserSession.objects.create(user=user, session_key=session.session_key)
    return client


def build_world() -> World:
    practice_a = PracticeFactory(name="Cabinet A", slug="cabinet-a")
    practice_b = PracticeFactory(name="Cabinet B", slug="cabinet-b")
    users = {
        "telesecretary_a": grant(UserFactory(username="tele_a"), Role.TELESECRETARY, practice_a),
        "telesecretary_ab": grant(
            grant(UserFactory(username="tele_ab"), Role.TELESECRETARY, practice_a),
            Role.TELESECRETARY,
            practice_b,
        ),
        "practitioner_a": grant(UserFactory(username="dr_a"), Role.PRACTITIONER, practice_a),
        "practitioner_b": grant(UserFactory(username="dr_b"), Role.PRACTITIONER, practice_b),
        "manager_a": grant(UserFactory(username="manager_a"), Role.PRACTICE_MANAGER, practice_a),
        "compliance_officer": grant(UserFactory(username="dpo"), Role.COMPLIANCE_OFFICER),
        "platform_admin": grant(UserFactory(username="admin"), Role.PLATFORM_ADMIN),
        "no_role": UserFactory(username="nobody"),
    }
    return World(practice_a=practice_a, practice_b=practice_b, users=users)
