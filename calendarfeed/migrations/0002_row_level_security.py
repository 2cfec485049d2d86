"""PostgreSQL: row-level security on the calendar feeds (practice data, like
every tenant table: accounts migration 0006, accounts/rls.py), and the one
lookup that must run before any practice is known: a feed fetch names its feed
by the secret in its address. `calendarfeed_practice_of(digest)` runs as its
owner (SECURITY DEFINER) and returns only the practice of the feed with that
digest (of a 256-bit secret); the feed itself is then read inside that
practice's scope (calendarfeed.selectors.feed_for_secret)."""

from django.db import migrations

from accounts import rls

PG_FORWARD = """
CREATE OR REPLACE FUNCTION calendarfeed_practice_of(digest text) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT practice_id FROM calendarfeed_calendarfeed WHERE secret_digest = digest
$$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        statements = [rls.enable("calendarfeed_calendarfeed", "practice"), PG_FORWARD]
        schema_editor.execute("\n".join(statements), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        statements = [
            "DROP FUNCTION IF EXISTS calendarfeed_practice_of(text);",
            rls.disable("calendarfeed_calendarfeed"),
        ]
        schema_editor.execute("\n".join(statements), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("calendarfeed", "0001_initial"),
        ("accounts", "0006_row_level_security"),
    ]

    operations = [migrations.RunPython(forward, backward)]
