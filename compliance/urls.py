from django.urls import path

from compliance import views

app_name = "compliance"

urlpatterns = [
    path("notifications/", views.notice_list_view, name="notice_list"),
    path("notifications/tout-lu/", views.notice_read_all_view, name="notice_read_all"),
    path("notifications/<int:notice_id>/ouvrir/", views.notice_open_view, name="notice_open"),
    path("conformite/alertes/", views.alert_list_view, name="alert_list"),
    path(
        "conformite/alertes/<int:alert_id>/acquitter/",
        views.alert_acknowledge_view,
        name="alert_acknowledge",
    ),
    path("conformite/conservation/", views.retention_index_view, name="retention_index"),
    path("conformite/conservation/<slug:slug>/", views.retention_view, name="retention"),
    path(
        "p/<slug:practice>/conservation/",
        views.practice_retention_view,
        name="practice_retention",
    ),
    path("conformite/incidents/", views.incident_list_view, name="incident_list"),
    path("conformite/incidents/nouveau/", views.incident_create_view, name="incident_create"),
    path("conformite/incidents/export/", views.incident_export_view, name="incident_export"),
    path(
        "conformite/incidents/<int:incident_id>/",
        views.incident_detail_view,
        name="incident_detail",
    ),
    path(
        "conformite/incidents/<int:incident_id>/autorite-notifiee/",
        views.incident_authority_notified_view,
        name="incident_authority_notified",
    ),
    path(
        "conformite/incidents/<int:incident_id>/notification-autorite/",
        views.incident_authority_notice_view,
        name="incident_authority_notice",
    ),
    path(
        "conformite/incidents/<int:incident_id>/notification-autorite/export/",
        views.incident_authority_notice_export_view,
        name="incident_authority_notice_export",
    ),
    path(
        "p/<slug:practice>/incidents/notifications/<int:notification_id>/",
        views.practice_notification_preview_view,
        name="practice_notification_preview",
    ),
    path(
        "p/<slug:practice>/incidents/",
        views.practice_incident_list_view,
        name="practice_incidents",
    ),
    path(
        "p/<slug:practice>/incidents/notifications/<int:notification_id>/envoyer/",
        views.practice_notification_send_view,
        name="practice_notification_send",
    ),
    path("conformite/revue-des-acces/", views.access_review_view, name="access_review"),
    path(
        "conformite/revue-des-acces/demarrer/",
        views.access_review_start_view,
        name="access_review_start",
    ),
    path(
        "conformite/revue-des-acces/clore/",
        views.access_review_close_view,
        name="access_review_close",
    ),
    path(
        "conformite/revue-des-acces/<int:membership_id>/<str:decision>/",
        views.access_review_decide_view,
        name="access_review_decide",
    ),
    path("conformite/registre/", views.register_index_view, name="register_index"),
    path("conformite/registre/<slug:slug>/", views.register_view, name="register"),
    path("conformite/registre/<slug:slug>/pdf/", views.register_pdf_view, name="register_pdf"),
]
