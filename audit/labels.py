"""The French (or English) words for what the audit trail and the alerts store
as codes: the one place pages, CSV exports, notices and PDFs take them from.

Details are stored (and chained) as recorded; only their display is
translated. Every detail key must be named here: `audit.services.named_detail`
refuses an unnamed one, so no page can meet a key it cannot put in words
(a key of an older version, already stored, is shown as stored).

A detail value that is a code is put in words by, in order: the codes of its
key below (`VALUE_LABELS`), a URL name (the page's address), a model label,
then the enums of our models (`enum_label`: every `TextChoices` of the
project, where a code means one thing only). Booleans read "oui" / "non",
lists are joined, identifiers (ids, addresses, fingerprints) stay as they are."""

import re
from functools import cache

from django.apps import apps
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from audit.models import Action, ObjectType, Outcome

DETAIL_LABELS = {
    "acknowledged": _("Acquittées"),
    "action": _("Action"),
    "after": _("Position (pagination)"),
    "appointment": _("Rendez-vous"),
    "appointments": _("Rendez-vous concernés"),
    "appointment_type": _("Type de rendez-vous"),
    "at": _("Moment"),
    "attendees": _("Participants"),
    "authority_notified": _("Autorité notifiée"),
    "batches": _("Lots"),
    "chain": _("Chaîne"),
    "chain_id": _("Chaîne (numéro)"),
    "chains": _("Chaînes"),
    "change": _("Changement"),
    "channel": _("Canal"),
    "closed": _("Close"),
    "count": _("Nombre"),
    "created": _("Créés"),
    "date_from": _("Du"),
    "date_to": _("Au"),
    "day": _("Jour"),
    "days": _("Jours"),
    "deactivated": _("Désactivés"),
    "decision": _("Décision"),
    "decisions": _("Décisions"),
    "duplicate_confirmed": _("Doublon confirmé"),
    "emailed": _("Envoyés par courriel"),
    "error": _("Erreur"),
    "event_id": _("Événement"),
    "every_weeks": _("Toutes les (semaines)"),
    "first_id": _("Premier événement"),
    "for": _("Pour"),
    "format": _("Format"),
    "grant": _("Accès d'urgence"),
    "hours": _("Heures"),
    "ip": _("Adresse IP"),
    "kek_version": _("Version de la clé maîtresse"),
    "key_id": _("Clé"),
    "keys": _("Clés"),
    "kind": _("Nature"),
    "known_user": _("Utilisateur connu"),
    "last_id": _("Dernier événement"),
    "latest": _("Le plus récent"),
    "mailed": _("Envoyés"),
    "method": _("Méthode"),
    "minutes": _("Minutes"),
    "notes": _("Notes cliniques"),
    "object_id": _("Identifiant de l'objet"),
    "object_type": _("Type d'objet"),
    "operation": _("Opération"),
    "outcome": _("Résultat"),
    "notes_access": _("Accès aux notes"),
    "patient": _("Patient"),
    "patient_ids": _("Patients affichés"),
    "patient_notifications": _("Notifications aux patients"),
    "patients": _("Patients"),
    "pending_versions": _("Versions en attente de destruction"),
    "practice": _("Cabinet"),
    "practices": _("Cabinets"),
    "practitioner": _("Praticien"),
    "practitioner_ids": _("Praticiens"),
    "previous": _("Précédent"),
    "problem": _("Problème"),
    "proposals": _("Créneaux proposés"),
    "purpose": _("Finalité"),
    "read": _("Marquées comme lues"),
    "handover_event": _("Restitution (événement)"),
    "handover_missing": _("Aucune restitution enregistrée"),
    "handover_unchecked": _("Restitution exportée mais non vérifiée"),
    "handover_check": _("Vérification de la restitution (événement)"),
    "reason": _("Motif"),
    "refused": _("Refus (code HTTP)"),
    "refused_models": _("Modèles encore sur une ancienne version"),
    "refused_rows": _("Lignes encore sur une ancienne version"),
    "removed": _("Supprimés"),
    "restricted": _("Restreint"),
    "resent": _("Renvoi demandé"),
    "results": _("Résultats"),
    "retired_versions": _("Versions détruites"),
    "review": _("Revue"),
    "role": _("Rôle"),
    "rows": _("Lignes"),
    "sealed_models": _("Modèles chiffrés concernés"),
    "sealed_rows": _("Lignes chiffrées concernées"),
    "seq": _("Maillon"),
    "series": _("Série"),
    "sessions_ended": _("Sessions terminées"),
    "size": _("Taille"),
    "started": _("Démarrée"),
    "status": _("Statut"),
    "status_from": _("Statut précédent"),
    "status_to": _("Nouveau statut"),
    "step": _("Étape"),
    "tables": _("Tables"),
    "task": _("Tâche"),
    "threshold": _("Seuil"),
    "without_handover": _("Sans restitution (dérogation)"),
    "unhandled": _("Non traités"),
    "urgent": _("Urgent"),
    "user": _("Utilisateur"),
    "versions": _("Versions"),
    "view": _("Vue"),
    "withdrawn": _("Retirés"),
    "admin_action": _("Action de la console technique"),
    "agent": _("Télésecrétaire (numéro)"),
    "authority_notice": _("Notification à l'autorité"),
    "backup_run": _("Sauvegarde (numéro)"),
    "broken_chains": _("Chaînes rompues"),
    "broken_event_ids": _("Événements rompus"),
    "by": _("Par (utilisateur n°)"),
    "category": _("Catégorie"),
    "chains_checked": _("Chaînes vérifiées"),
    "changed": _("Modifiés"),
    "drill": _("Exercice (numéro)"),
    "event": _("Événement téléphonique"),
    "events": _("Événements"),
    "events_checked": _("Événements vérifiés"),
    "membership": _("Rattachement (numéro)"),
    "model": _("Données"),
    "message": _("Message (numéro)"),
    "objects": _("Objets"),
    "pending": _("En attente de confirmation"),
    "practitioners": _("Praticiens"),
    "replies": _("Réponses"),
    "row_count_mismatches": _("Tables dont le nombre de lignes diffère"),
    "rows_along": _("Lignes liées supprimées avec elles"),
    "rows_checked": _("Lignes vérifiées"),
    "scratch_database": _("Base temporaire"),
    "sealed_failures": _("Lignes chiffrées illisibles"),
    "sealed_models_checked": _("Modèles chiffrés vérifiés"),
    "sealed_rows_checked": _("Lignes chiffrées vérifiées"),
    "scopes": _("Portées accordées"),
    "sha256": _("Empreinte SHA-256"),
    "show_initials": _("Initiales des patients affichées"),
    "source": _("Origine"),
    "tables_checked": _("Tables vérifiées"),
    "totp_failures": _("Secrets TOTP illisibles"),
    "totp_secrets_checked": _("Secrets TOTP vérifiés"),
    "grant_type": _("Type d'autorisation (OAuth)"),
    "types": _("Types de rendez-vous"),
}

