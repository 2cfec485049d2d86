from django.urls import path

from console import views, webhook

app_name = "console"

_PRACTICE = "p/<slug:practice>/console/"

urlpatterns = [
    path("console/", views.home_view, name="home"),
    path("console/appel/", views.ringing_view, name="ringing"),
    path("cti/evenements/", webhook.cti_webhook_view, name="cti_webhook"),
    path(_PRACTICE, views.practice_view, name="practice"),
    path(_PRACTICE + "recherche/", views.search_view, name="search"),
    path(_PRACTICE + "appels/<uuid:call>/", views.call_view, name="call"),
    path(_PRACTICE + "fin-appel/", views.call_end_view, name="call_end"),
    path("p/<slug:practice>/appels/", views.practice_calls_view, name="practice_calls"),
    path("plateforme/appels/", views.platform_calls_view, name="platform_calls"),
    path(_PRACTICE + "nouveau/", views.new_caller_view, name="new_caller"),
    path(_PRACTICE + "patients/<uuid:patient>/", views.patient_view, name="patient"),
    path(_PRACTICE + "patients/<uuid:patient>/message/", views.message_view, name="message"),
    path("p/<slug:practice>/messages/<uuid:message>/repondre/", views.reply_view, name="reply"),
    path(
        _PRACTICE + "patients/<uuid:patient>/<int:appointment_type>/reserver/",
        views.book_view,
        name="book",
    ),
]
