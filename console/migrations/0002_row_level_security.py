"""PostgreSQL: row-level security on the lines and the calls, as provider
records (accounts/tenancy.py): inside a practice's transaction that practice's
rows, all of them outside one (the webhook finds the practice by its line, the
agent's console asks which practice rings, the platform counts calls)."""

from django.db import migrations

from accounts import rls

TABLES = ["console_phoneline", "console_call"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        statements = [rls.enable(table, "provider") for table in TABLES]
        schema_editor.execute("\n".join(statements), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("\n".join(rls.disable(table) for table in TABLES), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0001_initial"),
        ("accounts", "0006_row_level_security"),
    ]

    operations = [migrations.RunPython(forward, backward)]
