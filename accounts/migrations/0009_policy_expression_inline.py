"""PostgreSQL: the row-security policies of practice data and provider records
read the practice setting with the expression itself instead of calling
secretariat_practice_id() (accounts/rls.py says why: the planning cost of
inlining a SQL function, measured by bench.rls, docs/scaling.md). Same meaning,
same fail-closed behaviour: no setting, NULL, no practice-data row.

Every such policy is altered in place (ALTER POLICY keeps its command, roles and
name), found in the catalog by the names accounts/rls.py gives them: the tables
come from whichever migrations enabled row security, as they stand. The audit
trail's policies (`true`) are untouched. secretariat_practice_id() stays: the
SECURITY DEFINER functions of appointments (busy intervals) call it.
"""

from django.db import migrations

CURRENT = "nullif(current_setting('secretariat.practice_id', true), '')::bigint"
FUNCTION = "secretariat_practice_id()"


def _conditions(current: str) -> dict[str, str]:
    return {
        "practice_data": f"practice_id = {current}",
        "provider_record": (
            f"{current} IS NULL OR practice_id IS NULL OR practice_id = {current}"
        ),
    }


def _alter(schema_editor, current: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    conditions = _conditions(current)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, policyname, cmd FROM pg_policies"
            " WHERE schemaname = current_schema()"
            " AND (policyname LIKE %s OR policyname LIKE %s) ORDER BY tablename, policyname",
            ["practice\\_data%", "provider\\_record%"],
        )
        policies = cursor.fetchall()
    quote = schema_editor.quote_name
    statements = []
    for table, name, command in policies:
        kind = "practice_data" if name.startswith("practice_data") else "provider_record"
        condition = conditions[kind]
        using = "" if command == "INSERT" else f" USING ({condition})"
        check = "" if command in ("SELECT", "DELETE") else f" WITH CHECK ({condition})"
        statements.append(f"ALTER POLICY {quote(name)} ON {quote(table)}{using}{check};")
    if statements:
        schema_editor.execute("\n".join(statements), params=None)


def forward(apps, schema_editor):
    _alter(schema_editor, CURRENT)


def backward(apps, schema_editor):
    _alter(schema_editor, FUNCTION)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_practice_own_schedule_permission"),
        ("calendarfeed", "0002_row_level_security"),
        ("compliance", "0015_purge_schedule"),
        ("console", "0004_message_reply_row_security"),
        ("fhir_api", "0002_row_level_security"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
