"""The rules of patients beyond a role's permission, in one place: the views
and the access selectors apply the same functions (pretalx's rules.py)."""

from enum import StrEnum

from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from accounts.models import User
from accounts.permissions import practice_perm
from accounts.selectors import PracticeAccess
from patients.models import BreakGlassGrant, Patient


class NotesAccess(StrEnum):
    ALLOWED = "allowed"
    # Restricted to other practitioners: this one may ask for emergency access.
    BREAK_GLASS = "break_glass"
    # The role never sees clinical content.
    DENIED = "denied"


def notes_access(*, user: User, access: PracticeAccess | None, patient: Patient) -> NotesAccess:
    """Whether the user may read the patient's clinical notes: a role carrying
    view_clinical_notes, and for a restricted record a grant on this very
    patient or a break-glass access still open."""
    if not practice_perm(access, "view_clinical_notes"):
        return NotesAccess.DENIED
    if not patient.restricted:
        return NotesAccess.ALLOWED
    if has_restricted_grant(user, patient) or active_break_glass(user, patient):
        return NotesAccess.ALLOWED
    return NotesAccess.BREAK_GLASS


def has_restricted_grant(user: User, patient: Patient) -> bool:
    """A guardian object permission on this very patient; no global permission
    and no superuser shortcut count (accept_global_perms=False)."""
    return (
        get_objects_for_user(
            user,
            "patients.view_restricted_notes",
            klass=Patient.objects.filter(practice_id=patient.practice_id, pk=patient.pk),
            use_groups=False,
            with_superuser=False,
            accept_global_perms=False,
        )
        .filter(pk=patient.pk)
        .exists()
    )


def active_break_glass(user: User, patient: Patient) -> BreakGlassGrant | None:
    return BreakGlassGrant.objects.filter(
        practice_id=patient.practice_id,
        patient=patient,
        user=user,
        expires_at__gt=timezone.now(),
    ).first()
