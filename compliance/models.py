"""Compliance: the one alert inbox of the provider, retention policies, breach
incidents and access reviews. Alerts and incidents are provider records (a
practice is named on them, nullable), not tenant rows."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
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
        REMINDER_STUCK = "reminder_stuck", _("Rappels de rendez-vous non confirmés")
        ROLE_GRANT = "role_grant", _("Rôle dans un cabinet attribué par le prestataire")
        RESTRICTION_CHANGE = "restriction_change", _("Restriction d'un dossier modifiée")
        SHRED_REFUSED = (
            "shred_refused",
            _("Clés d'un cabinet fermé conservées : pas de restitution"),
        )

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
    Alert.Kind.REMINDER_STUCK: Alert.Severity.WARNING,
    Alert.Kind.ROLE_GRANT: Alert.Severity.WARNING,
    Alert.Kind.RESTRICTION_CHANGE: Alert.Severity.WARNING,
    Alert.Kind.SHRED_REFUSED: Alert.Severity.WARNING,
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
    WAITING_LIST = "waiting_list", _("Inscriptions closes en liste d'attente")
    CONSENTS = "consents", _("Consentements retirés")
    CLINICAL_NOTES = "clinical_notes", _("Notes cliniques")
    INACTIVE_PATIENTS = "inactive_patients", _("Patients sans activité")
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


class PurgeSchedule(models.Model):
    """The period the purge applies to one kind of data of a practice, and the
    period announced to replace it. A period shorter than the one applied (or
    the first one) takes effect only `retention.NOTICE_DAYS` after it was
    announced (dry run first); a longer one at once. No row: never announced,
    never purged (compliance/retention.py)."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=DataKind.choices)
    applied_days = models.PositiveIntegerField(null=True)
    announced_days = models.PositiveIntegerField(null=True)
    announced_at = models.DateTimeField(null=True)
    due_at = models.DateTimeField(null=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "kind"], name="purge_schedule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.practice_id}:{self.kind}={self.applied_days}->{self.announced_days}"


