"""PostgreSQL: row-level security on the replies to call messages, as practice
data (accounts/tenancy.py): the rows of the practice set for the transaction,
none without one."""

from django.db import migrations

from accounts import rls


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rls.enable("console_messagereply", "practice"), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rls.disable("console_messagereply"), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0003_message_reply"),
        ("accounts", "0006_row_level_security"),
    ]

    operations = [migrations.RunPython(forward, backward)]
