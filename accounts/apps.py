from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Comptes et cabinets")

    def ready(self) -> None:
        from accounts.dbroles import grant_privileges  # noqa: PLC0415 -- app registry not ready at import
        from accounts.roles import Role  # noqa: PLC0415 -- app registry not ready at import
        from audit.labels import name_codes  # noqa: PLC0415 -- app registry not ready at import

        # A role in an audit or alert detail reads as the role's name.
        name_codes("role", Role)

        # Once per migrate (after the last app's signal would do as well: the
        # handler covers every table of the schema).
        post_migrate.connect(grant_privileges, sender=self, dispatch_uid="accounts.dbroles")
