from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out
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
        user_logged_out.connect(_end_lease, dispatch_uid="console.ring.lease_end")


def _end_lease(sender, request, **kwargs) -> None:
    """A logout (by the user or by the session policy): the session's polls go
    back through the full view at once, which sends them to the login."""
    from console import ring  # noqa: PLC0415 -- app registry not ready at import

    if request is not None:
        ring.lease_end(request.session.session_key)