# Codes a detail value holds that no enum of our models names, by key. A code
# that an enum names is found there (enum_label), whatever the key.
VALUE_LABELS: dict[str, dict[str, object]] = {
    "view": {
        "own_day": _("Ma journée"),
        "own_week": _("Ma semaine"),
        "practice_day": _("Journée du cabinet"),
    },
    "for": {
        "booking": _("Prise de rendez-vous"),
        "booking_type": _("Prise de rendez-vous (choix du type)"),
        "booking_slots": _("Prise de rendez-vous (créneaux proposés)"),
        "move": _("Déplacement d'un rendez-vous"),
        "cancel": _("Annulation d'un rendez-vous"),
        "console": _("Console d'appel"),
        "console_booking": _("Console d'appel (prise de rendez-vous)"),
        "console_message": _("Console d'appel (message)"),
        "call": _("Appel en cours"),
        "ringing": _("Appel entrant"),
    },
    "kind": {
        "phone": _("Par téléphone"),
        "birth_date": _("Par date de naissance"),
        "name": _("Par nom"),
        "name_prefix": _("Par début de nom"),
        "empty": _("Recherche vide"),
        "duplicate_check": _("Recherche de doublons"),
    },
    "change": {
        "accepted": _("Acceptée"),
        "cancelled": _("Annulé"),
        "confirm": _("Confirmation"),
        "create": _("Création"),
        "delete": _("Suppression"),
        "grant": _("Attribution"),
        "handled": _("Traité"),
        "moved": _("Déplacé"),
        "resolved": _("Résolue"),
        "restriction": _("Restriction du dossier"),
        "revoke": _("Retrait"),
        "revoked": _("Retiré"),
        "status": _("Changement de statut"),
        "update": _("Modification"),
        "rotated": _("Secret renouvelé"),
        "initials": _("Affichage des initiales"),
    },
    "grant_type": {"client_credentials": _("Identifiants du client (OAuth)")},
    "operation": {
        "create": _("Création"),
        "rotate": _("Rotation de la clé"),
        "rewrap": _("Rechiffrement sous la nouvelle clé maîtresse"),
        "shred": _("Destruction de la clé (effacement cryptographique)"),
        "totp_device_reset": _("Réinitialisation de l'appareil TOTP"),
    },
    "purpose": {
        "offboarding": _("Restitution au cabinet (fin de contrat)"),
        "offboarding_check": _("Vérification de la restitution au cabinet"),
    },
    "reason": {
        "stale": _("Compte inutilisé"),
        "training_overdue": _("Formation à la confidentialité échue"),
        "not_bookable_by_telesecretary": _("Type non réservable par le télésecrétariat"),
        "unverified": _("Second facteur (TOTP) non validé"),
        "absolute": _("Durée maximale de session atteinte"),
        "idle": _("Inactivité"),
        "ended": _("Session terminée à distance"),
        # The phone system's webhook (console/webhook.py, console/cti.py).
        "signature": _("Signature de l'événement invalide"),
        "expired": _("Horodatage de l'événement hors de la fenêtre"),
        "contract": _("Événement illisible (hors contrat)"),
        "replayed": _("Événement déjà reçu (rejeu)"),
        "unknown_line": _("Numéro appelé inconnu ou cabinet fermé"),
        "too_large": _("Événement trop volumineux"),
        "rate": _("Trop d'événements (limite de débit)"),
    },
    "format": {
        "csv": _("Fichier CSV"),
        "json": _("Fichier JSON"),
        "pdf": _("Document PDF"),
        "text": _("Texte"),
        "html": _("Page"),
    },
    "error": {
        "no_backup": _("Aucune sauvegarde"),
        "backup_integrity": _("Sauvegarde altérée"),
        "restore_failed": _("Échec de la restauration"),
        "checks": _("Vérifications en échec"),
        "decryption": _("Déchiffrement impossible"),
    },
    "problem": {
        "hash": _("Empreinte d'un événement altérée"),
        "prev_hash": _("Lien avec l'événement précédent rompu"),
        "sequence": _("Numérotation interrompue"),
        "missing_events": _("Événements manquants"),
        "head": _("Tête de chaîne incohérente"),
        "practice": _("Événement rangé dans la chaîne d'un autre cabinet"),
        "unknown_chain": _("Chaîne inconnue"),
        "digest_hash": _("Empreinte signée différente de la chaîne"),
        "digest_signature": _("Signature d'empreinte invalide"),
        "digest_beyond_head": _("Empreinte signée au-delà de la tête de chaîne"),
        "export_stale": _("Export des empreintes trop ancien"),
        "export_format": _("Export des empreintes illisible"),
        "export_signature": _("Signature de l'export invalide"),
        "export_chain": _("Chaîne absente ou changée dans l'export"),
        "export_beyond_head": _("Export au-delà de la tête de chaîne"),
        "export_hash": _("Empreinte de l'export différente de la chaîne"),
    },
    "method": {"recovery_code": _("Code de secours"), "totp": _("Code TOTP")},
}


