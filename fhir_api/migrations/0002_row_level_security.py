"""PostgreSQL: row-level security on the API clients, a provider record
(accounts/tenancy.py): inside a practice's transaction only that practice's
clients, outside one (the platform admin's page, a bearer token resolved before
any practice is known) all of them. No patient data."""

from django.db import migrations

from accounts import rls


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rls.enable("fhir_api_apiclient", "provider"), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rls.disable("fhir_api_apiclient"), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("fhir_api", "0001_initial"),
        ("accounts", "0006_row_level_security"),
    ]

    operations = [migrations.RunPython(forward, backward)]
