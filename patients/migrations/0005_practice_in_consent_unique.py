"""The schema stays distributable (issue 17 item 6, docs/scaling.md "The
distributed path", step 2): Citus requires the distribution column, practice_id,
in every unique constraint of a table distributed by practice.
consent_one_active_per_purpose, (patient, purpose) among consents not withdrawn,
becomes (practice, patient, purpose) among consents not withdrawn. Same meaning:
a patient belongs to one practice. Same name.

No long lock (secretariat/online_ddl.py): the new partial unique index is built
CONCURRENTLY under a temporary name while the old one keeps refusing
duplicates, then the old one is dropped CONCURRENTLY and the new one renamed.
Hence non-atomic: interrupted, it can be run again. Run as the table's owner.
"""

from django.db import migrations, models

from secretariat.online_ddl import ReplaceUniqueConstraint


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("patients", "0004_patient_purged_activity")]

    operations = [
        ReplaceUniqueConstraint(
            model_name="consent",
            old=models.UniqueConstraint(
                fields=["patient", "purpose"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            ),
            new=models.UniqueConstraint(
                fields=["practice", "patient", "purpose"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            ),
            where="withdrawn_at IS NULL",
        ),
    ]
