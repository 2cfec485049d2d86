"""PostgreSQL: row-level security on every tenant table (the second wall behind
django-scopes and the explicit practice filters). See accounts/rls.py for the
policies and docs/tenancy.md for the reasons.

- Practice data: the application role sees and writes only the rows of the
  practice set for the transaction (accounts.scoping.practice_scope), none
  without one.
- Provider records: that practice's rows inside a practice's transaction, every
  row outside one.
- The audit trail: events can be inserted and read from any context but have
  no UPDATE or DELETE policy, so row security refuses those too (beside the
  missing privileges and the triggers); chain heads can be read, inserted and
  advanced, never deleted. An audit write never needs a practice setting.

SQLite has no row security: nothing to do there.
"""

from django.db import migrations

from accounts import rls

PRACTICE_DATA = [
    "patients_practicekey",
    "patients_patient",
    "patients_clinicalnote",
    "patients_consent",
    "patients_breakglassgrant",
    "appointments_practitionersettings",
    "appointments_appointmenttype",
    "appointments_workinghours",
    "appointments_absence",
    "appointments_appointmentseries",
    "appointments_appointment",
    "appointments_appointmentevent",
    "appointments_callmessage",
    "appointments_reminder",
    "appointments_waitinglistentry",
]
PROVIDER_RECORDS = [
    "accounts_membership",
    "onboarding_invitation",
    "onboarding_processingcontract",
    "compliance_alert",
    "compliance_retentionpolicy",
    "compliance_breachincident_practices",
    "compliance_patientnotification",
    "compliance_accessreviewdecision",
]
AUDIT = {
    "audit_auditevent": ("SELECT", "INSERT"),
    "audit_auditchain": ("SELECT", "INSERT", "UPDATE"),
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    statements = [rls.FUNCTIONS]
    statements += [rls.enable(table, "practice") for table in PRACTICE_DATA]
    statements += [rls.enable(table, "provider") for table in PROVIDER_RECORDS]
    statements += [rls.enable(table, "audit", commands) for table, commands in AUDIT.items()]
    schema_editor.execute("\n".join(statements), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    tables = PRACTICE_DATA + PROVIDER_RECORDS + list(AUDIT)
    statements = [rls.disable(table) for table in tables] + [rls.DROP_FUNCTIONS]
    schema_editor.execute("\n".join(statements), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_membership_confirmation"),
        ("appointments", "0005_reminder_resend"),
        ("audit", "0012_chain_guard"),
        ("compliance", "0009_alert_role_grant"),
        ("onboarding", "0002_mails_from_tasks"),
        ("patients", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
