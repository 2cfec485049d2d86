import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from secretariat import crypto


class Invitation(models.Model):
    """A single-use, expiring invitation. Only a digest of the token is stored;
    the token is made by the task that mails the link, which exists in the
    e-mail alone (until then the digest is of a token nobody holds)."""

    email = models.EmailField(_("adresse e-mail"))
    first_name = models.CharField(_("prénom"), max_length=150)
    last_name = models.CharField(_("nom"), max_length=150)
    role = models.CharField(_("rôle"), max_length=32, choices=Role.choices)
    practice = models.ForeignKey(
        "accounts.Practice", null=True, blank=True, on_delete=models.CASCADE
    )
    token_digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Scheme and host the admin used: the e-mail's link is made by a task.
    link_origin = models.CharField(max_length=200, blank=True)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation {self.pk}"

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class ProcessingContract(models.Model):
    """The practice's data processing agreement (GDPR art. 28); the signed PDF is
    stored encrypted, bound to this row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE)
    version = models.CharField(_("version"), max_length=40)
    signed_on = models.DateField(_("date de signature"))
    encrypted_pdf = models.BinaryField()
    pdf_size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-signed_on"]

    def __str__(self) -> str:
        return f"contrat {self.version}"

    def _binding(self) -> tuple:
        return ("onboarding_processingcontract", "pdf", self.practice_id, self.pk)

    def set_pdf(self, content: bytes) -> None:
        self.encrypted_pdf = crypto.keyring().seal(content, self._binding())
        self.pdf_size = len(content)

    def pdf(self) -> bytes:
        return crypto.keyring().open(bytes(self.encrypted_pdf), self._binding())


class DeviceReset(models.Model):
    """The recorded identity check behind the reset of a lost TOTP device."""

    class Method(models.TextChoices):
        IN_PERSON = "in_person", _("En personne, pièce d'identité vérifiée")
        VIDEO = "video", _("Visioconférence avec pièce d'identité")
        CALLBACK = "callback", _("Rappel au numéro professionnel connu")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="device_resets"
    )
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(_("vérification d'identité"), max_length=16, choices=Method.choices)
    reference = models.CharField(_("référence de la vérification"), max_length=80)
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"reset {self.user_id}"
