"""Roles and what each may do: the one place later apps extend.

Practice roles hold object permissions on their Practice (granted to one group
per practice and role); provider roles hold global permissions through one
group per role. A codename listed here must exist in Practice.Meta.permissions.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.context import SYSTEM_ROLE


class Role(models.TextChoices):
    TELESECRETARY = "telesecretary", _("Télésecrétaire")
    PRACTITIONER = "practitioner", _("Praticien")
    PRACTICE_MANAGER = "practice_manager", _("Responsable du cabinet")
    COMPLIANCE_OFFICER = "compliance_officer", _("Délégué à la conformité")
    PLATFORM_ADMIN = "platform_admin", _("Administrateur de la plateforme")


PRACTICE_ROLES = frozenset({Role.TELESECRETARY, Role.PRACTITIONER, Role.PRACTICE_MANAGER})
PROVIDER_ROLES = frozenset({Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN})

# Object permissions on a Practice (checked with the Practice as the object).
PRACTICE_PERMISSIONS = {
    "view_practice_home": _("Voir l'accueil du cabinet"),
    "view_patient_identity": _("Voir l'identité et les coordonnées des patients"),
    "change_patient_identity": _("Créer et modifier l'identité des patients"),
    "view_clinical_notes": _("Voir les notes cliniques"),
    "change_clinical_notes": _("Écrire les notes cliniques"),
    "export_patient_data": _("Exporter le dossier d'un patient"),
    "book_appointment": _("Prendre, déplacer et annuler des rendez-vous"),
    "view_practice_agenda": _("Voir l'agenda du cabinet"),
    "view_own_agenda": _("Voir son propre agenda"),
    "leave_call_message": _("Laisser un message d'appel"),
    "read_call_messages": _("Lire ses messages d'appel"),
    "manage_practice_settings": _("Gérer les réglages du cabinet"),
    "manage_own_schedule": _("Régler ses propres horaires et absences"),
}

# Global permissions of the provider's roles (never granted on a practice).
PROVIDER_PERMISSIONS = {
    "browse_audit_trail": _("Consulter et exporter le journal d'audit"),
    "manage_compliance": _("Gérer alertes, incidents et conservation"),
    "onboard_practices": _("Créer des cabinets et gérer leurs utilisateurs"),
    "reset_devices": _("Réinitialiser un appareil TOTP perdu"),
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.TELESECRETARY: frozenset(
        {
            "view_practice_home",
            "view_patient_identity",
            "change_patient_identity",
            "book_appointment",
            "view_practice_agenda",
            "leave_call_message",
        }
    ),
    Role.PRACTITIONER: frozenset(
        {
            "view_practice_home",
            "view_patient_identity",
            "change_patient_identity",
            "view_clinical_notes",
            "change_clinical_notes",
            "export_patient_data",
            "book_appointment",
            "view_practice_agenda",
            "view_own_agenda",
            "read_call_messages",
            # Their own hours and absences only, never a colleague's (docs/decisions.md).
            "manage_own_schedule",
        }
    ),
    Role.PRACTICE_MANAGER: frozenset(
        {
            "view_practice_home",
            "view_practice_agenda",
            "manage_practice_settings",
        }
    ),
    Role.COMPLIANCE_OFFICER: frozenset({"browse_audit_trail", "manage_compliance"}),
    Role.PLATFORM_ADMIN: frozenset({"onboard_practices", "reset_devices"}),
}


def role_label(value: str | None) -> str:
    """A role's name for people (the audit trail keeps the code); a system
    actor's is named too; another value (of an older version) shows as it is."""
    if value == SYSTEM_ROLE:
        return str(_("Système (tâche automatique)"))
    return Role(value).label if value in Role.values else (value or "")


def practice_group_name(practice_id: int, role: str) -> str:
    return f"practice-{practice_id}-{role}"


def provider_group_name(role: str) -> str:
    return f"provider-{role}"
