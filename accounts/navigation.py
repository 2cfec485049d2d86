"""What a role can do in a practice, as links on the practice home page.
Each app adds its entry points here: (permission codename, url name, label)."""

from django.utils.translation import gettext_lazy as _

PRACTICE_ACTIONS: list[tuple[str, str, str]] = [
    ("view_patient_identity", "patients:search", _("Rechercher un patient")),
    ("change_patient_identity", "patients:create", _("Nouveau patient")),
    ("view_clinical_notes", "patients:break_glass_list", _("Revue des accès d'urgence")),
    ("book_appointment", "appointments:book", _("Prendre un rendez-vous")),
    ("book_appointment", "appointments:waiting_list", _("Liste d'attente")),
    ("view_own_agenda", "appointments:my_day", _("Mon agenda du jour")),
    ("view_own_agenda", "appointments:my_week", _("Mon agenda de la semaine")),
    ("view_practice_agenda", "appointments:practice_day", _("Agenda du cabinet")),
    ("manage_practice_settings", "appointments:settings", _("Agendas : types et horaires")),
    ("leave_call_message", "appointments:message_new", _("Laisser un message au praticien")),
    ("read_call_messages", "appointments:inbox", _("Mes messages d'appel")),
]


def practice_actions(request) -> list[dict]:
    from django.urls import reverse

    from accounts.permissions import has_practice_perm

    slug = request.practice.slug
    return [
        {"url": reverse(url_name, args=[slug]), "label": label}
        for codename, url_name, label in PRACTICE_ACTIONS
        if has_practice_perm(request, codename)
    ]
