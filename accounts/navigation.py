"""What a role can do, as links on the home pages. Each app adds its entry
points here: (permission codename, url name, label)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.permissions import has_practice_perm
from accounts.roles import ROLE_PERMISSIONS
from accounts.selectors import provider_roles

PRACTICE_ACTIONS: list[tuple[str, str, str]] = [
    ("view_patient_identity", "patients:search", _("Rechercher un patient")),
    ("change_patient_identity", "patients:create", _("Nouveau patient")),
    ("view_clinical_notes", "patients:break_glass_list", _("Revue des accès d'urgence")),
    ("book_appointment", "console:practice", _("Console d'appel")),
    ("book_appointment", "appointments:book", _("Prendre un rendez-vous")),
    ("book_appointment", "appointments:waiting_list", _("Liste d'attente")),
    ("book_appointment", "appointments:reminders_to_check", _("Rappels à vérifier")),
    ("view_own_agenda", "appointments:my_day", _("Mon agenda du jour")),
    ("view_own_agenda", "appointments:my_week", _("Mon agenda de la semaine")),
    ("view_own_agenda", "calendarfeed:subscription", _("Mon agenda sur mon téléphone")),
    ("manage_own_schedule", "appointments:my_schedule", _("Mes horaires et absences")),
    ("view_practice_agenda", "appointments:practice_day", _("Agenda du cabinet")),
    ("manage_practice_settings", "accounts:team", _("Équipe : rôles à confirmer")),
    ("manage_practice_settings", "console:practice_calls", _("Appels du cabinet")),
    ("manage_practice_settings", "appointments:settings", _("Agendas : types et horaires")),
    ("manage_practice_settings", "compliance:practice_retention", _("Durées de conservation")),
    (
        "export_patient_data",
        "compliance:practice_incidents",
        _("Violations : informer les patients"),
    ),
    ("leave_call_message", "appointments:message_new", _("Laisser un message au praticien")),
    ("read_call_messages", "appointments:inbox", _("Mes messages d'appel")),
]

# The provider's pages, shown on the home page to the roles holding the permission.
PROVIDER_ACTIONS: list[tuple[str, str, str]] = [
    ("onboard_practices", "platform:dashboard", _("Administration de la plateforme")),
    ("onboard_practices", "console:platform_calls", _("Volume d'appels par cabinet")),
    ("browse_audit_trail", "audit:event_list", _("Journal d'audit")),
    ("manage_compliance", "compliance:alert_list", _("Alertes de conformité")),
    ("manage_compliance", "compliance:retention_index", _("Durées de conservation")),
    ("manage_compliance", "compliance:incident_list", _("Registre des violations de données")),
    ("manage_compliance", "compliance:access_review", _("Revue des accès")),
    ("manage_compliance", "continuity:training", _("Formations à la confidentialité")),
    ("manage_compliance", "continuity:continuity", _("Sauvegardes et exercices de restauration")),
    ("manage_compliance", "compliance:register_index", _("Registre des traitements")),
]


def practice_actions(request) -> list[dict]:
    slug = request.practice.slug
    return [
        {"url": reverse(url_name, args=[slug]), "label": label}
        for codename, url_name, label in PRACTICE_ACTIONS
        if has_practice_perm(request, codename)
    ]


def provider_actions(user) -> list[dict]:
    codenames = set().union(*(ROLE_PERMISSIONS[role] for role in provider_roles(user)))
    return [
        {"url": reverse(url_name), "label": label}
        for codename, url_name, label in PROVIDER_ACTIONS
        if codename in codenames and user.has_perm(f"accounts.{codename}")
    ]
