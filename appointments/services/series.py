"""Recurring series: all occurrences or none."""

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Practice, User
from appointments import selectors
from appointments.models import (
    Appointment,
    AppointmentSeries,
    AppointmentType,
)
from appointments.services import booking
from appointments.services.base import (
    BookingError,
    TypeNotBookable,
    check_date,
)
from audit.context import Actor
from audit.models import Action
from audit.services import record_event

SERIES_MAX = 52


def series_starts(
    practice: Practice, first_start: datetime, every_weeks: int, count: int
) -> list[datetime]:
    """The same local weekday and time every `every_weeks` weeks, rebuilt on
    each date's own UTC offset (09:00 stays 09:00 across a DST change)."""
    zone = selectors.practice_zone(practice)
    local = first_start.astimezone(zone)
    return [
        datetime.combine(
            local.date() + timedelta(weeks=every_weeks * index), local.time(), tzinfo=zone
        ).astimezone(UTC)
        for index in range(count)
    ]


@transaction.atomic
def appointment_series_book(
    *,
    practice: Practice,
    practitioner: User,
    patient,
    appointment_type: AppointmentType,
    first_start: datetime,
    every_weeks: int,
    count: int,
    reason: str,
    actor: Actor,
) -> AppointmentSeries:
    """All occurrences or none: when some cannot be booked, nothing is, and the
    error names the dates that failed so that another time can be chosen."""
    check_date(first_start)
    if not 1 <= every_weeks <= 8 or not 2 <= count <= SERIES_MAX:
        raise BookingError(_("Une série compte de 2 à 52 rendez-vous, espacés de 1 à 8 semaines."))
    series = AppointmentSeries.objects.create(
        practice=practice,
        practitioner=practitioner,
        every_weeks=every_weeks,
        count=count,
        created_by=actor.user,
    )
    failed: list[str] = []
    zone = selectors.practice_zone(practice)
    for start in series_starts(practice, first_start, every_weeks, count):
        try:
            booking.appointment_book(
                practice=practice,
                practitioner=practitioner,
                patient=patient,
                appointment_type=appointment_type,
                start=start,
                reason=reason,
                actor=actor,
                series=series,
            )
        except TypeNotBookable:
            raise
        except BookingError:
            failed.append(start.astimezone(zone).strftime("%d/%m/%Y"))
    if failed:
        raise BookingError(
            _("Série non réservée : ces dates ne sont pas libres à cette heure : %(dates)s.")
            % {"dates": ", ".join(failed)}
        )
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=practice,
        object_type="appointment_series",
        object_id=series.pk,
        detail={"count": count, "every_weeks": every_weeks, "patient": str(patient.pk)},
    )
    return series


@transaction.atomic
def appointment_series_cancel(
    *,
    appointment: Appointment,
    category: str,
    actor: Actor,
) -> int:
    """Cancel this occurrence and every later booked one of its series."""
    if appointment.series_id is None:
        raise BookingError(_("Ce rendez-vous ne fait pas partie d'une série."))
    later = Appointment.objects.filter(
        practice_id=appointment.practice_id,
        series_id=appointment.series_id,
        status=Appointment.Status.BOOKED,
        start__gte=appointment.start,
    ).order_by("start")
    cancelled = 0
    for occurrence in later:
        booking.appointment_cancel(appointment=occurrence, category=category, actor=actor)
        cancelled += 1
    return cancelled
