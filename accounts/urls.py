from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("connexion/", views.login_view, name="login"),
    path("connexion/code/", views.otp_view, name="otp"),
    path("connexion/enrolement/", views.enrol_view, name="enrol"),
    path("deconnexion/", views.logout_view, name="logout"),
    path("charte/", views.agreement_view, name="agreement"),
    path("compte/sessions/", views.sessions_view, name="sessions"),
    path("compte/sessions/<int:session_id>/terminer/", views.session_end_view, name="session_end"),
    path("compte/mot-de-passe/", views.password_change_view, name="password_change"),
    path("p/<slug:practice>/", views.practice_home_view, name="practice_home"),
    path("p/<slug:practice>/equipe/", views.team_view, name="team"),
    path(
        "p/<slug:practice>/equipe/<int:membership_id>/confirmer/",
        views.team_confirm_view,
        name="team_confirm",
    ),
    path(
        "p/<slug:practice>/equipe/<int:membership_id>/refuser/",
        views.team_refuse_view,
        name="team_refuse",
    ),
]