def name_codes(key: str, choices: type[models.TextChoices]) -> None:
    """A layer above names the codes one key holds with its enum (accounts: the
    roles under "role"): audit, the ground floor, cannot import it."""
    VALUE_LABELS.setdefault(key, {}).update({member.value: member.label for member in choices})


# The tasks and commands that act as `Actor.system(name)`: the audit trail's
# "user" for what no person did (stored as "system:<name>").
SYSTEM_ACTORS: dict[str, object] = {
    "account_hygiene": _("Hygiène des comptes"),
    "audit_digest_export": _("Export des empreintes d'audit"),
    "audit_drop_partitions": _("Suppression des mois d'audit échus"),
    "audit_partitions": _("Préparation des mois du journal d'audit"),
    "backup": _("Sauvegarde"),
    "check_practice_export": _("Vérification d'une restitution"),
    "cti": _("Standard téléphonique"),
    "cti_line": _("Déclaration d'une ligne téléphonique"),
    "cti_events": _("Reprise des événements téléphoniques mis de côté"),
    "export_practice": _("Restitution à un cabinet"),
    "key_rotation": _("Rotation des clés"),
    "reminders": _("Rappels de rendez-vous"),
    "restore_drill": _("Exercice de restauration"),
    "retention_purge": _("Purge des données échues"),
    "seed_demo": _("Données de démonstration"),
    "shred_closed_practices": _("Destruction des clés des cabinets fermés"),
    "shred_practice_key": _("Destruction de la clé d'un cabinet"),
    "waiting_list_offer": _("Proposition d'un créneau libéré (liste d'attente)"),
}


def actor_label(username: str) -> str:
    """Who acted, for people: a user name as it is, a task in words
    (« Tâche automatique : Purge des données échues »)."""
    if not username.startswith("system:"):
        return username
    name = username.removeprefix("system:")
    task = str(SYSTEM_ACTORS[name]) if name in SYSTEM_ACTORS else name
    return str(_("Tâche automatique : %(task)s") % {"task": task})


# Audit's own enums, under the keys that hold them (the audit browser's filters).
name_codes("action", Action)
name_codes("outcome", Outcome)
name_codes("object_type", ObjectType)


