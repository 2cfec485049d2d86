from django.urls import path

from calendarfeed import views

app_name = "calendarfeed"

_PAGE = "p/<slug:practice>/agenda/abonnement/"

urlpatterns = [
    path("calendrier/<str:secret>.ics", views.feed_view, name="feed"),
    path(_PAGE, views.subscription_view, name="subscription"),
    path(_PAGE + "creer/", views.subscription_create_view, name="create"),
    path(_PAGE + "initiales/", views.subscription_initials_view, name="initials"),
    path(_PAGE + "revoquer/", views.subscription_revoke_view, name="revoke"),
]
