from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContinuityConfig(AppConfig):
    name = "continuity"
    verbose_name = _("Continuité et conformité")

    def ready(self) -> None:
        from audit.labels import name_codes  # noqa: PLC0415 -- app registry not ready at import
        from continuity.models import Outcome  # noqa: PLC0415 -- app registry not ready at import

        # A restore drill's outcome in an audit detail, in words.
        name_codes("outcome", Outcome)
