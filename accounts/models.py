from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from accounts.roles import PRACTICE_PERMISSIONS, PRACTICE_ROLES, PROVIDER_PERMISSIONS, Role
from secretariat import crypto


class User(AbstractUser):
    """Our user from the first migration; identity of staff, never of patients."""

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")


class Practice(models.Model):
    """The tenant. Every tenant-owned row carries its own practice_id."""

    class Status(models.TextChoices):
        ONBOARDING = "onboarding", _("En cours d'intégration")
        ACTIVE = "active", _("Actif")
        SUSPENDED = "suspended", _("Suspendu")
        CLOSED = "closed", _("Fermé")

    name = models.CharField(_("nom"), max_length=200)
    slug = models.SlugField(_("identifiant d'URL"), max_length=60, unique=True)
    timezone = models.CharField(_("fuseau horaire"), max_length=64, default="Europe/Paris")
    address = models.TextField(_("adresse"), blank=True)
    specialty = models.CharField(_("spécialité"), max_length=120, blank=True)
    finess = models.CharField(_("numéro FINESS"), max_length=9, blank=True)
    siret = models.CharField(_("numéro SIRET"), max_length=14, blank=True)
    # The contact point a patient is given in a breach notice (GDPR art. 34(2),
    # 33(3)(b)): the practice's DPO, or whoever answers for its personal data.
    dpo_name = models.CharField(
        _("délégué à la protection des données (ou contact)"), max_length=200, blank=True
    )
    dpo_email = models.EmailField(_("courriel du contact données personnelles"), blank=True)
    dpo_phone = models.CharField(
        _("téléphone du contact données personnelles"), max_length=30, blank=True
    )
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.ONBOARDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(_("fermé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("cabinet")
        verbose_name_plural = _("cabinets")
        ordering = ["name"]
        default_permissions = ()
        permissions = [
            *PRACTICE_PERMISSIONS.items(),
            *PROVIDER_PERMISSIONS.items(),
        ]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet):
    def granted(self, on=None):
        """In force on the day for an active account, confirmed or not."""
        today = on or timezone.localdate()
        return self.filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=today),
            starts_on__lte=today,
            user__is_active=True,
        )

    def active(self, on=None):
        """Granted and, for a practice role, confirmed by the practice: the only
        memberships that open anything (accounts.services.membership_confirm)."""
        return self.granted(on).filter(Q(practice__isnull=True) | Q(confirmed_at__isnull=False))

    def pending(self):
        """Practice roles waiting for the practice's confirmation."""
        return self.filter(practice__isnull=False, confirmed_at__isnull=True)


class Membership(models.Model):
    """A role held by a user, in a practice (practice roles) or for the provider."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    role = models.CharField(_("rôle"), max_length=32, choices=Role.choices)
    starts_on = models.DateField(_("début"), default=timezone.localdate)
    ends_on = models.DateField(_("fin"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who granted it (None: a system task), and for a practice role who in the
    # practice confirmed it: until then it opens nothing.
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmé le"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("rôle attribué")
        verbose_name_plural = _("rôles attribués")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "practice", "role"], name="membership_unique_role_in_practice"
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(practice__isnull=True),
                name="membership_unique_provider_role",
            ),
            models.CheckConstraint(
                condition=(Q(role__in=sorted(PRACTICE_ROLES)) & Q(practice__isnull=False))
                | (~Q(role__in=sorted(PRACTICE_ROLES)) & Q(practice__isnull=True)),
                name="membership_practice_matches_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.practice or '—'}"


class ConfidentialityAgreement(models.Model):
    """A version of the charte de confidentialité; the newest published one binds."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    text = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("charte de confidentialité")
        verbose_name_plural = _("chartes de confidentialité")

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class AgreementAcceptance(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="acceptances")
    agreement = models.ForeignKey(ConfidentialityAgreement, on_delete=models.PROTECT)
    accepted_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "agreement"], name="acceptance_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} v{self.agreement_id}"


class TOTPDevice(Device):
    """A TOTP authenticator whose secret is encrypted at rest (django-otp's own
    TOTPDevice keeps it in clear). Verification lives in accounts.otp, under a
    row lock, so that a code is accepted once."""

    encrypted_key = models.BinaryField()
    last_t = models.BigIntegerField(default=-1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("appareil TOTP")

    def _binding(self) -> tuple:
        return ("accounts_totpdevice", "key", "platform", self.user_id)

    def set_secret(self, secret: bytes) -> None:
        self.encrypted_key = crypto.keyring().seal(secret, self._binding())

    def secret(self) -> bytes:
        return crypto.keyring().open(bytes(self.encrypted_key), self._binding())

    def verify_token(self, token) -> bool:
        # accounts.otp locks and updates these models: a cycle within accounts.
        from accounts.otp import verify_device_token  # noqa: PLC0415 -- accounts.otp imports models

        return verify_device_token(device_id=self.pk, token=str(token))


class RecoveryCode(models.Model):
    """A single-use recovery code, stored as a salted HMAC digest only."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    salt = models.BinaryField()
    digest = models.BinaryField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"recovery code {self.pk}"


class UserSession(models.Model):
    """A live login of a user, so that sessions can be listed and ended: by the
    user, at logout, and when a device is reset or the account deactivated."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="live_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    ip_address = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)

    def __str__(self) -> str:
        return f"session of {self.user_id}"


class LoginThrottle(models.Model):
    """Login attempts counted before each password or code is checked (see
    accounts.lockout): one row per username and address, one per username. The
    count is taken and tested in one statement, so parallel attempts cannot all
    pass a check that read the count before any of them was recorded."""

    key = models.CharField(max_length=255, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        verbose_name = _("compteur de tentatives de connexion")
        verbose_name_plural = _("compteurs de tentatives de connexion")

    def __str__(self) -> str:
        return self.key
