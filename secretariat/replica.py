"""Reads that can lag go to a streaming replica, when one is configured.

`DATABASE_REPLICA_URL` adds the `replica` database; the queries that may show
data a few seconds old (the audit browser and its CSV export: the trail's
largest reads) name it with `.using(lagging_reads())`. Without a replica they
read the primary. The choice is made per query, not by a router for whole
models: a service that reads a row before writing it (an audit chain head, a
slot) must read the primary, and a router cannot tell those reads apart.
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"


def lagging_reads() -> str:
    """The database alias for a read that may lag behind the primary."""
    return REPLICA if REPLICA in settings.DATABASES else DEFAULT_DB_ALIAS
