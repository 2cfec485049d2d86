from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = _("Conformité")

    def ready(self) -> None:
        from audit.labels import name_codes  # noqa: PLC0415 -- app registry not ready at import
        from compliance.models import AccessReviewDecision, Alert, DataKind  # noqa: PLC0415 -- app registry not ready at import

        # An alert's kind, a kind of data and a review decision in a detail, in words.
        name_codes("kind", Alert.Kind)
        name_codes("kind", DataKind)
        name_codes("decision", AccessReviewDecision.Decision)

        # Connects Celery's task_failure signal to the alert inbox.
        from compliance import signals  # noqa: F401, PLC0415 -- app registry not ready at import
