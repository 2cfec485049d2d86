"""The schema stays distributable (issue 17 item 6, docs/scaling.md "The
distributed path", step 2): Citus requires the distribution column, practice_id,
in every exclusion constraint of a table distributed by practice.

appointment_no_overlap refused two non-cancelled appointments of one
practitioner that overlap, in any practices (0002). It becomes
(practice_id WITH =, practitioner_id WITH =, tstzrange(start, end) WITH &&),
same name (the booking services match on it), same condition. Within a
practice nothing changes: the database still refuses an overlap written behind
the application's back. Across practices (a practitioner working for several
is one person) the guarantee moves to the application, as Citus requires: the
booking services take a lock on the practitioner's user row (one row for every
practice: appointments.services.base.lock_practitioner) before reading the
practitioner's busy time in every practice (appointments_busy_intervals, 0006),
so two simultaneous bookings of one practitioner in two practices are
serialised and the second one sees the first
(tests/appointments/test_concurrency.py).

The lock. PostgreSQL builds an exclusion constraint's index only inside ALTER
TABLE, under an ACCESS EXCLUSIVE lock: there is no CONCURRENTLY for it, so the
table is locked (no agenda read, no booking) while the new index is built,
about 1.5 min per million appointments measured on the 2-core development
machine under load. The new constraint is added before the old one is dropped
and renamed after, in one transaction, so that no moment lets an overlap in;
lock_timeout makes it give up (and be retried later) rather than queue every
request behind a long transaction while it waits for the lock. On a large
installation, run it in a quiet hour. btree_gist (for `=` on bigint in a GiST
index) is installed since 0002. Run as the table's owner (migrations are).
"""

from django.db import migrations

TABLE = "appointments_appointment"
CONSTRAINT = "appointment_no_overlap"
BUILDING = f"{CONSTRAINT}_new"
# One statement's lock wait, not the build (lock_timeout bounds waiting only).
LOCK_TIMEOUT = "10s"

PER_PRACTICE = "practice_id WITH =, practitioner_id WITH =, "
ANY_PRACTICE = "practitioner_id WITH =, "


def _replace(schema_editor, columns: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite keeps the application's check only (0002)
    execute = schema_editor.execute
    execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {BUILDING}")
    execute(
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {BUILDING} EXCLUDE USING gist "
        f"({columns}tstzrange(start, \"end\") WITH &&) WHERE (status <> 'cancelled')"
    )
    execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {CONSTRAINT}")
    execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {BUILDING} TO {CONSTRAINT}")


def forward(apps, schema_editor):
    _replace(schema_editor, PER_PRACTICE)


def backward(apps, schema_editor):
    _replace(schema_editor, ANY_PRACTICE)


class Migration(migrations.Migration):
    dependencies = [("appointments", "0011_practice_in_unique_constraints")]

    operations = [migrations.RunPython(forward, backward)]
