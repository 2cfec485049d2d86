"""PostgreSQL: a practitioner working for several practices is one person, busy
in all of them (the exclusion constraint of 0002 is per practitioner, not per
practice). Slot finding must see their appointments and absences in the other
practices, which row security hides from the application role (practice data,
accounts migration 0006). This function is the one narrow opening: it runs as
its owner (SECURITY DEFINER) and returns only (practitioner, start, end), for
practitioners of the practice set for the transaction. SQLite keeps the ORM
query (appointments.slots._busy).
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION appointments_busy_intervals(
    practitioner_ids bigint[], window_start timestamptz, window_end timestamptz,
    exclude_appointment uuid
) RETURNS TABLE (practitioner_id bigint, busy_start timestamptz, busy_end timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH ours AS (
        SELECT DISTINCT m.user_id FROM accounts_membership AS m
        WHERE m.practice_id = secretariat_practice_id() AND m.role = 'practitioner'
          AND m.user_id = ANY(practitioner_ids)
    )
    SELECT a.practitioner_id, a.start, a."end" FROM appointments_appointment AS a
    WHERE a.practitioner_id IN (SELECT user_id FROM ours)
      AND a.start < window_end AND a."end" > window_start
      AND a.status <> 'cancelled'
      AND a.id IS DISTINCT FROM exclude_appointment
    UNION ALL
    SELECT b.practitioner_id, b.start, b."end" FROM appointments_absence AS b
    WHERE b.practitioner_id IN (SELECT user_id FROM ours)
      AND b.start < window_end AND b."end" > window_start
$$;
"""

PG_BACKWARD = """
DROP FUNCTION IF EXISTS appointments_busy_intervals(bigint[], timestamptz, timestamptz, uuid);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0005_reminder_resend"),
        ("accounts", "0006_row_level_security"),
    ]

    operations = [migrations.RunPython(forward, backward)]
