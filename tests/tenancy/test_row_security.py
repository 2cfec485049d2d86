"""PostgreSQL row-level security on every tenant table, and proof that it holds
on its own: queries that bypass the application layer (raw SQL, _base_manager,
.exists(), a join from an unscoped model, no scope at all) return no row of
another practice under the application role.

The suite runs as the application role (tests/dbroles.py): without the roles
these tests would prove nothing, so they are skipped."""

import pytest
from django.db import DatabaseError, connection, transaction
from django_scopes import scopes_disabled

from accounts.models import Membership
from accounts.rls import POLICY_NAMES
from accounts.scoping import current_practice_id, practice_scope
from accounts.tenancy import (
    AUDIT_RECORDS,
    AUDIT_TRAIL,
    PRACTICE_DATA,
    PROVIDER_RECORDS,
    policy_kind,
    tenant_models,
)
from appointments import slots
from appointments.models import Appointment
from appointments.selectors import agenda, day_bounds
from patients.models import Patient, PatientUserObjectPermission
from tests.appointments.helpers import future_monday
from tests.factories import as_actor
from tests.tenancy.helpers import count_rows, practice_data_models, rows_of_every_kind

pytestmark = pytest.mark.usefixtures("database_roles")

TENANT_MODELS = tenant_models()
PRACTICE_DATA_MODELS = practice_data_models()


def _label(model) -> str:
    return model._meta.label


def _policies(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT policyname, coalesce(qual, with_check) FROM pg_policies WHERE tablename = %s",
            [table],
        )
        return dict(cursor.fetchall())


def _row_security(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass(%s)", [table])
        return cursor.fetchone()[0]


def test_tenant_models_come_from_the_models():
    labels = {_label(model) for model in TENANT_MODELS}
    assert {
        "patients.Patient",
        "appointments.Appointment",
        "accounts.Membership",
        "audit.AuditEvent",
        "compliance.BreachIncident_practices",
    } <= labels
    assert "accounts.Practice" not in labels


def test_every_listed_exception_is_a_tenant_model():
    assert {*PROVIDER_RECORDS, *AUDIT_RECORDS} <= {_label(model) for model in TENANT_MODELS}


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_MODELS, ids=_label)
def test_every_tenant_table_has_row_security_and_the_policy_of_its_kind(model):
    table = model._meta.db_table
    assert _row_security(table), f"{table}: row security is not enabled"
    policies = _policies(table)
    name = POLICY_NAMES[policy_kind(model)]
    assert policies, f"{table}: no policy (add a migration: accounts/rls.py)"
    assert all(policy.startswith(name) for policy in policies), policies
    if policy_kind(model) == AUDIT_TRAIL:
        assert all("true" in condition for condition in policies.values()), policies
        return
    # The practice setting, read by the expression itself (accounts/rls.py: a
    # function call would cost its inlining at every planning).
    setting = "current_setting('secretariat.practice_id'::text, true)"
    assert all(setting in condition for condition in policies.values()), policies
    assert not any("secretariat_practice_id()" in condition for condition in policies.values())


@pytest.mark.django_db
def test_practice_condition_runs_once_a_statement_not_on_every_row(world):
    # Equated with the query's own `practice_id = <id>`, the policies' condition
    # is a one-time filter (or an index condition): a form the planner could not
    # treat as a constant would be evaluated on every row read (bench.rls).
    practice = world.practice_a
    start, end = day_bounds(practice, future_monday(), days=7)
    with practice_scope(practice):
        queries = [
            agenda(practice, start=start, end=end),
            Patient.objects.filter(practice=practice, phone_bidx=b"x").order_by("pk")[:10],
            Appointment.objects.filter(practice=practice, patient__practice=practice),
        ]
        for queryset in queries:
            sql, params = queryset.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (COSTS OFF) {sql}", params)
                plan = [line.strip() for (line,) in cursor.fetchall()]
            evaluated = [line for line in plan if "current_setting" in line]
            assert evaluated, plan  # row security is in the plan
            assert all(line.startswith(("One-Time Filter", "Index Cond")) for line in evaluated), (
                "\n".join(plan)
            )


@pytest.mark.django_db
def test_application_role_is_not_exempt_from_row_security():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        assert cursor.fetchone() == ("secretariat_app", False, False)


@pytest.fixture
def rows(world):
    made = rows_of_every_kind(world)
    # Something that could leak, of every kind, in both practices.
    for practice in (world.practice_a, world.practice_b):
        with practice_scope(practice):
            for model in PRACTICE_DATA_MODELS:
                assert count_rows(model, practice.pk), f"no {_label(model)} row to leak"
    return made


# Each test below walks every practice-data model (one set of rows for all).


@pytest.mark.django_db
def test_raw_sql_sees_only_the_practice_in_scope(world, rows):
    with practice_scope(world.practice_a):
        for model in PRACTICE_DATA_MODELS:
            mine = count_rows(model, world.practice_a.pk)
            assert count_rows(model) == mine > 0, _label(model)
            assert count_rows(model, world.practice_b.pk) == 0, _label(model)


