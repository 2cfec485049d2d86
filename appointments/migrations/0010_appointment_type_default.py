"""The practice's default appointment type for the console (issue 14 item 2).

A new column, false everywhere (existing practices keep the console's fallback:
the first type by name), and a partial unique index: at most one default per
practice. The index holds practice_id, as Citus needs of a distributed table.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_practice_privacy_contact'),
        ('appointments', '0009_absence_sane_dates'),
    ]

    operations = [
        migrations.AddField(
            model_name='appointmenttype',
            name='is_default',
            field=models.BooleanField(default=False, help_text="Type présélectionné dans la console quand l'appelant n'a pas encore de rendez-vous ; un seul par cabinet.", verbose_name='proposé par défaut au téléphone'),
        ),
        migrations.AddConstraint(
            model_name='appointmenttype',
            constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('practice',), name='appointment_type_one_default'),
        ),
    ]
