"""The appointments' part of the patient's file (patients/portability.py):
appointments past and future with their history, reminders sent, call
messages and waiting-list entries."""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.models import (
    Appointment,
    AppointmentEvent,
    CallMessage,
    Reminder,
    WaitingListEntry,
)
from patients.models import Patient
from patients.portability import Row, Section, person, register

CHANNEL_LABELS = {
    "sms": gettext_lazy("SMS"),
    "email": gettext_lazy("Courriel"),
    "none": gettext_lazy("Aucun canal consenti"),
}


def _when(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return "?"
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")


def event_words(event: AppointmentEvent) -> str:
    """The change in words: "Déplacé du 03/03/2026 09:00 au 04/03/2026 10:00"."""
    label = str(event.get_kind_display())
    detail = event.detail or {}
    if event.kind == AppointmentEvent.Kind.MOVED:
        before = (detail.get("before") or {}).get("start")
        after = (detail.get("after") or {}).get("start")
        return _("%(label)s du %(before)s au %(after)s") % {
            "label": label,
            "before": _when(before),
            "after": _when(after),
        }
    if event.kind == AppointmentEvent.Kind.CANCELLED and detail.get("category"):
        category = Appointment.CancellationCategory
        reason = category(detail["category"]).label if detail["category"] in category else "?"
        return f"{label} ({reason})"
    if event.kind == AppointmentEvent.Kind.STATUS and detail.get("after"):
        status = Appointment.Status
        after = status(detail["after"]).label if detail["after"] in status else "?"
        return f"{label} : {after}"
    return label


def _history(appointment: Appointment) -> list[Row]:
    return [
        {
            "id": event.pk,
            "at": event.at,
            "kind": event.kind,
            "description": event_words(event),
            "by": person(event.by),
        }
        for event in appointment.events.all()
    ]


def _appointments(patient: Patient) -> list[Row]:
    found = (
        Appointment.objects.filter(practice_id=patient.practice_id, patient=patient)
        .select_related("practitioner", "appointment_type", "created_by")
        .prefetch_related("events__by")
        .order_by("start", "pk")
    )
    return [
        {
            "id": str(appointment.pk),
            "start": appointment.start,
            "end": appointment.end,
            "practitioner": person(appointment.practitioner),
            "type": appointment.appointment_type.name,
            "reason": appointment.read("reason"),
            "status": appointment.status,
            "status_label": str(appointment.get_status_display()),
            "cancellation_category": appointment.cancellation_category,
            "cancellation_label": str(appointment.get_cancellation_category_display()),
            "created_at": appointment.created_at,
            "created_by": person(appointment.created_by),
            "history": _history(appointment),
        }
        for appointment in found
    ]


def _reminders(patient: Patient) -> list[Row]:
    found = (
        Reminder.objects.filter(practice_id=patient.practice_id, appointment__patient=patient)
        .select_related("appointment")
        .order_by("created_at", "pk")
    )
    return [
        {
            "id": reminder.pk,
            "appointment": str(reminder.appointment_id),
            "appointment_start": reminder.appointment.start,
            "kind": reminder.kind,
            "channel": reminder.channel,
            "channel_label": str(CHANNEL_LABELS.get(reminder.channel, reminder.channel)),
            "destination": reminder.destination,
            "status": reminder.status,
            "status_label": str(reminder.get_status_display()),
            "created_at": reminder.created_at,
            "sent_at": reminder.sent_at,
        }
        for reminder in found
    ]


def _call_messages(patient: Patient) -> list[Row]:
    found = (
        CallMessage.objects.filter(practice_id=patient.practice_id, patient=patient)
        .select_related("practitioner", "author", "handled_by")
        .order_by("created_at", "pk")
    )
    return [
        {
            "id": str(message.pk),
            "created_at": message.created_at,
            "author": person(message.author),
            "practitioner": person(message.practitioner),
            "text": message.read("text"),
            "urgent": message.urgent,
            "handled_at": message.handled_at,
            "handled_by": person(message.handled_by),
        }
        for message in found
    ]


def _waiting_list(patient: Patient) -> list[Row]:
    found = (
        WaitingListEntry.objects.filter(practice_id=patient.practice_id, patient=patient)
        .select_related("appointment_type", "practitioner", "created_by")
        .order_by("created_at", "pk")
    )
    return [
        {
            "id": entry.pk,
            "type": entry.appointment_type.name,
            "practitioner": person(entry.practitioner),
            "created_at": entry.created_at,
            "created_by": person(entry.created_by),
            "resolved_at": entry.resolved_at,
        }
        for entry in found
    ]


register(
    Section(
        key="appointments",
        title=gettext_lazy("Rendez-vous passés et à venir, et leur historique"),
        models=(Appointment, AppointmentEvent),
        columns=(
            ("start", gettext_lazy("Début")),
            ("practitioner", gettext_lazy("Praticien")),
            ("type", gettext_lazy("Type")),
            ("reason", gettext_lazy("Motif")),
            ("status_label", gettext_lazy("Statut")),
            ("cancellation_label", gettext_lazy("Motif d'annulation")),
            ("history", gettext_lazy("Historique")),
        ),
        rows=_appointments,
        order=30,
    )
)
register(
    Section(
        key="reminders",
        title=gettext_lazy("Rappels envoyés"),
        models=(Reminder,),
        columns=(
            ("appointment_start", gettext_lazy("Rendez-vous du")),
            ("channel_label", gettext_lazy("Canal")),
            ("destination", gettext_lazy("Envoyé à (masqué)")),
            ("status_label", gettext_lazy("État")),
            ("sent_at", gettext_lazy("Envoyé le")),
        ),
        rows=_reminders,
        order=40,
    )
)
register(
    Section(
        key="call_messages",
        title=gettext_lazy("Messages d'appel"),
        models=(CallMessage,),
        columns=(
            ("created_at", gettext_lazy("Date")),
            ("author", gettext_lazy("Pris par")),
            ("practitioner", gettext_lazy("Pour")),
            ("text", gettext_lazy("Message")),
            ("urgent", gettext_lazy("Urgent")),
            ("handled_at", gettext_lazy("Traité le")),
        ),
        rows=_call_messages,
        order=50,
    )
)
register(
    Section(
        key="waiting_list",
        title=gettext_lazy("Inscriptions en liste d'attente"),
        models=(WaitingListEntry,),
        columns=(
            ("type", gettext_lazy("Type")),
            ("practitioner", gettext_lazy("Praticien")),
            ("created_at", gettext_lazy("Inscrit le")),
            ("resolved_at", gettext_lazy("Close le")),
        ),
        rows=_waiting_list,
        order=60,
    )
)
