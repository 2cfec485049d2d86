"""The audit browser's URLs: namespace "audit", mounted at /conformite/audit/."""

from django.urls import path

from compliance import trail_views as views

app_name = "audit"

urlpatterns = [
    path("", views.event_list_view, name="event_list"),
    path("evenements/<int:event_id>/", views.event_detail_view, name="event_detail"),
    path("patient/", views.patient_access_view, name="patient_access"),
    path("export/", views.export_view, name="export"),
]
