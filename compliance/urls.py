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
]
