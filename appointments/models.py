"""Practitioners' schedules, appointment types and appointments.

Every row carries its own practice_id (indexed) and the default manager is
scoped by practice (django-scopes): a query naming no practice fails. Times of
working hours are wall-clock times in the practice's time zone
(Practice.timezone); appointments and absences are stored as aware datetimes
(UTC in the database).
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from patients.models import SealedModel

# The longest an appointment may last (a type lasts at most 480 minutes; on
# PostgreSQL a check constraint holds it, migration 0007). Queries for the
# appointments overlapping a window then bound `start` on both sides, so that the
# (practice, start) and (practitioner, start) indexes read the window and not
# every earlier appointment: see `overlapping`.
MAX_APPOINTMENT_LENGTH = timedelta(days=1)


def overlapping(start, end) -> Q:
    """Appointments overlapping [start, end), bounded on both sides."""
    return Q(start__lt=end, start__gt=start - MAX_APPOINTMENT_LENGTH, end__gt=start)


class Weekday(models.IntegerChoices):
    # Python's date.weekday(): Monday is 0.
    MONDAY = 0, _("lundi")
    TUESDAY = 1, _("mardi")
    WEDNESDAY = 2, _("mercredi")
    THURSDAY = 3, _("jeudi")
    FRIDAY = 4, _("vendredi")
    SATURDAY = 5, _("samedi")
    SUNDAY = 6, _("dimanche")


class Colour(models.TextChoices):
    # A palette of CSS classes rather than free hex values: the CSP forbids
    # inline styles, so a colour is a class name in static/css/app.css.
    BLUE = "blue", _("bleu")
    GREEN = "green", _("vert")
    ORANGE = "orange", _("orange")
    RED = "red", _("rouge")
    PURPLE = "purple", _("violet")
    GREY = "grey", _("gris")


class PractitionerSettings(models.Model):
    """Per-practitioner agenda settings (one row per practitioner and practice).
    Its row is also the lock that serialises bookings of one practitioner."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    slot_minutes = models.PositiveSmallIntegerField(
        _("granularité des créneaux (minutes)"), default=15
    )

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("réglages d'agenda")
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "practitioner"], name="practitioner_settings_unique"
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=240),
                name="practitioner_settings_slot_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner_id} · {self.slot_minutes} min"


class AppointmentType(models.Model):
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("nom"), max_length=100)
    duration_minutes = models.PositiveSmallIntegerField(_("durée (minutes)"), default=15)
    colour = models.CharField(_("couleur"), max_length=16, choices=Colour, default=Colour.BLUE)
    bookable_by_telesecretary = models.BooleanField(
        _("réservable par le télésecrétariat"), default=True
    )
    telesecretary_instructions = models.TextField(
        _("consignes pour le télésecrétariat"), blank=True
    )
    active = models.BooleanField(_("actif"), default=True)
    is_default = models.BooleanField(
        _("proposé par défaut au téléphone"),
        default=False,
        help_text=_(
            "Type présélectionné dans la console quand l'appelant n'a pas encore de "
            "rendez-vous ; un seul par cabinet."
        ),
    )

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("type de rendez-vous")
        verbose_name_plural = _("types de rendez-vous")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=480),
                name="appointment_type_duration_range",
            ),
            # Holds practice_id, as a distributed table's unique constraints must.
            models.UniqueConstraint(
                fields=["practice"],
                condition=Q(is_default=True),
                name="appointment_type_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    """One range of a weekday; a day may hold several (morning, afternoon)."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    weekday = models.PositiveSmallIntegerField(_("jour"), choices=Weekday)
    start_time = models.TimeField(_("début"))
    end_time = models.TimeField(_("fin"))

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("plage horaire")
        verbose_name_plural = _("plages horaires")
        ordering = ["weekday", "start_time"]
        indexes = [models.Index(fields=["practitioner", "weekday"], name="working_hours_by_day")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="working_hours_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


ABSENCE_FIRST = datetime(1900, 1, 1, tzinfo=UTC)
ABSENCE_LAST = datetime(2200, 1, 1, tzinfo=UTC)


class Absence(models.Model):
    class Reason(models.TextChoices):
        HOLIDAY = "holiday", _("Congés")
        TRAINING = "training", _("Formation")
        SICKNESS = "sickness", _("Maladie")
        OTHER = "other", _("Autre")

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    start = models.DateTimeField(_("début"))
    end = models.DateTimeField(_("fin"))
    reason = models.CharField(_("motif"), max_length=16, choices=Reason, default=Reason.OTHER)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("absence")
        ordering = ["start"]
        indexes = [
            models.Index(fields=["practitioner", "start"], name="absence_by_start"),
            # Absences may last months, so their start is not bounded below: the
            # windows read them by their end, which is (only those still running).
            models.Index(fields=["practitioner", "end"], name="absence_by_end"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="absence_end_after_start"),
            # An absolute wall behind the bounds of secretariat/inputs.py (migration 0009).
            models.CheckConstraint(
                condition=Q(start__gte=ABSENCE_FIRST, end__lte=ABSENCE_LAST),
                name="absence_sane_dates",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner_id} {self.start:%Y-%m-%d %H:%M}"


class AppointmentSeries(models.Model):
    """Recurring appointments: the same weekday and local time every
    `every_weeks` weeks, `count` times. Each occurrence is an Appointment."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    every_weeks = models.PositiveSmallIntegerField(_("toutes les (semaines)"), default=1)
    count = models.PositiveSmallIntegerField(_("nombre de rendez-vous"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("série de rendez-vous")
        constraints = [
            models.CheckConstraint(
                condition=Q(every_weeks__gte=1, every_weeks__lte=8, count__gte=2, count__lte=52),
                name="series_bounds",
            )
        ]

    def __str__(self) -> str:
        return f"series {self.pk}"


class Appointment(SealedModel):
    """A booked slot. Like every sealed row (patients.models.SealedModel), its
    UUID primary key is generated in Python so that the row id exists before the
    reason for visit is sealed under the practice's data key, bound to (table,
    column, practice, row). On PostgreSQL an exclusion constraint (migrations
    0002, 0012) refuses two non-cancelled appointments of one practitioner in
    one practice that overlap (across practices, the booking services' lock on
    the practitioner does)."""

    SEALED = ("reason",)

    class Status(models.TextChoices):
        BOOKED = "booked", _("Réservé")
        ARRIVED = "arrived", _("Arrivé")
        NO_SHOW = "no_show", _("Absent (non excusé)")
        DONE = "done", _("Terminé")
        CANCELLED = "cancelled", _("Annulé")

    class CancellationCategory(models.TextChoices):
        PATIENT = "patient", _("À la demande du patient")
        PRACTITIONER = "practitioner", _("Indisponibilité du praticien")
        DUPLICATE = "duplicate", _("Rendez-vous en double")
        OTHER = "other", _("Autre")

    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="appointments"
    )
    start = models.DateTimeField(_("début"))
    end = models.DateTimeField(_("fin"))
    status = models.CharField(_("statut"), max_length=16, choices=Status, default=Status.BOOKED)
    cancellation_category = models.CharField(
        _("motif d'annulation"), max_length=16, choices=CancellationCategory, blank=True
    )
    # The reason for visit as the caller gives it: sealed, read with read("reason").
    reason_sealed = models.BinaryField()
    series = models.ForeignKey(
        AppointmentSeries,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("rendez-vous")
        verbose_name_plural = _("rendez-vous")
        ordering = ["start"]
        indexes = [
            models.Index(fields=["practice", "start"], name="appointment_practice_start"),
            models.Index(fields=["practitioner", "start"], name="appointment_practitioner_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="appointment_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status != self.Status.CANCELLED


class AppointmentEvent(models.Model):
    """The appointment's own history (the audit chain holds the access trail).
    Details hold times and identifiers, never the reason for visit."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Créé")
        MOVED = "moved", _("Déplacé")
        CANCELLED = "cancelled", _("Annulé")
        STATUS = "status", _("Changement de statut")

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    detail = models.JSONField(default=dict)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("historique de rendez-vous")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.appointment_id} {self.kind}"