@pytest.mark.django_db
def test_no_scope_set_sees_nothing(world, rows):
    assert current_practice_id() is None
    for model in PRACTICE_DATA_MODELS:
        assert count_rows(model) == 0, _label(model)
        with scopes_disabled():
            assert not model._base_manager.exists(), _label(model)
            assert list(model.objects.all()) == [], _label(model)


@pytest.mark.django_db
def test_base_manager_and_exists_in_scope_see_only_its_practice(world, rows):
    for model in PRACTICE_DATA_MODELS:
        with practice_scope(world.practice_b):
            foreign = list(model._base_manager.values_list("pk", flat=True))
        with practice_scope(world.practice_a):
            seen = set(model._base_manager.values_list("practice_id", flat=True))
            assert seen == {world.practice_a.pk}, _label(model)
            assert not model._base_manager.filter(pk__in=foreign).exists(), _label(model)
            assert not model._base_manager.filter(practice_id=world.practice_b.pk).exists()


@pytest.mark.django_db
def test_writes_cannot_reach_or_create_another_practice_row(world, rows):
    for model in PRACTICE_DATA_MODELS:
        _assert_writes_stay_in_practice_a(world, model)


def _assert_writes_stay_in_practice_a(world, model) -> None:
    with practice_scope(world.practice_a):
        moved = model._base_manager.filter(practice_id=world.practice_b.pk)
        assert moved.update(practice_id=world.practice_a.pk) == 0
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET practice_id = %s WHERE practice_id = %s",  # noqa: S608
                [world.practice_a.pk, world.practice_b.pk],
            )
            assert cursor.rowcount == 0
            cursor.execute(
                f"DELETE FROM {table} WHERE practice_id = %s",  # noqa: S608
                [world.practice_b.pk],
            )
            assert cursor.rowcount == 0
        # Moving one of its own rows to practice B is refused (WITH CHECK).
        refused = pytest.raises(DatabaseError, match="row-level security")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET practice_id = %s",  # noqa: S608
                [world.practice_b.pk],
            )
    with practice_scope(world.practice_b):
        assert count_rows(model, world.practice_b.pk) > 0


@pytest.mark.django_db
def test_join_from_an_unscoped_model_stops_at_the_practice_data(world, rows):
    # Guardian's patient grants are not a tenant model (no practice column):
    # a join from them to the patients shows only the practice in scope.
    everyone = PatientUserObjectPermission.objects.values_list("content_object_id", flat=True)
    with practice_scope(world.practice_a):
        grants = set(everyone)
        assert {rows["a"].pk, rows["b"].pk} <= grants  # the grants themselves show
        joined = PatientUserObjectPermission.objects.filter(
            content_object__key_version__gte=0
        ).values_list("content_object__practice_id", flat=True)
        assert set(joined) == {world.practice_a.pk}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.practice_id FROM accounts_user AS u"
                " JOIN appointments_appointment AS a ON a.practitioner_id = u.id"
                " JOIN patients_patient AS p ON p.id = a.patient_id"
            )
            assert {practice for (practice,) in cursor.fetchall()} == {world.practice_a.pk}


@pytest.mark.django_db
def test_insert_for_another_practice_is_refused(world, rows):
    refused = pytest.raises(DatabaseError, match="row-level security")
    with practice_scope(world.practice_a), refused, transaction.atomic():
        Patient(practice_id=world.practice_b.pk, key_version=1).save(force_insert=True)


@pytest.mark.django_db
def test_provider_records_show_one_practice_inside_its_scope_and_all_outside(world):
    practices = {world.practice_a.pk, world.practice_b.pk}
    everyone = set(Membership.objects.exclude(practice=None).values_list("practice_id", flat=True))
    assert practices <= everyone
    with practice_scope(world.practice_a):
        inside = set(Membership.objects.values_list("practice_id", flat=True))
        assert inside == {world.practice_a.pk, None}


@pytest.mark.django_db
def test_audit_write_needs_no_practice_setting_and_cannot_be_changed(world):
    from audit.services import record_event

    event = record_event(
        actor=as_actor(), action="view", practice=world.practice_b, object_type="patient"
    )
    refused = pytest.raises(DatabaseError, match="permission denied")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_id = 'x' WHERE id = %s", [event.id])


@pytest.mark.django_db
def test_busy_intervals_of_another_practices_practitioner_stay_hidden(world, rows):
    """The one narrow opening across practices (appointments migration 0006)
    answers only for the practitioners of the practice in scope."""
    from tests.appointments.helpers import at, future_monday

    monday = future_monday()
    doctor_b = world.users["practitioner_b"]
    window = (at(monday, 0), at(monday, 23))
    with practice_scope(world.practice_b):
        assert slots._busy_rows([doctor_b.pk], *window, None)
    with practice_scope(world.practice_a):
        assert slots._busy_rows([doctor_b.pk], *window, None) == []
    assert slots._busy_rows([doctor_b.pk], *window, None) == []


def test_practice_data_is_the_default_kind():
    unknown = [m for m in TENANT_MODELS if _label(m) not in {*PROVIDER_RECORDS, *AUDIT_RECORDS}]
    assert unknown and all(policy_kind(model) == PRACTICE_DATA for model in unknown)
