"""The console's part of the patient's file (patients/portability.py): the
practitioners' answers to call messages about the patient."""

from django.utils.translation import gettext_lazy

from console.models import MessageReply
from patients.models import Patient
from patients.portability import Row, Section, person, register


def _replies(patient: Patient) -> list[Row]:
    found = (
        MessageReply.objects.filter(practice_id=patient.practice_id, patient=patient)
        .select_related("author")
        .order_by("created_at", "pk")
    )
    return [
        {
            "id": str(reply.pk),
            "message": str(reply.message_id),
            "created_at": reply.created_at,
            "author": person(reply.author),
            "text": reply.read("text"),
        }
        for reply in found
    ]


register(
    Section(
        key="call_message_replies",
        title=gettext_lazy("Réponses aux messages d'appel"),
        models=(MessageReply,),
        columns=(
            ("created_at", gettext_lazy("Date")),
            ("author", gettext_lazy("Par")),
            ("text", gettext_lazy("Réponse")),
        ),
        rows=_replies,
        order=55,
    )
)
