"""The schema stays distributable (docs/scaling.md, "The distributed path"): Citus
distributes the practice-data tables by practice_id and requires every unique and
exclusion constraint of a distributed table to include that column. Read from the
database's catalog for every practice-data table of accounts.tenancy, so a new
table or constraint is checked without being listed here.

Today's gaps are listed with the step of the plan that closes each; a new gap
fails, and so does a listed one that has been closed (the list only shrinks)."""

import pytest
from django.db import connection

from accounts.tenancy import PRACTICE_DATA, policy_kind, tenant_models

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL catalog"),
]

# Surrogate primary keys (`id`): every practice-data table has one. Citus needs
# (practice_id, id) instead; docs/scaling.md step 3 (composite primary keys).
# Beyond them, the constraints without practice_id today, each closed by adding
# the column (same meaning: the other columns already imply the practice):
KNOWN_GAPS = {
    ("appointments_appointment", "appointment_no_overlap"),
    ("appointments_reminder", "reminder_once_per_kind"),
    ("appointments_waitinglistentry", "waiting_one_open_per_type"),
    ("calendarfeed_calendarfeed", "calendarfeed_calendarfeed_secret_digest_key"),
    ("patients_consent", "consent_one_active_per_purpose"),
}

_CONSTRAINTS = """
SELECT i.relname, array(
    SELECT a.attname FROM unnest(x.indkey) AS k
    JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k
)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
  AND (x.indisunique OR x.indisexclusion)
"""


def _practice_data_tables() -> list[str]:
    return sorted(
        model._meta.db_table for model in tenant_models() if policy_kind(model) == PRACTICE_DATA
    )


def _gaps() -> set[tuple[str, str]]:
    gaps = set()
    with connection.cursor() as cursor:
        for table in _practice_data_tables():
            cursor.execute(_CONSTRAINTS, [table])
            gaps |= {
                (table, name) for name, columns in cursor.fetchall() if "practice_id" not in columns
            }
    return gaps


def test_unique_and_exclusion_constraints_include_the_practice_but_the_known_gaps():
    assert _gaps() == KNOWN_GAPS


def test_every_practice_data_table_has_the_distribution_column():
    assert _practice_data_tables()
    with connection.cursor() as cursor:
        for table in _practice_data_tables():
            cursor.execute(
                "SELECT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass"
                " AND attname = 'practice_id'",
                [table],
            )
            assert cursor.fetchone() == (True,), table
