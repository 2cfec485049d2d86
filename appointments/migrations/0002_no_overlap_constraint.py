"""PostgreSQL only: the database itself refuses two non-cancelled appointments
of one practitioner that overlap (the application check in
appointments.services gives the clear message; this is the guard that holds
even behind the application's back). SQLite keeps the application check only.

CREATE EXTENSION needs a role allowed to create it (superuser, or a trusted
extension on PostgreSQL >= 13 for the database owner); in production it may be
created beforehand by the DBA, hence IF NOT EXISTS.
"""

from django.db import migrations

CONSTRAINT = "appointment_no_overlap"


def create_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE appointments_appointment ADD CONSTRAINT {CONSTRAINT} "
        'EXCLUDE USING gist (practitioner_id WITH =, tstzrange(start, "end") WITH &&) '
        "WHERE (status <> 'cancelled')"
    )


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE appointments_appointment DROP CONSTRAINT IF EXISTS {CONSTRAINT}"
    )


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_initial")]

    operations = [migrations.RunPython(create_constraint, drop_constraint)]
