"""The rules of appointments beyond a role's permission, in one place: the views
and the services apply the same functions (pretalx's rules.py)."""

from datetime import datetime

from accounts.roles import Role
from appointments.models import Appointment, AppointmentType
from appointments.selectors import practice_zone
from audit.context import Actor


def acts_as_telesecretary(actor: Actor) -> bool:
    return actor.role == Role.TELESECRETARY


def may_book_type(actor: Actor, appointment_type: AppointmentType) -> bool:
    """A practice may keep a type for itself: the telesecretariat cannot book it."""
    return not acts_as_telesecretary(actor) or appointment_type.bookable_by_telesecretary


def status_change_open(appointment: Appointment, now: datetime) -> bool:
    """Arrived, absent or done make sense from the appointment's local day on."""
    zone = practice_zone(appointment.practice)
    return appointment.start.astimezone(zone).date() <= now.astimezone(zone).date()
