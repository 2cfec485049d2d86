"""Each form of the project, with what it takes to build it and the page that
receives it. The POST pages come from the access table (tests/access), so
the URL, its objects and the persona allowed there are the table's; pages
outside the table (login steps, the invitation link) say how to reach them.
test_forms.py fails when a form of the apps has no case here."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.test import Client
from django.urls import reverse

from accounts import forms as account_forms
from accounts.models import Practice
from accounts.scoping import practice_scope
from appointments import forms as appointment_forms
from calendarfeed import forms as calendar_forms
from compliance import forms as compliance_forms
from compliance import trail_forms
from console import forms as console_forms
from continuity import forms as continuity_forms
from fhir_api import forms as fhir_forms
from onboarding import forms as onboarding_forms
from onboarding import services as onboarding_services
from onboarding.models import Invitation
from patients import forms as patient_forms
from tests.access.test_access import ALL_ROUTES
from tests.accounts.helpers import password_step
from tests.appointments.helpers import booking_world
from tests.factories import UserFactory, as_actor
from tests.personas import World


@dataclass(frozen=True)
class Page:
    """Where a form is posted: a route of the access table (by name and
    method), or a `reach` building the client and URL itself."""

    route: str = ""
    method: str = "post"
    fixed: Callable[[World], dict] = lambda world: {}
    reach: Callable[[World], tuple[Client, str]] | None = None


@dataclass(frozen=True)
class Case:
    form_kwargs: Callable[[World], dict] = lambda world: {}
    page: Page | None = None
    # The form's prefix, from the URL's kwargs (an alert's form carries its id).
    prefix: Callable[[dict], str] = lambda kwargs: ""
    # Models a refused post may still write (a failed login is counted).
    refusal_writes: frozenset[str] = field(default_factory=frozenset)


def route_of(page: Page):
    for route in ALL_ROUTES:
        if route.name == page.route and route.method == page.method:
            return route
    raise LookupError(f"{page.route} ({page.method}) is not in the access table")


def _practitioners(world: World) -> dict:
    booking_world(world)
    with practice_scope(world.practice_a):
        from appointments.selectors import practitioners

        return {"practitioners": list(practitioners(world.practice_a))}


def _practice_a(world: World) -> dict:
    return {"practice": Practice.objects.get(pk=world.practice_a.pk)}


def _login_page(world: World) -> tuple[Client, str]:
    return Client(), reverse("accounts:login")


def _otp_page(world: World) -> tuple[Client, str]:
    client = Client()
    # practitioner_a has a confirmed device (verified_client enrolled it).
    world.client("practitioner_a")
    password_step(client, world.users["practitioner_a"].username)
    return client, reverse("accounts:otp")


def _enrol_page(world: World) -> tuple[Client, str]:
    client = Client()
    user = UserFactory(username="sans_appareil")
    password_step(client, user.username)
    return client, reverse("accounts:enrol")


def _invitation_page(world: World) -> tuple[Client, str]:
    invitation = onboarding_services.invitation_create(
        email="invitee@example.org",
        first_name="Léa",
        last_name="Roy",
        role="practitioner",
        practice=world.practice_a,
        actor=as_actor(world.users["platform_admin"], "platform_admin"),
        site_url="http://testserver",
    )
    token = "jeton-de-test-des-proprietes"
    Invitation.objects.filter(pk=invitation.pk).update(
        token_digest=onboarding_services._digest(token)
    )
    return Client(), reverse("invitation_accept", kwargs={"token": token})


def _retention(world: World) -> dict:
    from compliance.retention import RULES

    return {"current": {kind: rule.default_days for kind, rule in RULES.items()}}


CASES: dict[type, Case] = {
    account_forms.LoginForm: Case(
        page=Page(reach=_login_page),
        refusal_writes=frozenset({"accounts.loginthrottle"}),
    ),
    account_forms.OTPForm: Case(
        page=Page(reach=_otp_page), refusal_writes=frozenset({"accounts.loginthrottle"})
    ),
    account_forms.EnrolForm: Case(
        page=Page(reach=_enrol_page),
        # The page makes the device to enrol when the session has none (each
        # example's savepoint takes the previous one away).
        refusal_writes=frozenset({"accounts.totpdevice", "accounts.loginthrottle"}),
    ),
    account_forms.AgreementForm: Case(page=Page("accounts:agreement")),
    appointment_forms.SlotForm: Case(page=Page("appointments:move")),
    appointment_forms.BookingForm: Case(page=Page("appointments:book_slot")),
    appointment_forms.ProposalFilterForm: Case(
        form_kwargs=_practitioners, page=Page("appointments:book_slot", method="get")
    ),
    appointment_forms.CancelForm: Case(page=Page("appointments:cancel")),
    appointment_forms.StatusForm: Case(page=Page("appointments:status")),
    appointment_forms.CallMessageForm: Case(
        form_kwargs=_practitioners, page=Page("appointments:message_new")
    ),
    appointment_forms.AppointmentTypeForm: Case(page=Page("appointments:type_new")),
    appointment_forms.WorkingHoursForm: Case(
        page=Page("appointments:schedule", fixed=lambda world: {"action": "hours"})
    ),
    appointment_forms.SlotMinutesForm: Case(
        page=Page("appointments:schedule", fixed=lambda world: {"action": "slot"})
    ),
    appointment_forms.AbsenceForm: Case(
        page=Page("appointments:schedule", fixed=lambda world: {"action": "absence"})
    ),
    trail_forms.EventFilterForm: Case(page=Page("audit:event_list")),
    trail_forms.PatientAccessForm: Case(page=Page("audit:patient_access")),
    calendar_forms.InitialsForm: Case(page=Page("calendarfeed:initials")),
    compliance_forms.AcknowledgeForm: Case(
        page=Page("compliance:alert_acknowledge"), prefix=lambda kwargs: f"a{kwargs['alert_id']}"
    ),
    compliance_forms.RetentionForm: Case(form_kwargs=_retention, page=Page("compliance:retention")),
    compliance_forms.IncidentForm: Case(page=Page("compliance:incident_create")),
    continuity_forms.TrainingSessionForm: Case(page=Page("continuity:training_record")),
    onboarding_forms.PracticeIdentityForm: Case(page=Page("platform:practice_new")),
    onboarding_forms.PracticeIdentityEditForm: Case(page=Page("platform:practice_identity")),
    onboarding_forms.ContractForm: Case(page=Page("platform:contract_upload")),
    onboarding_forms.InvitationForm: Case(
        form_kwargs=lambda world: {"practice_roles": True}, page=Page("platform:practice_invite")
    ),
    onboarding_forms.AssignmentForm: Case(
        form_kwargs=_practice_a, page=Page("platform:assignment_add")
    ),
    onboarding_forms.StatusForm: Case(page=Page("platform:practice_status")),
    onboarding_forms.PracticeCloseForm: Case(page=Page("platform:practice_close")),
    onboarding_forms.DeviceResetForm: Case(page=Page("platform:device_reset")),
    onboarding_forms.InvitationAcceptForm: Case(page=Page(reach=_invitation_page)),
    console_forms.ConsoleSearchForm: Case(page=Page("console:search")),
    console_forms.PanelForm: Case(page=Page("console:patient", method="get")),
    console_forms.NewCallerForm: Case(page=Page("console:new_caller")),
    console_forms.CallEndForm: Case(page=Page("console:call_end")),
    console_forms.CallerMessageForm: Case(form_kwargs=_practitioners, page=Page("console:message")),
    console_forms.ReplyForm: Case(page=Page("console:reply")),
    fhir_forms.ApiClientForm: Case(page=Page("fhir:client_create")),
    patient_forms.SearchForm: Case(page=Page("patients:search")),
    patient_forms.PatientForm: Case(page=Page("patients:create")),
    patient_forms.NoteForm: Case(page=Page("patients:note_add")),
    patient_forms.ConsentForm: Case(page=Page("patients:consent_record")),
    patient_forms.ConsentWithdrawForm: Case(page=Page("patients:consent_withdraw")),
    patient_forms.BreakGlassForm: Case(page=Page("patients:break_glass")),
}
