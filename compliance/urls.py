from django.urls import path

from compliance.views import access_review, alerts, incidents, register, retention

app_name = "compliance"

urlpatterns = [
    path("notifications/", alerts.notice_list_view, name="notice_list"),
    path("notifications/tout-lu/", alerts.notice_read_all_view, name="notice_read_all"),
    path("notifications/<int:notice_id>/ouvrir/", alerts.notice_open_view, name="notice_open"),
    path("conformite/alertes/", alerts.alert_list_view, name="alert_list"),
    path(
        "conformite/alertes/<int:alert_id>/acquitter/",
        alerts.alert_acknowledge_view,
        name="alert_acknowledge",
    ),
    path("conformite/conservation/", retention.retention_index_view, name="retention_index"),
    path("conformite/conservation/<slug:slug>/", retention.retention_view, name="retention"),
    path(
        "p/<slug:practice>/conservation/",
        retention.practice_retention_view,
        name="practice_retention",
    ),
    path("conformite/incidents/", incidents.incident_list_view, name="incident_list"),
    path("conformite/incidents/nouveau/", incidents.incident_create_view, name="incident_create"),
    path("conformite/incidents/export/", incidents.incident_export_view, name="incident_export"),
    path(
        "conformite/incidents/<int:incident_id>/",
        incidents.incident_detail_view,
        name="incident_detail",
    ),
    path(
        "conformite/incidents/<int:incident_id>/autorite-notifiee/",
        incidents.incident_authority_notified_view,
        name="incident_authority_notified",
    ),
    path(
        "conformite/incidents/<int:incident_id>/notification-autorite/",
        incidents.incident_authority_notice_view,
        name="incident_authority_notice",
    ),
    path(
        "conformite/incidents/<int:incident_id>/notification-autorite/export/",
        incidents.incident_authority_notice_export_view,
        name="incident_authority_notice_export",
    ),
    path(
        "p/<slug:practice>/incidents/notifications/<int:notification_id>/",
        incidents.practice_notification_preview_view,
        name="practice_notification_preview",
    ),
    path(
        "p/<slug:practice>/incidents/",
        incidents.practice_incident_list_view,
        name="practice_incidents",
    ),
    path(
        "p/<slug:practice>/incidents/notifications/<int:notification_id>/envoyer/",
        incidents.practice_notification_send_view,
        name="practice_notification_send",
    ),
    path("conformite/revue-des-acces/", access_review.access_review_view, name="access_review"),
    path(
        "conformite/revue-des-acces/demarrer/",
        access_review.access_review_start_view,
        name="access_review_start",
    ),
    path(
        "conformite/revue-des-acces/clore/",
        access_review.access_review_close_view,
        name="access_review_close",
    ),
    path(
        "conformite/revue-des-acces/<int:membership_id>/<str:decision>/",
        access_review.access_review_decide_view,
        name="access_review_decide",
    ),
    path("conformite/registre/", register.register_index_view, name="register_index"),
    path("conformite/registre/<slug:slug>/", register.register_view, name="register"),
    path("conformite/registre/<slug:slug>/pdf/", register.register_pdf_view, name="register_pdf"),
]
