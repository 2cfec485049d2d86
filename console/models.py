"""The phone system's side of the console (issue 14 items 1 and 5): the lines a
practice answers on, and the calls.

Both are provider records (accounts/tenancy.py): the webhook reads a line
before it knows the practice, an agent's console asks which practice rings for
them across practices, and the platform admin counts calls per practice. A
call holds no patient identity: the caller's number is sealed under the
practice's data key and blind-indexed with the practice's phone index (the key
that finds the patients), never stored in clear."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from patients.models import SealedModel


class PhoneLine(models.Model):
    """A number a practice's calls come in on; a practice may have several. A
    practice's public number (E.164), not a patient's: kept in clear."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    number = models.CharField(_("numéro appelé (E.164)"), max_length=20, unique=True)
    label = models.CharField(_("libellé"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("ligne téléphonique")
        verbose_name_plural = _("lignes téléphoniques")
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class Call(SealedModel):
    SEALED = ("caller",)
    # What the record of processing calls the sealed fields (no patient-file
    # section shows a call).
    SEALED_LABELS = {"caller": _("Numéro de l'appelant")}

    class State(models.TextChoices):
        RINGING = "ringing", _("Sonne")
        ANSWERED = "answered", _("Décroché")
        ENDED = "ended", _("Terminé")

    class Outcome(models.TextChoices):
        BOOKED = "booked", _("Rendez-vous pris")
        MOVED = "moved", _("Rendez-vous déplacé")
        CANCELLED = "cancelled", _("Rendez-vous annulé")
        MESSAGE = "message", _("Message laissé")
        INFORMATION = "information", _("Information")
        NO_PATIENT = "no_patient", _("Sans patient")

    class Source(models.TextChoices):
        PHONE_SYSTEM = "cti", _("Standard téléphonique")
        BY_HAND = "manual", _("Saisi à la main")

    # The phone system's own id of the call (an opaque reference, no number).
    call_id = models.CharField(max_length=100)
    source = models.CharField(max_length=8, choices=Source, default=Source.PHONE_SYSTEM)
    line = models.ForeignKey(PhoneLine, null=True, blank=True, on_delete=models.SET_NULL)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The number as the phone system gave it, normalised ("" when hidden).
    caller_sealed = models.BinaryField()
    caller_bidx = models.BinaryField(null=True)
    state = models.CharField(max_length=10, choices=State, default=State.RINGING)
    outcome = models.CharField(max_length=12, choices=Outcome, blank=True)
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("appel")
        verbose_name_plural = _("appels")
        constraints = [
            models.UniqueConstraint(fields=["practice", "call_id"], name="call_once_per_id")
        ]
        indexes = [
            models.Index(fields=["agent", "-started_at"], name="call_agent_recent"),
            models.Index(fields=["practice", "started_at"], name="call_practice_day"),
        ]

    def __str__(self) -> str:
        return f"call {self.pk}"


class MessageReply(SealedModel):
    """A practitioner's answer to a call message, for the telesecretary to give
    the patient on their next call (item 4). Its text is sealed under the
    practice's data key, bound to its row."""

    SEALED = ("text",)

    message = models.ForeignKey(
        "appointments.CallMessage", on_delete=models.CASCADE, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text_sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("réponse à un message d'appel")
        verbose_name_plural = _("réponses aux messages d'appel")
        indexes = [
            models.Index(fields=["practice", "patient", "-created_at"], name="reply_by_patient")
        ]

    def __str__(self) -> str:
        return f"reply {self.pk}"
