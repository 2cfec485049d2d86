"""SMART on FHIR v2 system scopes: what an API client may be granted, and the
django-oauth-toolkit scopes backend that limits a client to the scopes its
registration lists (a token asked without `scope` gets all of them).

A scope is `system/<Resource>.<permissions>` (SMART App Launch 2.0, "cruds"
letters). The API grants reads and searches per resource type, booking
(`Appointment.c`) and cancelling (`Appointment.u`): nothing else exists, and no
scope reaches clinical notes, which the API does not serve at all.
"""

from django.utils.translation import gettext_lazy as _

SCOPES = {
    "system/Practitioner.rs": _("Lire et rechercher les praticiens du cabinet"),
    "system/PractitionerRole.rs": _("Lire et rechercher les rôles des praticiens"),
    "system/Schedule.rs": _("Lire et rechercher les agendas"),
    "system/Slot.rs": _("Rechercher les créneaux libres"),
    "system/Patient.rs": _("Lire et rechercher les patients (identité et téléphone)"),
    "system/Appointment.rs": _("Lire et rechercher les rendez-vous"),
    "system/Appointment.c": _("Prendre un rendez-vous"),
    "system/Appointment.u": _("Annuler un rendez-vous"),
}

# The resource types the API serves, in the CapabilityStatement's order.
RESOURCES = ("Practitioner", "PractitionerRole", "Schedule", "Slot", "Patient", "Appointment")


def parse(scope_text: str) -> frozenset[str]:
    """The known scopes named in a space-separated string (unknown ones dropped)."""
    return frozenset(word for word in scope_text.split() if word in SCOPES)


def allows(granted: frozenset[str], resource: str, letter: str) -> bool:
    """Whether the granted scopes permit `letter` (r, s, c or u) on `resource`."""
    prefix = f"system/{resource}."
    return any(scope.startswith(prefix) and letter in scope[len(prefix) :] for scope in granted)


class ClientScopes:
    """django-oauth-toolkit's scopes backend (OAUTH2_PROVIDER["SCOPES_BACKEND_CLASS"])."""

    def get_all_scopes(self) -> dict:
        return dict(SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return sorted(_client_scopes(application))

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return sorted(_client_scopes(application))


def _client_scopes(application) -> frozenset[str]:
    api_client = getattr(application, "api_client", None) if application is not None else None
    if api_client is None or not api_client.live:
        return frozenset()
    return parse(api_client.scopes)
