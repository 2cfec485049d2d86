from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CalendarfeedConfig(AppConfig):
    name = "calendarfeed"
    verbose_name = _("Abonnements d'agenda")