class CallMessage(SealedModel):
    """A message left by the telesecretary for a practitioner after a call. Its
    text is sealed under the practice's data key, bound to its row."""

    SEALED = ("text",)

    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="call_messages",
    )
    text_sealed = models.BinaryField()
    urgent = models.BooleanField(_("urgent"), default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("message d'appel")
        verbose_name_plural = _("messages d'appel")
        indexes = [
            models.Index(
                fields=["practice", "practitioner", "handled_at", "-created_at"],
                name="call_message_inbox",
            )
        ]

    def __str__(self) -> str:
        return f"message {self.pk}"


class Reminder(models.Model):
    """One reminder of one appointment, recorded under its unique key before it
    is sent, so that a retried or duplicated task never sends it twice.

    `pending` means claimed and being sent; one still pending long after its
    claim was lost mid-send (a worker killed, a gateway that never answered): it
    is never sent again by itself, a person resends or dismisses it
    (appointments/reminders.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En cours d'envoi")
        RESEND = "resend", _("Renvoi demandé")
        SENT = "sent", _("Envoyé")
        SKIPPED = "skipped", _("Non envoyé")
        DISMISSED = "dismissed", _("Écarté")

    # A send takes seconds; a claim this old without a confirmation was lost.
    STUCK_AFTER = timedelta(minutes=15)

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16, default="day_before")
    channel = models.CharField(max_length=16)
    # Where it went, masked ("••••••••••78", "e•••@example.org"): the patient's
    # export says where each reminder was sent without revealing the address.
    destination = models.CharField(max_length=120, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the last attempt was claimed (the first one, or a resend).
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The person who resent or dismissed it, last.
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("rappel")
        constraints = [
            # practice_id: the schema stays distributable (docs/scaling.md); the
            # appointment implies the practice, so the meaning is unchanged.
            models.UniqueConstraint(
                fields=["practice", "appointment", "kind"], name="reminder_once_per_kind"
            )
        ]
        indexes = [
            models.Index(
                fields=["practice", "claimed_at"],
                condition=Q(status="pending"),
                name="reminder_pending",
            )
        ]

    def __str__(self) -> str:
        return f"reminder {self.appointment_id} {self.kind}"


class WaitingListEntry(models.Model):
    """A patient who wants an earlier slot of a type (optionally with one
    practitioner). Open until booked or withdrawn."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="waiting_entries"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.CASCADE, related_name="waiting_entries"
    )
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("inscription en liste d'attente")
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["practice", "appointment_type", "resolved_at", "created_at"],
                name="waiting_open_by_type",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                # practice_id: see Reminder (the patient implies the practice).
                fields=["practice", "patient", "appointment_type"],
                condition=Q(resolved_at__isnull=True),
                name="waiting_one_open_per_type",
            )
        ]

    def __str__(self) -> str:
        return f"waiting {self.pk}"
