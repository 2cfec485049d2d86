"""The record of processing activities (GDPR art. 30) of one practice, built
from live settings: roles and permissions, retention periods, security
measures and sub-processors. Retention periods live here until the practice
settings hold them (then this reads them from there)."""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Practice
from accounts.roles import (
    PRACTICE_PERMISSIONS,
    PRACTICE_ROLES,
    PROVIDER_PERMISSIONS,
    ROLE_PERMISSIONS,
    Role,
)
from secretariat.crypto import keyring

PURPOSES = [
    (
        _("Prise de rendez-vous et gestion de l'agenda du cabinet"),
        _("Exécution du contrat de sous-traitance (art. 28) ; art. 9.2.h RGPD"),
    ),
    (
        _("Accueil téléphonique et transmission des messages d'appel"),
        _("Exécution du contrat de sous-traitance (art. 28) ; art. 9.2.h RGPD"),
    ),
    (
        _("Traçabilité des accès aux données de santé (journal d'audit)"),
        _("Obligation légale (art. 32 RGPD, art. L.1110-4 CSP)"),
    ),
    (
        _("Sauvegarde et continuité du service"),
        _("Obligation légale (art. 32.1.c RGPD)"),
    ),
]

DATA_SUBJECTS = [
    _("Patients du cabinet"),
    _("Praticiens et personnel du cabinet"),
    _("Personnel du prestataire"),
]

DATA_CATEGORIES = [
    (_("Identité et coordonnées des patients"), _("nom, prénom, date de naissance, téléphone")),
    (_("Rendez-vous"), _("date, heure, motif de consultation (type de rendez-vous)")),
    (_("Données de santé"), _("notes cliniques, réservées aux praticiens du cabinet")),
    (_("Traces d'accès"), _("auteur, rôle, action, objet, date, adresse IP")),
]

# Days, per data kind. A setting PROCESSING_RETENTION_DAYS overrides any of them.
DEFAULT_RETENTION_DAYS = {
    "patient_record": 20 * 365,
    "appointments": 5 * 365,
    "call_messages": 365,
    "audit_events": 365,
}

RETENTION_LABELS = {
    "patient_record": _("Dossier patient (identité, notes)"),
    "appointments": _("Rendez-vous"),
    "call_messages": _("Messages d'appel"),
    "audit_events": _("Journal d'audit"),
}

DEFAULT_SUBPROCESSORS = [
    {
        "name": "Hébergeur certifié HDS",
        "service": "Hébergement des données de santé",
        "country": "FR",
    },
    {
        "name": "Prestataire d'envoi d'e-mails",
        "service": "Notifications (sans donnée de santé)",
        "country": "FR",
    },
]


def retention_days() -> dict[str, int]:
    return {**DEFAULT_RETENTION_DAYS, **getattr(settings, "PROCESSING_RETENTION_DAYS", {})}


@dataclass(frozen=True)
class Recipient:
    role: str
    label: str
    scope: str
    permissions: list[str]
    members: int | None


def _recipients(practice: Practice) -> list[Recipient]:
    labels = {**PRACTICE_PERMISSIONS, **PROVIDER_PERMISSIONS}
    members = dict.fromkeys(Role.values, 0)
    active = Membership.objects.active()
    for role in active.filter(practice=practice).values_list("role", flat=True):
        members[role] += 1
    for role in active.filter(practice__isnull=True).values_list("role", flat=True):
        members[role] += 1
    return [
        Recipient(
            role=role,
            label=str(Role(role).label),
            scope=str(_("le cabinet") if role in PRACTICE_ROLES else _("le prestataire")),
            permissions=[str(labels[codename]) for codename in sorted(ROLE_PERMISSIONS[role])],
            members=members[role],
        )
        for role in Role.values
    ]


def _security_measures() -> list[str]:
    idle = int(settings.SESSION_IDLE_TIMEOUT.total_seconds() // 60)
    lifetime = int(settings.SESSION_ABSOLUTE_LIFETIME.total_seconds() // 3600)
    return [
        str(
            _("Authentification à deux facteurs (mot de passe puis code TOTP) pour tous les rôles")
        ),
        str(
            _("Verrouillage après %(n)d échecs pendant %(m)d minutes")
            % {
                "n": settings.AXES_FAILURE_LIMIT,
                "m": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            }
        ),
        str(
            _("Session expirée après %(idle)d min d'inactivité, %(life)d h au plus")
            % {"idle": idle, "life": lifetime}
        ),
        str(
            _(
                "Chiffrement AES-256-GCM des secrets et données sensibles au repos "
                "(trousseau de clés versionné : %(n)d version(s))"
            )
            % {"n": len(keyring().versions)}
        ),
        str(_("Journal d'audit chaîné par empreintes, en ajout seul")),
        str(
            _(
                "Sauvegardes chiffrées quotidiennes, conservées : %(d)d quotidiennes, "
                "%(w)d hebdomadaires, %(m)d mensuelles ; exercice de restauration mensuel"
            )
            % {
                "d": settings.BACKUP_KEEP_DAILY,
                "w": settings.BACKUP_KEEP_WEEKLY,
                "m": settings.BACKUP_KEEP_MONTHLY,
            }
        ),
        str(
            _(
                "Formation annuelle du personnel (tous les %(days)d jours), accès suspendu "
                "%(grace)d jours après l'échéance"
            )
            % {"days": settings.TRAINING_VALIDITY_DAYS, "grace": settings.TRAINING_GRACE_DAYS}
        ),
        str(_("Habilitations par rôle, au plus juste (minimisation)")),
    ]


def processing_register(practice: Practice) -> dict:
    retention = retention_days()
    return {
        "practice": practice,
        "controller": practice.name,
        "processor": getattr(
            settings, "PROVIDER_NAME", "Secretariat (prestataire de télésecrétariat)"
        ),
        "purposes": PURPOSES,
        "data_subjects": DATA_SUBJECTS,
        "data_categories": DATA_CATEGORIES,
        "recipients": _recipients(practice),
        "retention": [
            {
                "kind": kind,
                "label": RETENTION_LABELS.get(kind, kind),
                "days": days,
                "years": round(days / 365, 1),
            }
            for kind, days in retention.items()
        ],
        "security_measures": _security_measures(),
        "subprocessors": getattr(settings, "SUBPROCESSORS", DEFAULT_SUBPROCESSORS),
        "transfers": _("Aucun transfert hors de l'Union européenne."),
    }
