"""State changes of patients. Each writes its audit event in the same
transaction; audit details hold identifiers and counts, never health data."""

from dataclasses import asdict, dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm

from accounts.models import Practice, User
from accounts.roles import ROLE_PERMISSIONS
from audit.context import SYSTEM_ROLE, Actor
from audit.models import Action, Outcome
from audit.services import record_event
from patients import keys, normalise
from patients.models import (
    BreakGlassGrant,
    ClinicalNote,
    Consent,
    Patient,
    PatientUserObjectPermission,
)
from secretariat import inputs


@dataclass(frozen=True)
class Identity:
    last_name: str
    first_names: str
    birth_date: date
    birth_name: str = ""
    phone: str = ""
    phone_alt: str = ""
    email: str = ""
    address: str = ""
    nir: str = ""

    def sealed_values(self) -> dict[str, str]:
        values = asdict(self)
        values["birth_date"] = self.birth_date.isoformat()
        values["phone"] = normalise.phone(self.phone) or self.phone.strip()
        values["phone_alt"] = normalise.phone(self.phone_alt) or self.phone_alt.strip()
        return values


def blind_indexes(practice_id: int, identity: Identity) -> dict[str, bytes | None]:
    """The index columns of a patient row for this identity."""
    practice_keys = keys.practice_keys(practice_id)

    def index(field_name: str, value: str | None) -> bytes | None:
        return practice_keys.blind_index(field_name, value) if value else None

    last = normalise.name(identity.last_name)
    first = normalise.first_given_name(identity.first_names)
    return {
        "last_name_bidx": index("name", last),
        "birth_name_bidx": index("name", normalise.name(identity.birth_name)),
        "name_prefix_bidx": index("name_prefix", normalise.name_prefix(identity.last_name)),
        "full_name_bidx": index("full_name", f"{last}|{first}" if last and first else None),
        "birth_date_bidx": index("birth_date", identity.birth_date.isoformat()),
        "phone_bidx": index("phone", normalise.phone(identity.phone)),
        "phone_alt_bidx": index("phone", normalise.phone(identity.phone_alt)),
    }


def check_identity(identity: Identity) -> None:
    """The last word on what an identity may hold (docs/decisions.md, "Bounded
    input"): a birth date in range, names without control or bidi characters."""
    inputs.BIRTH_DATE.check(identity.birth_date)
    inputs.check_text(
        identity.last_name,
        identity.birth_name,
        identity.first_names,
        identity.phone,
        identity.phone_alt,
        identity.email,
        identity.nir,
    )
    inputs.check_text(identity.address, multiline=True)


def _apply_identity(patient: Patient, identity: Identity) -> None:
    check_identity(identity)
    count = patient.write(identity.sealed_values())
    for column, value in blind_indexes(patient.practice_id, identity).items():
        setattr(patient, column, value)
    keys.count_encryptions(patient.practice_id, patient.key_version, count)


@transaction.atomic
def patient_create(
    *,
    practice: Practice,
    identity: Identity,
    actor: Actor,
    duplicate_confirmed: bool = False,
) -> Patient:
    patient = Patient(practice=practice)
    _apply_identity(patient, identity)
    patient.save(force_insert=True)
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=practice,
        object_type="patient",
        object_id=patient.pk,
        detail={"duplicate_confirmed": duplicate_confirmed},
    )
    return patient


@transaction.atomic
def patient_update(
    *,
    patient: Patient,
    identity: Identity,
    actor: Actor,
) -> Patient:
    _apply_identity(patient, identity)
    patient.save()
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=patient.practice_id,
        object_type="patient",
        object_id=patient.pk,
    )
    return patient


class RestrictionRefused(PermissionError):
    """The actor may not change this record's restriction; the message is the
    French sentence the page shows."""


def may_change_restriction(*, patient: Patient, actor: Actor) -> bool:
    """A practitioner's right to restrict or open a record: an open record, any
    practitioner of the practice who writes notes; a restricted one, only a
    practitioner the restriction names (a guardian grant on this very record),
    never one who reads it through a break-glass grant. The platform's own
    tasks and commands (a system actor, no person) may."""
    if actor.user is None and actor.role == SYSTEM_ROLE:
        return True
    if actor.user is None or "change_clinical_notes" not in ROLE_PERMISSIONS.get(actor.role, ()):
        return False
    if not patient.restricted:
        return True
    return PatientUserObjectPermission.objects.filter(
        content_object=patient,
        user=actor.user,
        permission__codename="view_restricted_notes",
    ).exists()


