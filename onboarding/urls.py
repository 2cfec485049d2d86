from django.urls import path

from onboarding import views

app_name = "platform"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("inviter/", views.provider_invite_view, name="provider_invite"),
    path("cabinets/nouveau/", views.practice_new_view, name="practice_new"),
    path("cabinets/<slug:slug>/", views.practice_view, name="practice"),
    path("cabinets/<slug:slug>/identite/", views.practice_identity_view, name="practice_identity"),
    path("cabinets/<slug:slug>/contrat/", views.contract_upload_view, name="contract_upload"),
    path("cabinets/<slug:slug>/cle/", views.data_key_create_view, name="data_key_create"),
    path("cabinets/<slug:slug>/agenda/", views.agenda_starter_view, name="agenda_starter"),
    path("cabinets/<slug:slug>/inviter/", views.practice_invite_view, name="practice_invite"),
    path("cabinets/<slug:slug>/affecter/", views.assignment_add_view, name="assignment_add"),
    path(
        "cabinets/<slug:slug>/affectations/<int:membership_id>/retirer/",
        views.assignment_remove_view,
        name="assignment_remove",
    ),
    path(
        "cabinets/<slug:slug>/roles/<int:membership_id>/confirmer/",
        views.membership_confirm_view,
        name="membership_confirm",
    ),
    path("cabinets/<slug:slug>/statut/", views.practice_status_view, name="practice_status"),
    path("cabinets/<slug:slug>/fermer/", views.practice_close_view, name="practice_close"),
    path(
        "invitations/<int:invitation_id>/revoquer/",
        views.invitation_revoke_view,
        name="invitation_revoke",
    ),
    path("utilisateurs/<int:user_id>/appareil/", views.device_reset_view, name="device_reset"),
]
