"""Which tables belong to a practice, from the models themselves.

`tenant_models()` is every model with a `practice` foreign key to
accounts.Practice (auto-created many-to-many tables included: they have the
column too). PostgreSQL row-level security covers every one of them
(accounts/migrations/0006 and later; tests/tenancy checks that none is missing).

Three kinds of policy (docs/tenancy.md):
- practice data (the default, for any new tenant model): the application role
  sees and writes only the rows of the practice set for the current
  transaction by `accounts.scoping.practice_scope()`, and nothing when none is set;
- provider records (listed below, each with its reason): records the provider
  keeps about practices. Inside a practice's transaction they show that
  practice's rows only (and rows of no practice); outside any practice's
  transaction (the platform's and compliance's pages, the jobs) all of them;
- the audit trail (listed below): read and appended from any context, never
  updated or deleted.
"""

from django.apps import apps
from django.db import models

PRACTICE_DATA = "practice"
PROVIDER_RECORD = "provider"
AUDIT_TRAIL = "audit"

AUDIT_RECORDS = {
    "audit.AuditChain": "hash chain heads: every audit append must reach its chain from "
    "any context (an audit write never fails for want of a practice setting)",
    "audit.AuditEvent": "the provider's audit trail: compliance officers, detectors and "
    "the verification read it across practices; identifiers only; its jsonb index "
    "would be unusable under a per-practice policy (operators not LEAKPROOF)",
}

PROVIDER_RECORDS = {
    "accounts.Membership": "who works where: read to resolve the practice scope itself, "
    "and by the platform admin across practices; no patient data",
    "onboarding.Invitation": "the platform admin's invitations, read across practices",
    "onboarding.ProcessingContract": "the provider's contract (DPA) record with the practice",
    "compliance.Alert": "the compliance officer's alert inbox, across practices",
    "compliance.RetentionPolicy": "retention settings: the purge and the audit retention "
    "read them across practices; no patient data",
    "compliance.PurgeSchedule": "when each retention period takes effect: the purge reads "
    "it across practices; no patient data",
    "compliance.BreachIncident_practices": "the provider's breach register: which practices "
    "an incident touches",
    "compliance.PatientNotification": "the provider's breach register: notices to draft, "
    "counted across practices; identifiers only",
    "compliance.AccessReviewDecision": "the compliance officer's access review, across practices",
    "console.PhoneLine": "the numbers practices answer on: read by the phone system's webhook "
    "before it knows the practice; public numbers, no patient data",
    "console.Call": "the call log: the agent's console asks which practice rings across "
    "practices, the provider bills on it; no identity, the caller's number sealed under the "
    "practice's key and blind-indexed",
    "fhir_api.ApiClient": "the platform admin's registry of API clients, each bound to one "
    "practice: listed across practices, and resolved from a bearer token before any "
    "practice is known (the token's practice is its client's); no patient data",
    "compliance.Notice": "notifications to members of staff (their inbox, the header count): "
    "identifiers and counts only, addressed across practices",
}


def _practice_field(model: type[models.Model]) -> models.Field | None:
    for field in model._meta.concrete_fields:
        if (
            field.name == "practice"
            and field.is_relation
            and field.related_model is not None
            and field.related_model._meta.label == "accounts.Practice"
        ):
            return field
    return None


def tenant_models() -> list[type[models.Model]]:
    """Every model whose table carries a practice_id (to accounts.Practice)."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if _practice_field(model) is not None
    ]


def policy_kind(model: type[models.Model]) -> str:
    label = model._meta.label
    if label in AUDIT_RECORDS:
        return AUDIT_TRAIL
    return PROVIDER_RECORD if label in PROVIDER_RECORDS else PRACTICE_DATA
