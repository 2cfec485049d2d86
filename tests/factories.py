"""factory_boy factories with no surprises: each builds exactly what it says,
through the same services the application uses."""

from datetime import date

import factory

from accounts import services
from accounts.models import ConfidentialityAgreement, Practice, TOTPDevice, User
from audit.context import Actor


def as_actor(user: User | None = None, role: str = "", practice: Practice | None = None) -> Actor:
    """The actor a service sees: a user acting as `role`, or the test itself as
    a system actor when no user is named."""
    base = Actor(user=user) if user is not None else Actor.system("test")
    actor = base.acting_as(role or base.role)
    return actor.in_practice(practice) if practice is not None else actor


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Prénom"
    last_name = "Nom"
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery-9")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice

    name = factory.Sequence(lambda n: f"Cabinet {n}")
    slug = factory.Sequence(lambda n: f"cabinet-{n}")
    status = Practice.Status.ACTIVE

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        practice = services.practice_create(
            actor=as_actor(), name=kwargs["name"], slug=kwargs["slug"], status=kwargs["status"]
        )
        return practice


# Personas' roles start well before any date a test freezes the clock at: a role
# starting "today" (Paris) is not yet active at a fixed morning of the day before,
# which is what such a test sees when the suite runs after 23:00 UTC.
PERSONAS_SINCE = date(2020, 1, 1)


def grant(
    user: User, role: str, practice: Practice | None = None, starts_on: date = PERSONAS_SINCE
) -> User:
    services.membership_grant(
        actor=as_actor(),
        user=user,
        role=role,
        practice=practice,
        starts_on=starts_on,
        confirmed=True,
    )
    return user


def enrol_device(user: User, secret: bytes = b"12345678901234567890") -> TOTPDevice:
    device = TOTPDevice(user=user, name="TOTP", confirmed=True)
    device.set_secret(secret)
    device.save()
    return device


def agreement(version: int = 1) -> ConfidentialityAgreement:
    found, _ = ConfidentialityAgreement.objects.get_or_create(
        version=version, defaults={"title": "Charte", "text": f"Texte v{version}"}
    )
    return found
