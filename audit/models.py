from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class Action(models.TextChoices):
    VIEW = "view", _("Consultation")
    LIST = "list", _("Liste")
    SEARCH = "search", _("Recherche")
    CREATE = "create", _("Création")
    UPDATE = "update", _("Modification")
    DELETE = "delete", _("Suppression")
    EXPORT = "export", _("Export")
    LOGIN = "login", _("Connexion")
    LOGIN_FAILED = "login_failed", _("Échec de connexion")
    OTP_FAILED = "otp_failed", _("Échec du code TOTP")
    LOCKOUT = "lockout", _("Verrouillage")
    LOGOUT = "logout", _("Déconnexion")
    SESSION_EXPIRED = "session_expired", _("Session expirée")
    PERMISSION_DENIED = "permission_denied", _("Accès refusé")
    ROLE_CHANGE = "role_change", _("Changement de rôle")
    DEVICE_ENROLLED = "device_enrolled", _("Appareil TOTP enregistré")
    RECOVERY_CODE_USED = "recovery_code_used", _("Code de secours utilisé")
    AGREEMENT_ACCEPTED = "agreement_accepted", _("Charte acceptée")
    KEY_OPERATION = "key_operation", _("Opération sur une clé")
    BREAK_GLASS = "break_glass", _("Accès d'urgence")
    PURGE = "purge", _("Purge")


class ObjectType(models.TextChoices):
    """What an audit event is about. Stored as its value; the label is what
    French pages and exports show."""

    PATIENT = "patient", _("Patient")
    PATIENT_SEARCH = "patient_search", _("Recherche de patients")
    PATIENT_FORM = "patient_form", _("Formulaire patient")
    CLINICAL_NOTE = "clinical_note", _("Note clinique")
    CONSENT = "consent", _("Consentement")
    BREAK_GLASS_GRANT = "break_glass_grant", _("Accès d'urgence")
    APPOINTMENT = "appointment", _("Rendez-vous")
    APPOINTMENT_SERIES = "appointment_series", _("Série de rendez-vous")
    APPOINTMENT_TYPE = "appointment_type", _("Type de rendez-vous")
    BOOKING = "booking", _("Prise de rendez-vous")
    AGENDA = "agenda", _("Agenda")
    AGENDA_STARTER = "agenda_starter", _("Agenda de départ")
    PRACTITIONER_SCHEDULE = "practitioner_schedule", _("Horaires du praticien")
    PRACTITIONER_SETTINGS = "practitioner_settings", _("Réglages du praticien")
    WORKING_HOURS = "working_hours", _("Horaires de travail")
    ABSENCE = "absence", _("Absence")
    PRACTICE_SETTINGS = "practice_settings", _("Réglages du cabinet")
    CONSOLE = "console", _("Console d'appel")
    CALL = "call", _("Appel")
    CALLS = "calls", _("Journal des appels")
    PHONE_LINE = "phone_line", _("Ligne téléphonique")
    CALL_MESSAGE = "call_message", _("Message d'appel")
    CALL_MESSAGES = "call_messages", _("Messages d'appel")
    CALL_MESSAGE_FORM = "call_message_form", _("Formulaire de message")
    CALL_MESSAGE_REPLY = "call_message_reply", _("Réponse à un message d'appel")
    WAITING_LIST_ENTRY = "waiting_list_entry", _("Liste d'attente")
    REMINDER = "reminder", _("Rappel")
    REMINDERS = "reminders", _("Journal des rappels")
    APPOINTMENTS = "appointments", _("Rendez-vous passés")
    # The other kinds of data the retention purge removes (compliance.models.DataKind).
    WAITING_LIST = "waiting_list", _("Inscriptions closes en liste d'attente")
    CONSENTS = "consents", _("Consentements retirés")
    CLINICAL_NOTES = "clinical_notes", _("Notes cliniques")
    INACTIVE_PATIENTS = "inactive_patients", _("Patients sans activité")
    PRACTICE = "practice", _("Cabinet")
    PRACTICE_KEY = "practice_key", _("Clé du cabinet")
    CONTRACT = "contract", _("Contrat")
    INVITATION = "invitation", _("Invitation")
    MEMBERSHIP = "membership", _("Rattachement")
    USER = "user", _("Utilisateur")
    PASSWORD = "password", _("Mot de passe")
    SESSION = "session", _("Session")
    AGREEMENT = "agreement", _("Charte de confidentialité")
    URL = "url", _("Page")
    PLATFORM_DASHBOARD = "platform_dashboard", _("Tableau de bord de la plateforme")
    AUDIT_EVENT = "audit_event", _("Événement d'audit")
    AUDIT_EVENTS = "audit_events", _("Journal d'audit")
    AUDIT_PATIENT_REPORT = "audit_patient_report", _("Rapport d'accès à un patient")
    AUDIT_PARTITION = "audit_partition", _("Partition du journal d'audit")
    AUDIT_DIGEST_EXPORT = "audit_digest_export", _("Export des empreintes d'audit")
    COMPLIANCE_ALERT = "compliance_alert", _("Alerte de conformité")
    NOTICE = "notice", _("Notification")
    BREACH_INCIDENT = "breach_incident", _("Violation de données")
    PATIENT_BREACH_NOTIFICATION = (
        "patient_breach_notification",
        _("Notification de violation au patient"),
    )
    RETENTION_POLICY = "retention_policy", _("Durée de conservation")
    ACCESS_REVIEW = "access_review", _("Revue des accès")
    PROCESSING_REGISTER = "processing_register", _("Registre des traitements")
    TRAINING_SESSION = "training_session", _("Session de formation")
    TRAINING_STATUS = "training_status", _("Statut de formation")
    BACKUP = "backup", _("Sauvegarde")
    RESTORE_DRILL = "restore_drill", _("Exercice de restauration")
    CALENDAR_FEED = "calendar_feed", _("Abonnement d'agenda")
    API_CLIENT = "api_client", _("Client de l'API")
    FHIR_RESOURCES = "fhir_resources", _("Ressources de l'API FHIR")
    ADMIN = "admin", _("Console technique (admin Django)")

    @classmethod
    def label_of(cls, value: str) -> str:
        """The label of a stored value; an unknown one (from an older version)
        is shown as stored rather than hidden."""
        return cls(value).label if value in cls.values else value


