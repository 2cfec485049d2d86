from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from accounts.permissions import agreement_exempt
from onboarding.views import invitation_accept_view
from secretariat.favicon import favicon_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon_view, name="favicon"),
    path("i18n/setlang/", agreement_exempt(login_not_required(set_language)), name="set_language"),
    path("conformite/audit/", include("compliance.trail_urls")),
    path("plateforme/", include("onboarding.urls")),
    path("invitation/<str:token>/", invitation_accept_view, name="invitation_accept"),
    path("", include("accounts.urls")),
    path("", include("patients.urls")),
    path("", include("continuity.urls")),
    path("", include("compliance.urls")),
    path("", include("appointments.urls")),
    path("", include("calendarfeed.urls")),
    path("", include("console.urls")),
    path("", include("fhir_api.urls")),
]

handler400 = "secretariat.errors.bad_request"
handler403 = "secretariat.errors.permission_denied"
handler404 = "secretariat.errors.page_not_found"
handler500 = "secretariat.errors.server_error"
