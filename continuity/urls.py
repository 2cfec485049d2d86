from django.urls import path

from continuity import views

app_name = "continuity"

urlpatterns = [
    path("formation-requise/", views.training_required_view, name="training_required"),
    path("conformite/formations/", views.training_view, name="training"),
    path(
        "conformite/formations/enregistrer/",
        views.training_record_view,
        name="training_record",
    ),
    path("conformite/continuite/", views.continuity_view, name="continuity"),
]
