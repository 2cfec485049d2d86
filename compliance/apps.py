from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = _("Conformité")

    def ready(self) -> None:
        # Connects Celery's task_failure signal to the alert inbox.
        from compliance import signals  # noqa: F401, PLC0415 -- app registry not ready at import
