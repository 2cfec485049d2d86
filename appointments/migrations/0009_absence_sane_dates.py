"""Absences within sane dates (issue 12, defect 2).

The absence form once accepted 0001-01-01 (stored as a BC timestamp through the
Paris LMT offset): every page reading the practitioner's busy time then failed
(psycopg cannot read a year before 1). The forms and the service now bound the
dates (secretariat/inputs.py); the database gets an absolute wall, wider than
any bound the application uses: 1900 to 2200. Rows already outside it are
mended first: an absence wholly outside is removed (nobody is away in year 1),
one reaching outside is cut to the wall (the manager sees it and can delete it).
Run as the tables' owner, whom row security does not restrict.
"""

from datetime import UTC, datetime

from django.db import migrations, models
from django.db.models import Q

FIRST = datetime(1900, 1, 1, tzinfo=UTC)
LAST = datetime(2200, 1, 1, tzinfo=UTC)


def mend(apps, schema_editor):
    Absence = apps.get_model("appointments", "Absence")
    rows = Absence._base_manager.using(schema_editor.connection.alias)
    rows.filter(Q(end__lte=FIRST) | Q(start__gte=LAST)).delete()
    rows.filter(start__lt=FIRST).update(start=FIRST)
    rows.filter(end__gt=LAST).update(end=LAST)


class Migration(migrations.Migration):
    dependencies = [("appointments", "0008_reminder_destination")]

    operations = [
        migrations.RunPython(mend, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="absence",
            constraint=models.CheckConstraint(
                condition=Q(start__gte=FIRST, end__lte=LAST), name="absence_sane_dates"
            ),
        ),
    ]
