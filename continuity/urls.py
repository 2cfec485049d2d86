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
    path("conformite/registre/", views.register_index_view, name="register_index"),
    path("conformite/registre/<slug:slug>/", views.register_view, name="register"),
    path("conformite/registre/<slug:slug>/pdf/", views.register_pdf_view, name="register_pdf"),
]
