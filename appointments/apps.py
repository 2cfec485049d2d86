from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Rendez-vous")

    def ready(self) -> None:
        from appointments.models import Appointment  # noqa: PLC0415 -- app registry not ready at import
        from audit.labels import name_codes  # noqa: PLC0415 -- app registry not ready at import

        # An appointment's status and cancellation category in an audit detail, in words.
        name_codes("status", Appointment.Status)
        name_codes("category", Appointment.CancellationCategory)
