"""The texts a breach produces, composed from the register entry (one source of
truth): the notice to a patient (GDPR art. 34) and the notification to the
authority (art. 33), both in French whatever the reader's interface language: they are letters to
patients and to the CNIL, so their wording is not translated (no gettext).

Art. 34(2) asks the notice to a patient to describe in clear and plain language
the nature of the breach, and at least: a contact point (art. 33(3)(b)), the
likely consequences (c), the measures taken or proposed, including those to
mitigate the possible adverse effects (d). A notice that lacks one of them is
refused (`missing_for_patient`), never sent half-written.
"""

import zoneinfo
from dataclasses import dataclass

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Practice
from compliance.models import BreachIncident


@dataclass(frozen=True)
class NoticeText:
    subject: str
    body: str


def _when(value, tz_name: str) -> str:
    local = value.astimezone(zoneinfo.ZoneInfo(tz_name or "Europe/Paris"))
    return formats.date_format(local, "j F Y à H:i")


def contact_lines(practice: Practice) -> list[str]:
    """The practice's contact point for personal data, one line per known item."""
    lines = [practice.dpo_name.strip()]
    if practice.dpo_email.strip():
        lines.append(f"courriel : {practice.dpo_email.strip()}")
    if practice.dpo_phone.strip():
        lines.append(f"téléphone : {practice.dpo_phone.strip()}")
    return [line for line in lines if line]


def missing_for_patient(incident: BreachIncident, practice: Practice) -> list[str]:
    """What art. 34 requires and the register or the practice does not give yet
    (French labels, empty when the notice is complete)."""
    missing = [
        str(BreachIncident._meta.get_field(name).verbose_name)
        for name in ("nature", "likely_consequences", "measures_taken")
        if not getattr(incident, name).strip()
    ]
    if not practice.dpo_name.strip():
        missing.append(_("le nom du contact données personnelles du cabinet"))
    if not (practice.dpo_email.strip() or practice.dpo_phone.strip()):
        missing.append(_("un courriel ou un téléphone pour joindre ce contact"))
    return missing


def _section(title: str, text: str) -> str:
    return f"{title}\n{text.strip()}\n"


def patient_notice(incident: BreachIncident, practice: Practice) -> NoticeText:
    """The notice a practice sends to a patient concerned (no name in it: it
    says nothing of the patient's own record)."""
    with translation.override("fr"):  # dates in French
        detected = _when(incident.detected_at, practice.timezone)
    what = (
        f"{incident.nature.strip()}\n"
        f"Découverte le {detected}. Données concernées : {incident.data_categories.strip()}."
    )
    contact = "\n".join(contact_lines(practice))
    parts = [
        "Madame, Monsieur,\n",
        f"Votre cabinet médical {practice.name} vous informe qu'une violation de données "
        "personnelles vous concernant s'est produite chez son prestataire de secrétariat "
        "médical. Nous vous devons cette information (règlement général sur la protection "
        "des données, article 34).\n",
        _section("Ce qui s'est passé", what),
        _section("Les conséquences possibles pour vous", incident.likely_consequences),
        _section("Les mesures prises", incident.measures_taken),
    ]
    if incident.patient_advice.strip():
        parts.append(_section("Ce que nous vous recommandons", incident.patient_advice))
    parts += [
        _section(
            "Pour toute question",
            f"{contact}\nRéférence à rappeler : incident n° {incident.pk}.",
        ),
        "Vous pouvez aussi adresser une réclamation à la Commission nationale de "
        "l'informatique et des libertés (CNIL, www.cnil.fr).\n",
        practice.name,
    ]
    subject = f"Violation de données personnelles vous concernant — {practice.name}"
    return NoticeText(subject=subject, body="\n".join(parts).strip() + "\n")


def _count(value: int | None) -> str:
    return "non estimé" if value is None else str(value)


def _timeline(incident: BreachIncident) -> list[str]:
    with translation.override("fr"):  # dates in French
        lines = [
            f"Découverte le : {_when(incident.detected_at, '')}",
            f"Échéance de notification (72 heures) : {_when(incident.deadline, '')}",
        ]
        if incident.authority_notified_at:
            lines.append(f"Notifiée à l'autorité le : {_when(incident.authority_notified_at, '')}")
    if (incident.authority_notified_at or timezone.now()) > incident.deadline:
        lines.append(
            "Notification au-delà de 72 heures : joindre les motifs du retard "
            "(article 33, paragraphe 1)."
        )
    return lines


def authority_notice(incident: BreachIncident, *, drafted: int, sent: int) -> str:
    """The notification to the authority (art. 33(3)), pre-filled from the
    register: the compliance officer copies it into the CNIL's form."""
    lines = [
        "Notification d'une violation de données personnelles (RGPD, article 33)",
        f"Référence interne : incident n° {incident.pk}",
        *_timeline(incident),
        "",
        _section("1. Nature de la violation", incident.nature),
        f"Catégories de données : {incident.data_categories}",
        f"Catégories de personnes : {incident.people_categories}",
        f"Nombre approximatif de personnes concernées : {_count(incident.approx_people)}",
        f"Nombre approximatif d'enregistrements concernés : {_count(incident.approx_records)}",
        "",
        "2. Responsables de traitement (cabinets) et points de contact",
    ]
    for practice in incident.practices.order_by("name"):
        contact = ", ".join(contact_lines(practice)) or "contact non renseigné"
        lines.append(f"- {practice.name} : {contact}")
    lines += [
        "Le prestataire de secrétariat médical, sous-traitant (article 28), a informé les "
        "cabinets (article 33, paragraphe 2).",
        "",
        _section("3. Conséquences probables", incident.likely_consequences),
        _section("4. Mesures prises ou envisagées", incident.measures_taken),
    ]
    if incident.patient_advice.strip():
        lines.append(_section("Recommandations aux personnes concernées", incident.patient_advice))
    lines.append(
        _section(
            "5. Information des personnes concernées (article 34)",
            f"{drafted} information(s) préparée(s), dont {sent} envoyée(s).",
        )
    )
    return "\n".join(lines).strip() + "\n"
