"""Patients: identity and clinical notes sealed with the practice's data key,
blind indexes for search, consents, break-glass grants.

A sealed column holds secretariat.crypto's format (its key id is the practice
DEK version); its associated data is (table, column, practice id, row id), so a
ciphertext copied to another row, column or practice does not open. Primary
keys are UUIDs generated in Python so that the row id is known before sealing.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager
from guardian.models import UserObjectPermissionBase

from patients import keys
from secretariat.crypto import DecryptionError


class PracticeKey(models.Model):
    """One version of a practice's data key, wrapped by the keyring. Destroying
    it (crypto-shredding) empties the wrapped keys and stamps destroyed_at."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, db_index=True)
    version = models.PositiveIntegerField()
    wrapped_dek = models.BinaryField()
    wrapped_index_key = models.BinaryField()
    encryptions = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["practice", "version"], name="practicekey_version")
        ]

    def __str__(self) -> str:
        return f"practice {self.practice_id} key v{self.version}"


class SealedModel(models.Model):
    """Rows with sealed columns. SEALED names the logical fields; each is stored
    in `<name>_sealed`."""

    SEALED: tuple[str, ...] = ()

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, db_index=True)
    # The DEK version that sealed this row: rotation moves rows in batches.
    key_version = models.PositiveIntegerField(default=0, db_index=True)

    class Meta:
        abstract = True

    def _binding(self, name: str) -> tuple:
        return (self._meta.db_table, name, self.practice_id, self.pk)

    def read(self, name: str) -> str:
        """The plaintext of one sealed field. Raises DecryptionError (or
        KeyUnavailable) rather than ever returning ciphertext or an empty value."""
        if name not in self.SEALED:
            raise KeyError(name)
        blob = getattr(self, f"{name}_sealed")
        if blob is None:
            raise DecryptionError("no ciphertext")
        return keys.practice_keys(self.practice_id).open(bytes(blob), self._binding(name))

    def write(self, values: dict[str, str]) -> int:
        """Seal the given fields with the practice's current DEK. Returns the
        number of encryptions (counted against the key)."""
        practice_keys = keys.practice_keys(self.practice_id)
        for name, value in values.items():
            if name not in self.SEALED:
                raise KeyError(name)
            setattr(self, f"{name}_sealed", practice_keys.seal(value, self._binding(name)))
        self.key_version = practice_keys.current_version
        return len(values)

    def reseal(self, practice_keys: keys.PracticeKeys) -> None:
        """Open every sealed field and seal it again under the current DEK."""
        for name in self.SEALED:
            blob = getattr(self, f"{name}_sealed")
            plain = practice_keys.open(bytes(blob), self._binding(name))
            setattr(self, f"{name}_sealed", practice_keys.seal(plain, self._binding(name)))
        self.key_version = practice_keys.current_version


IDENTITY_FIELDS = (
    "last_name",
    "birth_name",
    "first_names",
    "birth_date",
    "phone",
    "phone_alt",
    "email",
    "address",
    "nir",
)


class Patient(SealedModel):
    SEALED = IDENTITY_FIELDS

    last_name_sealed = models.BinaryField()
    birth_name_sealed = models.BinaryField()
    first_names_sealed = models.BinaryField()
    birth_date_sealed = models.BinaryField()
    phone_sealed = models.BinaryField()
    phone_alt_sealed = models.BinaryField()
    email_sealed = models.BinaryField()
    address_sealed = models.BinaryField()
    nir_sealed = models.BinaryField()

    # Blind indexes: HMAC-SHA256 of normalised values under per-field keys.
    last_name_bidx = models.BinaryField(null=True)
    birth_name_bidx = models.BinaryField(null=True)
    name_prefix_bidx = models.BinaryField(null=True)
    full_name_bidx = models.BinaryField(null=True)
    birth_date_bidx = models.BinaryField(null=True)
    phone_bidx = models.BinaryField(null=True)
    phone_alt_bidx = models.BinaryField(null=True)

    restricted = models.BooleanField(_("dossier restreint"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The latest activity (appointment end, message, note, consent withdrawal,
    # waiting-list closure) among the patient's rows that the retention purge
    # has already deleted: inactivity is counted from it too, so that purging an
    # old appointment does not make its patient look inactive sooner
    # (compliance/retention.py, docs/retention.md).
    purged_activity_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("patient")
        default_permissions = ()
        permissions = [
            ("view_restricted_notes", _("Voir les notes cliniques d'un dossier restreint")),
        ]
        # Each blind index with the id: a lookup reads its matches in id order
        # and stops at the page (patients.selectors.patient_search).
        indexes = [
            models.Index(fields=["practice", column, "id"], name=f"patient_{name}_bidx_id")
            for column, name in (
                ("last_name_bidx", "last_name"),
                ("birth_name_bidx", "birth_name"),
                ("name_prefix_bidx", "prefix"),
                ("full_name_bidx", "full_name"),
                ("birth_date_bidx", "birth_date"),
                ("phone_bidx", "phone"),
                ("phone_alt_bidx", "phone_alt"),
            )
        ]

    def __str__(self) -> str:
        # Never the name: this string can end up in logs and admin pages.
        return f"patient {self.pk}"


class PatientUserObjectPermission(UserObjectPermissionBase):
    """Direct-foreign-key guardian grants on one patient (restricted records),
    deleted with the patient."""

    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class ClinicalNote(SealedModel):
    SEALED = ("text",)

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text_sealed = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("note clinique")
        verbose_name_plural = _("notes cliniques")
        default_permissions = ()
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["practice", "patient", "-created_at"], name="note_patient")]

    def __str__(self) -> str:
        return f"note {self.pk}"


class Consent(models.Model):
    class Purpose(models.TextChoices):
        INFORMATION = "information", _("Information délivrée")
        SMS_REMINDERS = "sms_reminders", _("Rappels par SMS")
        EMAIL_REMINDERS = "email_reminders", _("Rappels par courriel")

    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, db_index=True)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("objet"), max_length=32, choices=Purpose.choices)
    given_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ScopedManager(practice="practice")

    class Meta:
        default_permissions = ()
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                # practice_id: the schema stays distributable (docs/scaling.md);
                # the patient implies the practice, so the meaning is unchanged.
                fields=["practice", "patient", "purpose"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"consent {self.pk} {self.purpose}"


class BreakGlassGrant(SealedModel):
    """Emergency access to a restricted patient's notes: reason required (sealed,
    it may mention health data), limited in time, audited as break_glass."""

    SEALED = ("reason",)
    DURATION_HOURS = 4

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason_sealed = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("accès d'urgence")
        verbose_name_plural = _("accès d'urgence")
        default_permissions = ()
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["practice", "patient", "user"], name="breakglass_lookup")]

    def __str__(self) -> str:
        return f"break-glass {self.pk}"

    @property
    def active(self) -> bool:
        return self.expires_at > timezone.now()
