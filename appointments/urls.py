from django.urls import path

from appointments.views import agenda, booking, call_messages, reminders, schedule, waiting

app_name = "appointments"

_BASE = "p/<slug:practice>/rendez-vous/"
_ONE = _BASE + "<uuid:appointment>/"

urlpatterns = [
    path(_BASE + "nouveau/", booking.book_view, name="book"),
    path(_BASE + "nouveau/<uuid:patient>/", booking.book_type_view, name="book_type"),
    path(
        _BASE + "nouveau/<uuid:patient>/<int:appointment_type>/",
        booking.book_slot_view,
        name="book_slot",
    ),
    path(
        _BASE + "nouveau/<uuid:patient>/<int:appointment_type>/attente/",
        waiting.waiting_add_view,
        name="waiting_add",
    ),
    path(_BASE + "liste-attente/", waiting.waiting_list_view, name="waiting_list"),
    path(
        _BASE + "liste-attente/<int:entry>/retirer/",
        waiting.waiting_resolve_view,
        name="waiting_resolve",
    ),
    path(_BASE + "agenda/jour/", agenda.my_day_view, name="my_day"),
    path(_BASE + "agenda/semaine/", agenda.my_week_view, name="my_week"),
    path(_BASE + "agenda/cabinet/", agenda.practice_day_view, name="practice_day"),
    path(_BASE + "reglages/", schedule.settings_view, name="settings"),
    path(_BASE + "reglages/types/nouveau/", schedule.type_new_view, name="type_new"),
    path(
        _BASE + "reglages/types/<int:appointment_type>/", schedule.type_edit_view, name="type_edit"
    ),
    path(
        _BASE + "reglages/praticiens/<int:practitioner>/", schedule.schedule_view, name="schedule"
    ),
    path(
        _BASE + "reglages/plages/<int:hours>/supprimer/",
        schedule.hours_delete_view,
        name="hours_delete",
    ),
    path(
        _BASE + "reglages/absences/<int:absence>/supprimer/",
        schedule.absence_delete_view,
        name="absence_delete",
    ),
    path(_BASE + "mes-horaires/", schedule.my_schedule_view, name="my_schedule"),
    path(
        _BASE + "mes-horaires/plages/<int:hours>/supprimer/",
        schedule.my_hours_delete_view,
        name="my_hours_delete",
    ),
    path(
        _BASE + "mes-horaires/absences/<int:absence>/supprimer/",
        schedule.my_absence_delete_view,
        name="my_absence_delete",
    ),
    path(_ONE, booking.detail_view, name="detail"),
    path(_ONE + "deplacer/", booking.move_view, name="move"),
    path(_ONE + "annuler/", booking.cancel_view, name="cancel"),
    path(_ONE + "statut/", booking.status_view, name="status"),
    path(
        "p/<slug:practice>/rappels/a-verifier/",
        reminders.reminders_to_check_view,
        name="reminders_to_check",
    ),
    path(
        "p/<slug:practice>/rappels/<int:reminder>/renvoyer/",
        reminders.reminder_resend_view,
        name="reminder_resend",
    ),
    path(
        "p/<slug:practice>/rappels/<int:reminder>/ecarter/",
        reminders.reminder_dismiss_view,
        name="reminder_dismiss",
    ),
    path("p/<slug:practice>/messages/", call_messages.inbox_view, name="inbox"),
    path("p/<slug:practice>/messages/nouveau/", call_messages.message_new_view, name="message_new"),
    path(
        "p/<slug:practice>/messages/<uuid:message>/traite/",
        call_messages.message_handle_view,
        name="message_handle",
    ),
]