# Keys whose values are identifiers, addresses or counts: never looked up as codes.
IDENTIFIER_KEYS = frozenset(
    {
        "after", "at", "by", "chain_id", "date_from", "date_to", "day", "event_id",
        "first_id", "ip", "key_id", "last_id", "latest", "object_id", "patient", "patient_ids",
        "scopes", "scratch_database", "seq", "sha256", "task", "user",
    }
)  # fmt: skip

YES, NO, NONE = _("oui"), _("non"), "—"


def detail_label(key: str) -> str:
    """The name of a detail key; a key of an older version shows as stored."""
    return str(DETAIL_LABELS.get(key, key))


def detail_value(key: str, value: object) -> str:
    """A detail value in words (see the module's docstring)."""
    if isinstance(value, bool):
        return str(YES if value else NO)
    if value is None or value == "" or value == []:
        return NONE
    if isinstance(value, list | tuple):
        return ", ".join(detail_value(key, item) for item in value)
    if isinstance(value, dict):
        return " · ".join(f"{detail_label(k)} : {detail_value(k, v)}" for k, v in value.items())
    if key == "chain" and isinstance(value, str):
        return chain_label(value)
    if not isinstance(value, str) or key in IDENTIFIER_KEYS:
        return str(value)
    return code_label(value, key=key)


def chain_label(key: str) -> str:
    """An audit chain in words: « Cabinet n° 3 », « Plateforme »."""
    if key == "platform":
        return str(_("Plateforme"))
    if match := re.fullmatch(r"practice:(\d+)", key):
        return str(_("Cabinet n° %(id)s") % {"id": match[1]})
    return key


def code_label(value: str, *, key: str = "") -> str:
    """A stored code in words: the key's own codes, a page, a model, an enum."""
    own = VALUE_LABELS.get(key, {})
    if value in own:
        return str(own[value])
    if key == "object_type":
        return ObjectType.label_of(value)
    if key == "model" and re.fullmatch(r"\w+\.\w+", value):
        try:
            return str(apps.get_model(value)._meta.verbose_name)
        except LookupError:
            return value
    if ":" in value and value in url_routes():
        return url_label(value)
    return enum_label(value)


def detail_rows(detail: dict) -> list[tuple[str, str]]:
    """(name, value) in words for each key of the details."""
    return [(detail_label(key), detail_value(key, value)) for key, value in sorted(detail.items())]


def detail_text(detail: dict) -> str:
    """The details on one line ("Nombre : 3 · Pour : Console d'appel"), for a CSV."""
    return " · ".join(f"{label} : {value}" for label, value in detail_rows(detail))


# ---------------------------------------------------------------- enums


def _our_text_choices():
    ours = {config.name for config in apps.get_app_configs()}
    stack = list(models.TextChoices.__subclasses__())
    while stack:
        choices = stack.pop()
        stack.extend(choices.__subclasses__())
        if choices.__module__.split(".")[0] in ours:
            yield choices


@cache
def _enum_labels() -> dict[str, object]:
    """Every code of our enums that means one thing only (the same French label
    wherever it appears), with its label (lazy: read in the reader's language)."""
    found: dict[str, object] = {}
    ambiguous: set[str] = set()
    with translation.override("fr"):
        for choices in _our_text_choices():
            for member in choices:
                value, label = member.value, member.label
                if value in found and str(found[value]) != str(label):
                    ambiguous.add(value)
                found.setdefault(value, label)
    return {value: label for value, label in found.items() if value not in ambiguous}


def enum_label(value: str) -> str:
    """The label of a code of one of our enums; anything else as it is."""
    label = _enum_labels().get(value)
    return str(label) if label is not None else value


# ---------------------------------------------------------------- pages


@cache
def url_routes() -> dict[str, str]:
    """Each URL name ("appointments:settings") and its address, its parameters
    shown as "…" ("/p/…/reglages/"): what a refused page is shown as."""
    routes: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            route = re.sub(r"<[^>]+>|\(\?P<[^>]+>[^)]*\)", "…", str(pattern.pattern))
            route = route.replace("^", "").replace("$", "").replace("\\", "")
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, prefix + route, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                routes.setdefault(name, prefix + route)

    walk(get_resolver().url_patterns, "/", "")
    return routes


def url_label(view_name: str) -> str:
    """A page named by its URL name, in words: « Page /p/…/reglages/ »."""
    route = url_routes().get(view_name)
    return str(_("Page %(address)s") % {"address": route}) if route else view_name


def object_id_words(object_type: str, object_id: str) -> str:
    """An event's object id as shown: a refused page's address rather than its
    URL name ("/p/…/reglages/", not "appointments:settings")."""
    if object_type == ObjectType.URL and object_id in url_routes():
        return url_routes()[object_id]
    return object_id


def object_label(object_type: str, object_id: str) -> str:
    """What an event is about, in words: its type, then its id."""
    label = ObjectType.label_of(object_type) if object_type else ""
    return f"{label} {object_id_words(object_type, object_id)}".strip()
