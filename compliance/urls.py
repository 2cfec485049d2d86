from django.urls import path

from compliance import views

app_name = "compliance"

urlpatterns = [
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
]
