"""The record of processing activities (GDPR art. 30) of one practice, generated
from the state the code enforces, so that it cannot drift from it:

- data categories: the sections of the patient's file (patients/portability.py,
  which the suite proves cover every model that references a patient), with the
  fields each holds and those sealed at rest (every concrete SealedModel, found
  from the models);
- retention periods: the practice's policies as the purge applies them
  (compliance/retention.py), with their legal bounds;
- sub-processors: the configured mail and text-message backends and the
  declared host (HOSTING_PROVIDER, HOSTING_COUNTRY);
- security measures: the settings in force, and the database role's row security.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Practice
from accounts.roles import (
    PRACTICE_PERMISSIONS,
    PRACTICE_ROLES,
    PROVIDER_PERMISSIONS,
    ROLE_PERMISSIONS,
    Role,
)
from compliance import retention
from compliance.models import DataKind
from patients import portability
from patients.sealed import sealed_models
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


# Countries of the European Economic Area (ISO 3166-1 alpha-2): a sub-processor
# elsewhere, or in a country not declared, is a transfer to check (GDPR ch. V).
EEA = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IS",
        "IT",
        "LI",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)


@dataclass(frozen=True)
class Category:
    title: str
    fields: list[str]
    sealed: list[str]
    clinical: bool


def sealed_fields() -> dict[type, tuple[str, ...]]:
    """Every sealed model and its sealed fields (patients/sealed.py's registry)."""
    return {model: tuple(model.SEALED) for model in sealed_models()}


def sealed_label(model: type, name: str) -> str:
    """The words for a sealed field that no patient-file section names: the
    model's SEALED_LABELS (a code on the register is a code nowhere else)."""
    return str(getattr(model, "SEALED_LABELS", {}).get(name, name.replace("_", " ")))


def _sealed_labels(section: portability.Section, sealed: dict) -> list[str]:
    labels = {name: str(label) for name, label in section.columns}
    names = [name for model in section.models for name in sealed.get(model, ())]
    return [labels.get(name, name.replace("_", " ")) for name in dict.fromkeys(names)]


def data_categories() -> list[Category]:
    sealed = sealed_fields()
    categories = [
        Category(
            title=str(section.title),
            fields=[str(label) for _name, label in section.columns],
            sealed=_sealed_labels(section, sealed),
            clinical=section.clinical,
        )
        for section in portability.sections()
    ]
    covered = {model for section in portability.sections() for model in section.models}
    for model, names in sealed.items():
        if model not in covered:
            # Sealed, but in no section of the patient's file: listed all the same.
            labels = [sealed_label(model, name) for name in names]
            categories.append(
                Category(
                    title=str(model._meta.verbose_name_plural).capitalize(),
                    fields=labels,
                    sealed=labels,
                    clinical=False,
                )
            )
    categories.append(
        Category(
            title=str(_("Traces d'accès")),
            fields=[str(label) for _name, label in portability.ACCESS_COLUMNS]
            + [str(_("adresse IP")), str(_("navigateur"))],
            sealed=[],
            clinical=False,
        )
    )
    return categories


def retention_periods(practice: Practice) -> list[dict]:
    """The periods the purge applies to this practice, kind by kind."""
    in_force = retention.policies_for(practice)
    # A shorter period applies only after its notice (dry run first): until
    # then the purge keeps the previous one, and the register says so.
    applied = retention.periods_in_force(practice)
    rows = []
    for kind, rule in retention.RULES.items():
        days = in_force[kind]
        purged = kind in retention.PURGED_KINDS
        pending = ""
        if purged and applied[kind] is None:
            pending = str(_("pas encore purgé : la première purge est annoncée avec un préavis"))
        elif purged and applied[kind] != days:
            pending = str(
                _("la purge applique encore %(days)d jours jusqu'à la fin du préavis")
                % {"days": applied[kind]}
            )
        rows.append(
            {
                "kind": str(kind),
                "label": str(DataKind(kind).label) if kind in DataKind.values else str(kind),
                "days": days,
                "years": round(days / 365, 1),
                "bounds": (rule.min_days, rule.max_days),
                "basis": str(rule.basis),
                "purged": purged,
                "pending": pending,
            }
        )
    return rows


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


LOCAL_MAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


def _mail_subprocessor() -> dict:
    backend = settings.EMAIL_BACKEND
    service = str(_("Envoi des courriels (notifications, rappels de rendez-vous)"))
    if backend in LOCAL_MAIL_BACKENDS:
        name = str(_("Aucun : les courriels ne quittent pas le serveur (%(backend)s)")) % {
            "backend": backend.rsplit(".", 2)[-2]
        }
        return {"name": name, "service": service, "country": "", "external": False}
    host = getattr(settings, "EMAIL_HOST", "") or backend
    country = getattr(settings, "EMAIL_PROVIDER_COUNTRY", "")
    return {"name": host, "service": service, "country": country, "external": True}


def _sms_subprocessor() -> dict:
    path = settings.SMS_BACKEND
    backend = import_string(path)
    service = str(_("Envoi des SMS de rappel"))
    provider = getattr(backend, "provider_name", "")
    if not provider:
        name = str(_("Aucun : les SMS ne quittent pas le serveur (%(backend)s)")) % {
            "backend": path.rsplit(".", 1)[-1]
        }
        return {"name": name, "service": service, "country": "", "external": False}
    country = getattr(backend, "provider_country", "")
    return {"name": provider, "service": service, "country": country, "external": True}


def _hosting_subprocessor() -> dict:
    name = getattr(settings, "HOSTING_PROVIDER", "") or str(
        _("Non déclaré (réglage HOSTING_PROVIDER)")
    )
    return {
        "name": name,
        "service": str(_("Hébergement des données de santé (serveurs, base, sauvegardes)")),
        "country": getattr(settings, "HOSTING_COUNTRY", ""),
        "external": True,
    }


def subprocessors() -> list[dict]:
    return [_hosting_subprocessor(), _mail_subprocessor(), _sms_subprocessor()]


def transfers(found: list[dict]) -> str:
    outside = [sub["name"] for sub in found if sub["external"] and sub["country"] not in EEA]
    if outside:
        return str(
            _("À vérifier : pays hors de l'EEE ou non déclaré pour %(names)s (RGPD, chapitre V).")
        ) % {"names": ", ".join(outside)}
    return str(_("Aucun transfert hors de l'Espace économique européen."))


def _row_security() -> str:
    """Whether the database role the application runs under is held by row
    security, asked of the database itself."""
    if connection.vendor != "postgresql":
        return str(_("Cloisonnement des cabinets par l'application seule (base SQLite)"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        bypass = cursor.fetchone()[0]
    if bypass:
        return str(
            _(
                "Cloisonnement des cabinets en base NON appliqué : le rôle de l'application "
                "contourne la sécurité au niveau des lignes"
            )
        )
    return str(
        _(
            "Cloisonnement des cabinets en base : sécurité au niveau des lignes PostgreSQL, "
            "appliquée au rôle de l'application"
        )
    )


def _transport() -> str:
    if getattr(settings, "SECURE_SSL_REDIRECT", False) and getattr(
        settings, "SECURE_HSTS_SECONDS", 0
    ):
        return str(
            _("HTTPS imposé (redirection, HSTS %(days)d jours, cookies sécurisés)")
            % {"days": settings.SECURE_HSTS_SECONDS // 86400}
        )
    return str(_("HTTPS non imposé par l'application (ni redirection ni HSTS)"))


def _backups() -> str:
    if not getattr(settings, "BACKUP_KEYRING", ""):
        return str(_("Sauvegardes chiffrées : clé de sauvegarde NON configurée (BACKUP_KEYRING)"))
    return str(
        _(
            "Sauvegardes chiffrées (AES-256-GCM, clé distincte), conservées : %(d)d quotidiennes, "
            "%(w)d hebdomadaires, %(m)d mensuelles ; exercice de restauration mensuel"
        )
        % {
            "d": settings.BACKUP_KEEP_DAILY,
            "w": settings.BACKUP_KEEP_WEEKLY,
            "m": settings.BACKUP_KEEP_MONTHLY,
        }
    )


def _sealed_summary() -> str:
    fields = sealed_fields()
    count = sum(len(names) for names in fields.values())
    return str(
        _(
            "Chiffrement AES-256-GCM des données de patients au repos : %(fields)d champs de "
            "%(models)d tables, clé propre à chaque cabinet (trousseau : %(n)d version(s))"
        )
        % {"fields": count, "models": len(fields), "n": len(keyring().versions)}
    )


def _sessions() -> list[str]:
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
    ]


def security_measures() -> list[str]:
    return [
        *_sessions(),
        _transport(),
        _sealed_summary(),
        _row_security(),
        str(
            _(
                "Journal d'audit chaîné par empreintes, en ajout seul ; têtes de chaîne signées "
                "et exportées hors de la base toutes les %(m)d minutes"
            )
            % {"m": settings.AUDIT_SEAL_MINUTES}
        ),
        _backups(),
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
    found = subprocessors()
    return {
        "practice": practice,
        "controller": practice.name,
        "processor": getattr(
            settings, "PROVIDER_NAME", "Secretariat (prestataire de télésecrétariat)"
        ),
        "purposes": PURPOSES,
        "data_subjects": DATA_SUBJECTS,
        "data_categories": data_categories(),
        "recipients": _recipients(practice),
        "retention": retention_periods(practice),
        "security_measures": security_measures(),
        "subprocessors": found,
        "transfers": transfers(found),
    }
