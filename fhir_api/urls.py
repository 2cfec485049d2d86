from django.urls import path

from fhir_api import api, oauth, views

app_name = "fhir"

_ADMIN = "plateforme/api/clients/"

urlpatterns = [
    path("fhir/metadata", api.metadata_view, name="metadata"),
    path(
        "fhir/.well-known/smart-configuration",
        api.smart_configuration_view,
        name="smart_configuration",
    ),
    path("fhir/auth/token", oauth.token_view, name="token"),
    path("fhir/auth/revoke", oauth.revoke_view, name="revoke"),
    path("fhir/Practitioner", api.practitioner_search, name="practitioner_search"),
    path("fhir/Practitioner/<str:resource_id>", api.practitioner_read, name="practitioner_read"),
    path("fhir/PractitionerRole", api.practitioner_role_search, name="practitioner_role_search"),
    path(
        "fhir/PractitionerRole/<str:resource_id>",
        api.practitioner_role_read,
        name="practitioner_role_read",
    ),
    path("fhir/Schedule", api.schedule_search, name="schedule_search"),
    path("fhir/Schedule/<str:resource_id>", api.schedule_read, name="schedule_read"),
    path("fhir/Slot", api.slot_search, name="slot_search"),
    path("fhir/Patient", api.patient_search, name="patient_search"),
    path("fhir/Patient/<str:resource_id>", api.patient_read, name="patient_read"),
    path("fhir/Appointment", api.appointment_type_endpoint, name="appointments"),
    path("fhir/Appointment/<str:resource_id>", api.appointment_instance, name="appointment"),
    path(_ADMIN, views.clients_view, name="clients"),
    path(_ADMIN + "nouveau/", views.client_create_view, name="client_create"),
    path(_ADMIN + "<int:client_pk>/secret/", views.client_rotate_view, name="client_rotate"),
    path(_ADMIN + "<int:client_pk>/revoquer/", views.client_revoke_view, name="client_revoke"),
]