class Outcome(models.TextChoices):
    ALLOWED = "allowed", _("Autorisé")
    DENIED = "denied", _("Refusé")


class AuditChain(models.Model):
    """The head of one hash chain: one per practice plus the platform chain."""

    key = models.CharField(max_length=40, unique=True)
    practice = models.ForeignKey(
        "accounts.Practice", null=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    # occurred_at of the last event: appends never go below it (see chain.append).
    last_occurred_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class AuditEvent(models.Model):
    """Append-only (database triggers refuse UPDATE, DELETE, TRUNCATE). Holds
    identifiers only, never health data in clear. On PostgreSQL the table is
    partitioned by month of occurred_at (migration 0007): its real primary key is
    (id, occurred_at), and (chain, seq) cannot be a unique index there."""

    chain = models.ForeignKey(AuditChain, on_delete=models.DO_NOTHING, db_constraint=False)
    seq = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    practice = models.ForeignKey(
        "accounts.Practice",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    ip_address = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    request_id = models.CharField(max_length=32, blank=True)
    detail = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["chain", "seq"], name="audit_event_chain_seq_idx"),
            models.Index(fields=["practice", "-id"], name="audit_practice_id_desc"),
            models.Index(fields=["actor", "-id"], name="audit_actor_id_desc"),
            models.Index(fields=["object_type", "object_id", "-id"], name="audit_object_id_desc"),
            # The browser's action filter (a rare action like break_glass would
            # otherwise scan the table backwards), and refusals, kept small by
            # the condition.
            models.Index(fields=["action", "-id"], name="audit_action_id_desc"),
            models.Index(
                fields=["-id"], condition=models.Q(outcome="denied"), name="audit_denied_id_desc"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chain_id}#{self.seq} {self.action}"

    @property
    def object_type_label(self) -> str:
        return ObjectType.label_of(self.object_type)


class AuditDigest(models.Model):
    """A signed chain head, written daily: HMAC-SHA256 with AUDIT_SIGNING_KEY (kept
    outside the database), so that rewriting or truncating the newest events and
    resetting the head to match is detected too.

    A checkpoint is the signed last event of a month dropped by retention
    (audit_drop_partitions): verification of the chain starts from it. Its
    signature covers its kind, so a daily digest cannot pass for one (which
    would let someone delete the oldest events up to any daily digest)."""

    class Kind(models.TextChoices):
        DAILY = "daily", _("Empreinte quotidienne")
        CHECKPOINT = "checkpoint", _("Point de reprise (rétention)")

    chain = models.ForeignKey(AuditChain, on_delete=models.PROTECT, related_name="digests")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DAILY)
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain", "kind", "seq"], name="audit_digest_chain_kind_seq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chain_id}@{self.seq}"
