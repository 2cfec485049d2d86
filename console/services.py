"""State changes made from the call console. Each runs in one transaction and
goes through the owning app's services, which write the audit events."""

from django.db import transaction

from accounts.models import Practice
from audit.context import Actor
from patients import services as patient_services
from patients.models import Consent, Patient
from patients.services import Identity


@transaction.atomic
def caller_register(
    *,
    practice: Practice,
    identity: Identity,
    sms_consent: bool,
    duplicate_confirmed: bool,
    actor: Actor,
) -> Patient:
    """A new caller: the patient and, when they agreed on the phone, their
    consent to SMS reminders, both or neither."""
    patient = patient_services.patient_create(
        practice=practice,
        identity=identity,
        actor=actor,
        duplicate_confirmed=duplicate_confirmed,
    )
    if sms_consent:
        patient_services.consent_record(
            patient=patient, purpose=Consent.Purpose.SMS_REMINDERS, actor=actor
        )
    return patient