def patient_set_restricted(
    *,
    patient: Patient,
    restricted: bool,
    practitioners: list[User],
    actor: Actor,
) -> Patient:
    """Restrict (or open) a record: only the named practitioners keep the notes,
    through a guardian object permission on this patient. Refused
    (RestrictionRefused) unless may_change_restriction(); a refusal is audited
    as denied, and every attempt, allowed or not, is one the compliance
    detectors alert on (detail "change": "restriction")."""
    try:
        return _set_restricted(
            patient=patient, restricted=restricted, practitioners=practitioners, actor=actor
        )
    except RestrictionRefused:
        record_event(
            actor=actor,
            action=Action.UPDATE,
            outcome=Outcome.DENIED,
            practice=patient.practice_id,
            object_type="patient",
            object_id=patient.pk,
            detail={"change": "restriction", "restricted": restricted},
        )
        raise


@transaction.atomic
def _set_restricted(
    *, patient: Patient, restricted: bool, practitioners: list[User], actor: Actor
) -> Patient:
    locked = Patient.objects.select_for_update().get(practice_id=patient.practice_id, pk=patient.pk)
    if not may_change_restriction(patient=locked, actor=actor):
        raise RestrictionRefused(
            _(
                "Seul un praticien désigné sur ce dossier restreint peut en modifier la "
                "restriction ; un accès d'urgence ne le permet pas."
            )
        )
    patient.restricted = restricted
    patient.save(update_fields=["restricted", "updated_at"])
    if restricted:
        for practitioner in practitioners:
            assign_perm("patients.view_restricted_notes", practitioner, patient)
    else:
        # Lifting the restriction drops every grant, so that a later restriction
        # starts from nobody but the practitioners it names.
        PatientUserObjectPermission.objects.filter(content_object=patient).delete()
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=patient.practice_id,
        object_type="patient",
        object_id=patient.pk,
        detail={
            "change": "restriction",
            "restricted": restricted,
            "practitioner_ids": [practitioner.pk for practitioner in practitioners],
        },
    )
    return patient


@transaction.atomic
def clinical_note_add(*, patient: Patient, text: str, actor: Actor) -> ClinicalNote:
    inputs.check_text(text, multiline=True)
    note = ClinicalNote(practice_id=patient.practice_id, patient=patient, author=actor.user)
    count = note.write({"text": text})
    note.save(force_insert=True)
    keys.count_encryptions(note.practice_id, note.key_version, count)
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=patient.practice_id,
        object_type="clinical_note",
        object_id=note.pk,
        detail={"patient": str(patient.pk)},
    )
    return note


@transaction.atomic
def consent_record(*, patient: Patient, purpose: str, actor: Actor) -> Consent:
    """Idempotent: an active consent for the same purpose is kept as it is."""
    consent = Consent.objects.filter(
        practice_id=patient.practice_id, patient=patient, purpose=purpose, withdrawn_at=None
    ).first()
    if consent is None:
        consent = Consent.objects.create(
            practice_id=patient.practice_id,
            patient=patient,
            purpose=purpose,
            recorded_by=actor.user,
        )
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=patient.practice_id,
        object_type="consent",
        object_id=consent.pk,
        detail={"patient": str(patient.pk), "purpose": purpose},
    )
    return consent


@transaction.atomic
def consent_withdraw(*, consent: Consent, actor: Actor) -> Consent:
    if consent.withdrawn_at is None:
        consent.withdrawn_at = timezone.now()
        consent.withdrawn_by = actor.user
        consent.save(update_fields=["withdrawn_at", "withdrawn_by"])
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=consent.practice_id,
        object_type="consent",
        object_id=consent.pk,
        detail={"patient": str(consent.patient_id), "purpose": consent.purpose, "withdrawn": True},
    )
    return consent


@transaction.atomic
def break_glass_open(*, patient: Patient, reason: str, actor: Actor) -> BreakGlassGrant:
    """A time-limited access to a restricted record's notes. The reason is
    mandatory and sealed; the audit event is the distinct break_glass action,
    from which compliance alerts the compliance officers
    (compliance.detectors.detect_break_glass, within a detection pass)."""
    if not reason.strip():
        raise ValueError("a break-glass access needs a reason")
    inputs.check_text(reason, multiline=True)
    now = timezone.now()
    grant = BreakGlassGrant(
        practice_id=patient.practice_id,
        patient=patient,
        user=actor.user,
        created_at=now,
        expires_at=now + timedelta(hours=BreakGlassGrant.DURATION_HOURS),
    )
    count = grant.write({"reason": reason.strip()})
    grant.save(force_insert=True)
    keys.count_encryptions(grant.practice_id, grant.key_version, count)
    record_event(
        actor=actor,
        action=Action.BREAK_GLASS,
        practice=patient.practice_id,
        object_type="patient",
        object_id=patient.pk,
        detail={"grant": str(grant.pk), "hours": BreakGlassGrant.DURATION_HOURS},
    )
    return grant
