"""PostgreSQL: row-level security on the notices (a tenant table: they carry a
practice), as provider records (accounts/tenancy.py): inside a practice's
transaction that practice's notices and those of no practice, all of them
outside one (the inbox, the header count)."""

from django.db import migrations

from accounts import rls


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rls.enable("compliance_notice", "provider"), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rls.disable("compliance_notice"), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0009_alert_role_grant"),
        ("accounts", "0006_row_level_security"),
    ]

    operations = [migrations.RunPython(forward, backward)]
