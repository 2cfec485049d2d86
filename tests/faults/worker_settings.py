"""Settings of the worker processes the fault tests start: the project's, with
Redis giving a lost worker's unacknowledged message back after seconds instead
of an hour, and results kept (counts only) so the test can read them."""

from secretariat.settings import *  # noqa: F403
from secretariat.settings import CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_BROKER_URL

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": 3,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