class BreachIncident(models.Model):
    """A personal data breach (GDPR art. 33/34) in the provider's register.
    Free-text fields describe the breach, never a patient's data."""

    class Status(models.TextChoices):
        OPEN = "open", _("En cours")
        AUTHORITY_NOTIFIED = "authority_notified", _("Autorité notifiée")
        CLOSED = "closed", _("Clos")

    AUTHORITY_DEADLINE_HOURS = 72

    detected_at = models.DateTimeField(_("découvert le"))
    nature = models.TextField(_("nature de la violation"), max_length=2000)
    data_categories = models.TextField(_("catégories de données"), max_length=1000)
    people_categories = models.TextField(_("catégories de personnes"), max_length=1000)
    approx_people = models.PositiveIntegerField(_("nombre approximatif de personnes"), null=True)
    approx_records = models.PositiveIntegerField(
        _("nombre approximatif d'enregistrements"), null=True
    )
    likely_consequences = models.TextField(_("conséquences probables"), max_length=2000)
    measures_taken = models.TextField(_("mesures prises ou envisagées"), max_length=2000)
    # What a patient can do to protect themselves (art. 34(2), 33(3)(d): measures
    # proposed to mitigate the possible adverse effects), in plain words.
    patient_advice = models.TextField(
        _("recommandations aux personnes concernées"), max_length=2000, blank=True
    )
    practices = models.ManyToManyField(
        "accounts.Practice", related_name="+", verbose_name=_("cabinets concernés")
    )
    # Optional: ids of the affected patients (identifiers only), for art. 34 notices.
    patient_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.OPEN)
    authority_notified_at = models.DateTimeField(_("autorité notifiée le"), null=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-detected_at"]
        indexes = [
            models.Index(
                fields=["detected_at"],
                condition=models.Q(authority_notified_at__isnull=True),
                name="breach_awaiting_authority",
            )
        ]

    def __str__(self) -> str:
        return f"incident {self.pk}"

    @property
    def deadline(self):
        return self.detected_at + timedelta(hours=self.AUTHORITY_DEADLINE_HOURS)


class Notification(models.Model):
    """An e-mail recorded under a unique key BEFORE it is sent, so that it is
    sent once however often (or concurrently) the sending job runs."""

    key = models.CharField(max_length=160, unique=True)
    incident = models.ForeignKey(
        BreachIncident, null=True, on_delete=models.CASCADE, related_name="notifications"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.key


class PatientNotification(models.Model):
    """The art. 34 notice to one affected patient: drafted at declaration,
    approved and sent by a practitioner of the practice."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SENT = "sent", _("Envoyée")

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey(
        BreachIncident, on_delete=models.CASCADE, related_name="patient_notifications"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True)
    emailed = models.BooleanField(default=False)
    # The text approved by the practitioner, frozen at approval: what is mailed
    # is what was read, even if the register entry changes afterwards.
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "patient"], name="patient_notification_unique"
            )
        ]
        indexes = [models.Index(fields=["practice", "incident"], name="patient_notif_practice")]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.patient_id}"


class AccessReviewCampaign(models.Model):
    """One periodic review of who holds which role where."""

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"revue {self.pk}"


class AccessReviewDecision(models.Model):
    """A confirmation or revocation of one membership during a campaign. The
    membership is named by id, user, practice and role: a revoked one is deleted."""

    class Decision(models.TextChoices):
        CONFIRM = "confirm", _("Confirmé")
        REVOKE = "revoke", _("Révoqué")

    campaign = models.ForeignKey(
        AccessReviewCampaign, on_delete=models.PROTECT, related_name="decisions"
    )
    membership_id = models.BigIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    practice = models.ForeignKey(
        "accounts.Practice", null=True, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=32)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "membership_id"], name="access_review_decision_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.membership_id}={self.decision}"


class Notice(models.Model):
    """A notification to one member of staff: shown in the application (the
    inbox, with its unread count in the header) and e-mailed by a task when they
    have an address. Recorded under a unique key, so an event notifies each
    person once however often its job runs. `role` is the role it is addressed
    to (blank: to the person whatever their roles); the inbox shows it while the
    recipient holds that role (in `practice` for a practice role). Params hold
    identifiers, counts and dates only, never health data; the texts are made
    from them when shown (compliance/notices.py), in the reader's language."""

    class Kind(models.TextChoices):
        ALERT = "alert", _("Alerte de conformité")
        BREACH_DECLARED = "breach_declared", _("Violation de données concernant le cabinet")
        BREACH_DEADLINE = "breach_deadline", _("Échéance de notification à l'autorité")
        REMINDERS_STUCK = "reminders_stuck", _("Rappels de rendez-vous à vérifier")
        TRAINING_DUE = "training_due", _("Formation à la confidentialité à renouveler")
        ACCESS_REVIEW_DUE = "access_review_due", _("Revue des accès à mener")
        ROLE_REVIEWED = "role_reviewed", _("Rôle revu")
        ROLE_GRANTED = "role_granted", _("Nouveau rôle")
        PURGE_PLANNED = "purge_planned", _("Purge de données programmée")
        ADDRESS_MISSING = "address_missing", _("Destinataire sans adresse e-mail")

    class Mail(models.TextChoices):
        PENDING = "pending", _("Courriel à envoyer")
        SENT = "sent", _("Courriel envoyé")
        NO_ADDRESS = "no_address", _("Pas d'adresse e-mail : dans l'application seulement")

    key = models.CharField(max_length=200, unique=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=32, blank=True)
    practice = models.ForeignKey(
        "accounts.Practice", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("type"), max_length=32, choices=Kind.choices)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    mail = models.CharField(max_length=16, choices=Mail.choices, default=Mail.PENDING)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notice_inbox"),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="notice_unread",
            ),
            models.Index(
                fields=["id"], condition=models.Q(mail="pending"), name="notice_mail_pending"
            ),
        ]

    def __str__(self) -> str:
        return self.key
