"""Continuity and compliance records. None of these rows is tenant data: they
describe the platform (backups, drills, alerts) and its staff (training)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    RUNNING = "running", _("En cours")
    SUCCESS = "success", _("Réussi")
    FAILURE = "failure", _("Échec")


class BackupRun(models.Model):
    """One backup attempt. A scheduled run carries its day, unique, so that a
    retried or duplicated daily task makes one backup."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateField(null=True, blank=True, unique=True)
    file_name = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    # An error class or code, never a database message (it could quote data).
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"backup {self.pk} {self.outcome}"


class DrillResult(models.Model):
    """A restore drill: the latest backup restored into a scratch database and checked."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateField(null=True, blank=True, unique=True)
    backup_file = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    # Identifiers and counts only: table names, chain keys, event ids, counts.
    details = models.JSONField(default=dict)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"drill {self.pk} {self.outcome}"


class TrainingSession(models.Model):
    """A security and confidentiality training session and who attended it."""

    date = models.DateField(_("date"))
    topic = models.CharField(_("thème"), max_length=200)
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="training_sessions", verbose_name=_("participants")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date} {self.topic}"
