from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = _("Console d'appel")

    def ready(self) -> None:
        from audit.labels import name_codes  # noqa: PLC0415 -- app registry not ready at import
        from console.models import Call  # noqa: PLC0415 -- app registry not ready at import

        # A call's outcome, source and phone event in an audit detail, in words.
        name_codes("outcome", Call.Outcome)
        name_codes("source", Call.Source)
        name_codes("event", Call.State)
