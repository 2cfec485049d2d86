from django.urls import path

from patients import views

app_name = "patients"

_PATIENT = "p/<slug:practice>/patients/<uuid:patient>/"

urlpatterns = [
    path("p/<slug:practice>/patients/", views.search_view, name="search"),
    path("p/<slug:practice>/patients/nouveau/", views.create_view, name="create"),
    path(
        "p/<slug:practice>/patients/acces-urgence/",
        views.break_glass_list_view,
        name="break_glass_list",
    ),
    path(_PATIENT, views.detail_view, name="detail"),
    path(_PATIENT + "modifier/", views.edit_view, name="edit"),
    path(_PATIENT + "notes/ajouter/", views.note_add_view, name="note_add"),
    path(_PATIENT + "consentements/", views.consent_record_view, name="consent_record"),
    path(
        _PATIENT + "consentements/<int:consent>/retrait/",
        views.consent_withdraw_view,
        name="consent_withdraw",
    ),
    path(_PATIENT + "export/", views.export_html_view, name="export_html"),
    path(_PATIENT + "export.json", views.export_json_view, name="export_json"),
    path(_PATIENT + "export.pdf", views.export_pdf_view, name="export_pdf"),
    path(_PATIENT + "restriction/", views.restrict_view, name="restrict"),
    path(_PATIENT + "acces-urgence/", views.break_glass_view, name="break_glass"),
]
