"""The schema stays distributable (issue 17 item 6, docs/scaling.md "The
distributed path", step 2): Citus requires the distribution column, practice_id,
in every unique constraint of a table distributed by practice. Two gain it:

- reminder_once_per_kind: (appointment, kind) becomes (practice, appointment, kind);
- waiting_one_open_per_type: (patient, appointment_type) among open entries becomes
  (practice, patient, appointment_type) among open entries.

Same meaning: the appointment and the patient each belong to one practice, so
the added column never tells two rows apart that the others did not. Same names,
which the code matches on.

No long lock (secretariat/online_ddl.py): each new unique index is built
CONCURRENTLY under a temporary name while the old one keeps refusing
duplicates, then takes the old one's place (the partial index of the waiting
list by DROP INDEX CONCURRENTLY and a rename; the reminders' table constraint by
one ALTER TABLE adopting the built index, an exclusive lock for a catalog change
only, given up after 10 s rather than queueing requests). Hence non-atomic:
interrupted, it can be run again. Run as the tables' owner (migrations are).
"""

from django.db import migrations, models
from django.db.models import Q

from secretariat.online_ddl import ReplaceUniqueConstraint


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("appointments", "0010_appointment_type_default")]

    operations = [
        ReplaceUniqueConstraint(
            model_name="reminder",
            old=models.UniqueConstraint(
                fields=["appointment", "kind"], name="reminder_once_per_kind"
            ),
            new=models.UniqueConstraint(
                fields=["practice", "appointment", "kind"], name="reminder_once_per_kind"
            ),
        ),
        ReplaceUniqueConstraint(
            model_name="waitinglistentry",
            old=models.UniqueConstraint(
                fields=["patient", "appointment_type"],
                condition=Q(resolved_at__isnull=True),
                name="waiting_one_open_per_type",
            ),
            new=models.UniqueConstraint(
                fields=["practice", "patient", "appointment_type"],
                condition=Q(resolved_at__isnull=True),
                name="waiting_one_open_per_type",
            ),
            where="resolved_at IS NULL",
        ),
    ]
