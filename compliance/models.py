"""Compliance: the one alert inbox of the provider, retention policies, breach
incidents and access reviews. Alerts and incidents are provider records (a
practice is named on them, nullable), not tenant rows."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


class Alert(models.Model):
    """Something a compliance officer must look at. Details hold identifiers and
    counts only (never health data); the fingerprint makes raising idempotent."""

    class Kind(models.TextChoices):
        CHAIN_BROKEN = "chain_broken", _("Chaîne d'audit rompue")
        DIGEST_MISMATCH = "digest_mismatch", _("Empreinte signée non conforme")
        BACKUP_FAILED = "backup_failed", _("Échec de sauvegarde")
        BACKUP_MISSING = "backup_missing", _("Aucune sauvegarde récente")
        DRILL_FAILED = "drill_failed", _("Échec de l'exercice de restauration")
        MASS_ACCESS = "mass_access", _("Ouverture massive de dossiers")
        OFF_HOURS_ACCESS = "off_hours_access", _("Accès hors horaires du cabinet")
        ACCESS_PROBING = "access_probing", _("Accès refusés répétés")
        LOCKOUT = "lockout", _("Compte verrouillé")
        NEW_IP = "new_ip", _("Connexion depuis une nouvelle adresse")
        TASK_FAILURE = "task_failure", _("Échec d'une tâche de fond")
        BREAK_GLASS = "break_glass", _("Accès d'urgence")

    class Severity(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Avertissement")
        CRITICAL = "critical", _("Critique")

    kind = models.CharField(_("type"), max_length=32, choices=Kind.choices)
    severity = models.CharField(
        _("gravité"), max_length=16, choices=Severity.choices, default=Severity.WARNING
    )
    practice = models.ForeignKey(
        "accounts.Practice",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    fingerprint = models.CharField(max_length=200, unique=True)
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(_("commentaire"), max_length=1000, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["-id"],
                condition=models.Q(acknowledged_at__isnull=True),
                name="compliance_alert_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.fingerprint[:16]}"


# Severity of each kind when the caller does not say.
DEFAULT_SEVERITY = {
    Alert.Kind.CHAIN_BROKEN: Alert.Severity.CRITICAL,
    Alert.Kind.DIGEST_MISMATCH: Alert.Severity.CRITICAL,
    Alert.Kind.BACKUP_FAILED: Alert.Severity.CRITICAL,
    Alert.Kind.BACKUP_MISSING: Alert.Severity.CRITICAL,
    Alert.Kind.DRILL_FAILED: Alert.Severity.CRITICAL,
    Alert.Kind.MASS_ACCESS: Alert.Severity.WARNING,
    Alert.Kind.OFF_HOURS_ACCESS: Alert.Severity.INFO,
    Alert.Kind.ACCESS_PROBING: Alert.Severity.WARNING,
    Alert.Kind.LOCKOUT: Alert.Severity.INFO,
    Alert.Kind.NEW_IP: Alert.Severity.INFO,
    Alert.Kind.TASK_FAILURE: Alert.Severity.WARNING,
    Alert.Kind.BREAK_GLASS: Alert.Severity.WARNING,
}


class DetectorCursor(models.Model):
    """The last audit event id a detector pass has read: a rerun starts after it
    (and alert fingerprints make a replayed window harmless anyway)."""

    name = models.CharField(max_length=64, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}@{self.last_event_id}"


class DataKind(models.TextChoices):
    APPOINTMENTS = "appointments", _("Rendez-vous passés")
    CALL_MESSAGES = "call_messages", _("Messages d'appel")
    REMINDERS = "reminders", _("Journal des rappels")
    AUDIT_EVENTS = "audit_events", _("Journal d'audit")


class RetentionPolicy(models.Model):
    """How long a practice keeps one kind of data, in days, within the bounds of
    compliance/retention.py. No row means the legal default."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("données"), max_length=32, choices=DataKind.choices)
    days = models.PositiveIntegerField(_("durée (jours)"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "kind"], name="retention_policy_unique")
        ]

    def __str__(self) -> str:
        return f"{self.practice_id}:{self.kind}={self.days}"
