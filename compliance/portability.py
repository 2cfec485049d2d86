"""The compliance part of the patient's file (patients/portability.py): the
breach notices (GDPR art. 34) addressed to the patient."""

from django.utils.translation import gettext_lazy as _

from compliance.models import PatientNotification
from patients.models import Patient
from patients.portability import Row, Section, person, register


def _breach_notices(patient: Patient) -> list[Row]:
    found = (
        PatientNotification.objects.filter(practice_id=patient.practice_id, patient=patient)
        .select_related("incident", "approved_by")
        .order_by("pk")
    )
    return [
        {
            "id": notice.pk,
            "detected_at": notice.incident.detected_at,
            "nature": notice.incident.nature,
            "likely_consequences": notice.incident.likely_consequences,
            "measures_taken": notice.incident.measures_taken,
            "patient_advice": notice.incident.patient_advice,
            "subject": notice.subject,
            "body": notice.body,
            "status": notice.status,
            "status_label": str(notice.get_status_display()),
            "approved_by": person(notice.approved_by),
            "sent_at": notice.sent_at,
        }
        for notice in found
    ]


register(
    Section(
        key="breach_notices",
        title=_("Notifications de violation de données"),
        models=(PatientNotification,),
        columns=(
            ("detected_at", _("Violation découverte le")),
            ("nature", _("Nature")),
            ("likely_consequences", _("Conséquences probables")),
            ("measures_taken", _("Mesures prises")),
            ("body", _("Texte envoyé")),
            ("status_label", _("État")),
            ("sent_at", _("Envoyée le")),
        ),
        rows=_breach_notices,
        order=70,
    )
)
