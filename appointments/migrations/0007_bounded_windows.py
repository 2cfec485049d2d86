"""Time windows bounded on both sides (issue 18 item 4).

An appointment overlapping [window_start, window_end) starts before the window's
end and, lasting at most a day, after window_start - 1 day: with both bounds the
(practice, start) and (practitioner, start) indexes read the window only, not
every earlier appointment. On PostgreSQL a check constraint holds the length
(types last at most 480 minutes; NOT VALID then VALIDATE, so that existing rows
are checked without blocking writes for the scan), and the busy-interval function
of 0006 gets the lower bound. Absences may last months: they get an index on
their end instead (SQLite and PostgreSQL).
"""

from importlib import import_module

from django.db import migrations, models

CONSTRAINT = "appointment_at_most_a_day"

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
      AND a.start < window_end AND a.start > window_start - interval '1 day'
      AND a."end" > window_start
      AND a.status <> 'cancelled'
      AND a.id IS DISTINCT FROM exclude_appointment
    UNION ALL
    SELECT b.practitioner_id, b.start, b."end" FROM appointments_absence AS b
    WHERE b.practitioner_id IN (SELECT user_id FROM ours)
      AND b.start < window_end AND b."end" > window_start
$$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE appointments_appointment ADD CONSTRAINT {CONSTRAINT} "
        """CHECK ("end" <= start + interval '1 day') NOT VALID"""
    )
    schema_editor.execute(f"ALTER TABLE appointments_appointment VALIDATE CONSTRAINT {CONSTRAINT}")
    schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    previous = import_module("appointments.migrations.0006_busy_intervals_function")
    schema_editor.execute(previous.PG_FORWARD, params=None)
    schema_editor.execute(
        f"ALTER TABLE appointments_appointment DROP CONSTRAINT IF EXISTS {CONSTRAINT}"
    )


class Migration(migrations.Migration):
    dependencies = [("appointments", "0006_busy_intervals_function")]

    operations = [
        migrations.AddIndex(
            model_name="absence",
            index=models.Index(fields=["practitioner", "end"], name="absence_by_end"),
        ),
        migrations.RunPython(forward, backward),
    ]
