"""A task that fails for good (retries exhausted) raises a visible alert."""

import logging

from celery.signals import task_failure
from django.utils import timezone

from compliance.models import Alert
from compliance.services import alert_raise

# Tasks whose failures raise one alert a day (see below).
ONCE_A_DAY = frozenset({"compliance.tasks.notice_mail"})


@task_failure.connect
def _alert_on_task_failure(sender=None, task_id=None, exception=None, **kwargs) -> None:
    name = getattr(sender, "name", "") or "unknown"
    fingerprint = f"task_failure:{task_id or name}"
    if name in ONCE_A_DAY:
        # The alert's own notices are mailed by that task: while the mail server
        # is down, one alert a day, not one more for each failed mail.

        fingerprint = f"task_failure:{name}:{timezone.localdate().isoformat()}"
    try:
        # The exception's type only: its message may carry data.
        alert_raise(
            kind=Alert.Kind.TASK_FAILURE,
            fingerprint=fingerprint,
            detail={"task": name[-80:], "error": type(exception).__name__[:80]},
        )
    except Exception:  # noqa: BLE001 - an alert failure must not hide the task's own
        logging.getLogger(__name__).exception("task failure alert not recorded")
