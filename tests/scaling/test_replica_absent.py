"""Without DATABASE_REPLICA_URL, reads that can lag read the primary."""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from audit.selectors import filtered_events
from secretariat.replica import REPLICA, lagging_reads


def test_without_a_replica_lagging_reads_use_the_primary():
    assert REPLICA not in settings.DATABASES
    assert lagging_reads() == DEFAULT_DB_ALIAS
    assert filtered_events().db == DEFAULT_DB_ALIAS
