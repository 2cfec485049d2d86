from django.urls import path

from appointments import reminder_views, views

app_name = "appointments"

_BASE = "p/<slug:practice>/rendez-vous/"
_ONE = _BASE + "<uuid:appointment>/"

urlpatterns = [
    path(_BASE + "nouveau/", views.book_view, name="book"),
    path(_BASE + "nouveau/<uuid:patient>/", views.book_type_view, name="book_type"),
    path(
        _BASE + "nouveau/<uuid:patient>/<int:appointment_type>/",
        views.book_slot_view,
        name="book_slot",
    ),
    path(
        _BASE + "nouveau/<uuid:patient>/<int:appointment_type>/attente/",
        views.waiting_add_view,
        name="waiting_add",
    ),
    path(_BASE + "liste-attente/", views.waiting_list_view, name="waiting_list"),
    path(
        _BASE + "liste-attente/<int:entry>/retirer/",
        views.waiting_resolve_view,
        name="waiting_resolve",
    ),
    path(_BASE + "agenda/jour/", views.my_day_view, name="my_day"),
    path(_BASE + "agenda/semaine/", views.my_week_view, name="my_week"),
    path(_BASE + "agenda/cabinet/", views.practice_day_view, name="practice_day"),
    path(_BASE + "reglages/", views.settings_view, name="settings"),
    path(_BASE + "reglages/types/nouveau/", views.type_new_view, name="type_new"),
    path(_BASE + "reglages/types/<int:appointment_type>/", views.type_edit_view, name="type_edit"),
    path(_BASE + "reglages/praticiens/<int:practitioner>/", views.schedule_view, name="schedule"),
    path(
        _BASE + "reglages/plages/<int:hours>/supprimer/",
        views.hours_delete_view,
        name="hours_delete",
    ),
    path(
        _BASE + "reglages/absences/<int:absence>/supprimer/",
        views.absence_delete_view,
        name="absence_delete",
    ),
    path(_ONE, views.detail_view, name="detail"),
    path(_ONE + "deplacer/", views.move_view, name="move"),
    path(_ONE + "annuler/", views.cancel_view, name="cancel"),
    path(_ONE + "statut/", views.status_view, name="status"),
    path(
        "p/<slug:practice>/rappels/a-verifier/",
        reminder_views.reminders_to_check_view,
        name="reminders_to_check",
    ),
    path(
        "p/<slug:practice>/rappels/<int:reminder>/renvoyer/",
        reminder_views.reminder_resend_view,
        name="reminder_resend",
    ),
    path(
        "p/<slug:practice>/rappels/<int:reminder>/ecarter/",
        reminder_views.reminder_dismiss_view,
        name="reminder_dismiss",
    ),
    path("p/<slug:practice>/messages/", views.inbox_view, name="inbox"),
    path("p/<slug:practice>/messages/nouveau/", views.message_new_view, name="message_new"),
    path(
        "p/<slug:practice>/messages/<uuid:message>/traite/",
        views.message_handle_view,
        name="message_handle",
    ),
]
