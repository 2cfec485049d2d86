"""French everywhere, codes nowhere (issue 13 item 7).

The sets are derived from the code: every enum the audit trail and the
compliance inbox store (actions, object types, outcomes, alert kinds and
severities, incident and notice states, retention kinds), every object type
and detail key a call site writes (found by reading the project's source), and
the literal codes those details hold. Each is rendered with French active
through the function the pages, CSV and notices use (audit/labels.py), and
fails when it comes out as the raw code or with English or an identifier in it.
Then the alert inbox, the audit trail (list, event page, CSV) are rendered with
an alert of every kind and an event of every object type."""

import ast
import csv
import io
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from accounts.roles import Role, role_label
from audit import labels
from audit.context import SYSTEM_ROLE, Actor
from audit.models import Action, ObjectType, Outcome
from audit.services import record_event
from compliance import incidents
from compliance.models import Alert, BreachIncident, DataKind, Notice, PatientNotification
from compliance.services import alert_raise
from tests.crawl.french import leftovers
from tests.factories import as_actor
from tests.patients.helpers import make_patient

ROOT = Path(settings.BASE_DIR)
# The calls that write an audit event or an alert, and the helpers that pass
# their keyword arguments on as the details (`_audit(..., change="revoked")`).
WRITERS = {"record_event", "alert_raise", "compliance_alert_raise"}
DETAIL_HELPERS = {"_audit", "_audit_fetch", "_settings_event", "audit_change"}
# Where a helper takes the object type by position.
OBJECT_TYPE_ARGUMENT = {"_settings_event": 2, "audit_change": 4}
ENUMS = [
    Action,
    ObjectType,
    Outcome,
    Alert.Kind,
    Alert.Severity,
    BreachIncident.Status,
    PatientNotification.Status,
    DataKind,
    Notice.Kind,
    Role,
]


def _sources() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {".venv", "tests", "bench"} or "migrations" in parts:
            continue
        found.append((str(path.relative_to(ROOT)), ast.parse(path.read_text())))
    return found


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def written() -> tuple[dict[str, str], dict[str, str], dict[tuple[str, str], str]]:
    """(object types, detail keys, (key, literal code) pairs) the code writes,
    each with where."""
    object_types: dict[str, str] = {}
    keys: dict[str, str] = {}
    codes: dict[tuple[str, str], str] = {}
    for where, tree in _sources():
        # Details built in a variable first (`detail = {...}`, then `detail=detail | ...`).
        assigned: dict[str, list[ast.Dict]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            name, at = _name(call), f"{where}:{call.lineno}"
            if name in WRITERS:
                for keyword in call.keywords:
                    value = keyword.value
                    if keyword.arg == "object_type" and isinstance(value, ast.Constant):
                        object_types[value.value] = at
                    elif keyword.arg == "object_type" and isinstance(value, ast.Attribute):
                        if isinstance(value.value, ast.Name) and value.value.id == "ObjectType":
                            object_types[ObjectType[value.attr].value] = at
                    elif keyword.arg in {"detail", "details"}:
                        for part in ast.walk(value):
                            if isinstance(part, ast.Dict):
                                _dict_keys(part, at, keys, codes)
                            elif isinstance(part, ast.Name):
                                for built in assigned.get(part.id, []):
                                    _dict_keys(built, at, keys, codes)
            elif name in DETAIL_HELPERS:
                for keyword in call.keywords:
                    if keyword.arg and keyword.arg not in {"actor", "practice"}:
                        keys[keyword.arg] = at
                        constant = keyword.value
                        if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                            codes[(keyword.arg, constant.value)] = at
                for position, argument in enumerate(call.args):
                    if isinstance(argument, ast.Dict):
                        _dict_keys(argument, at, keys, codes)
                    elif position == OBJECT_TYPE_ARGUMENT.get(name) and isinstance(
                        argument, ast.Constant
                    ):
                        object_types[argument.value] = at
    return object_types, keys, codes


def _dict_keys(node: ast.Dict, at: str, keys: dict, codes: dict) -> None:
    for key, value in zip(node.keys, node.values, strict=True):
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            keys[key.value] = at
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                codes[(key.value, value.value)] = at


# Codes that are French words too, and read the same ("Export", "Patient").
SAME_IN_FRENCH = {"absence", "agenda", "export", "format", "invitation", "patient", "purge",
                  "session", "action", "notes", "patients", "minutes", "versions", "tables",
                  "console", "message", "source", "date", "urgent", "information"}  # fmt: skip


def _french(text: str, code: str = "") -> list[str]:
    """What is wrong with a code's words: English or identifiers in them, or
    the code itself given back ("open" as "Open")."""
    problems = leftovers([text])
    same = text.strip().lower() == code.replace("_", " ").lower()
    if code and same and code not in SAME_IN_FRENCH:
        problems.append(f"shown as stored: {code!r}")
    return problems


@pytest.fixture
def french():
    with translation.override("fr"):
        yield


# ---------------------------------------------------------------- the sets


def test_written_sets_are_found_from_the_code():
    """The scan finds what it is meant to find (else every check below passes
    on an empty set)."""
    object_types, keys, codes = written()
    assert {"patient", "url", "waiting_list_entry", "compliance_alert"} <= set(object_types)
    assert {"minutes", "threshold", "event_id", "for", "change", "operation"} <= set(keys)
    assert ("for", "booking_slots") in codes and ("operation", "shred") in codes
    assert ("change", "handled") in codes and "working_hours" in object_types
    assert ("kind", "instance") not in codes and "types" in keys  # agenda_starter's counts


def test_every_object_type_written_is_a_named_object_type():
    object_types, _keys, _codes = written()
    missing = {value: at for value, at in object_types.items() if value not in ObjectType.values}
    assert not missing, f"object types with no French label (audit.models.ObjectType): {missing}"


def test_every_kind_of_data_purged_is_a_named_object_type():
    """The purge records each batch under its kind as the object type
    (compliance.retention.purge_batch)."""
    assert set(DataKind.values) <= set(ObjectType.values)


def system_actors() -> dict[str, str]:
    """The names of `Actor.system(name)` in the source, each with where."""
    found = {}
    for where, tree in _sources():
        for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "system"
                and isinstance(func.value, ast.Name)
                and func.value.id == "Actor"
                and call.args
                and isinstance(call.args[0], ast.Constant)
            ):
                found[call.args[0].value] = f"{where}:{call.lineno}"
    return found


def test_every_task_acting_in_the_trail_has_a_french_name(french):
    found = system_actors()
    assert {"retention_purge", "reminders", "backup"} <= set(found)
    missing = {name: at for name, at in found.items() if name not in labels.SYSTEM_ACTORS}
    assert not missing, f"tasks with no French name (audit.labels.SYSTEM_ACTORS): {missing}"
    problems = [
        f"{name}: {problem}"
        for name in found
        for problem in _french(labels.actor_label(f"system:{name}"), name)
    ]
    assert not problems, "\n".join(problems)


def test_every_detail_key_written_has_a_french_name():
    _object_types, keys, _codes = written()
    missing = {key: at for key, at in keys.items() if key not in labels.DETAIL_LABELS}
    assert not missing, f"detail keys with no French name (audit.labels.DETAIL_LABELS): {missing}"


@pytest.mark.parametrize("choices", ENUMS, ids=lambda choices: choices.__qualname__)
def test_every_enum_value_reads_in_french(french, choices):
    problems = [
        f"{choices.__qualname__}.{member.name}: {problem}"
        for member in choices
        for problem in _french(str(member.label), member.value)
    ]
    assert not problems, "\n".join(problems)


def test_every_detail_key_and_code_reads_in_french(french):
    problems = [
        f"key {key!r}: {problem}"
        for key, label in labels.DETAIL_LABELS.items()
        for problem in _french(str(label), key)
    ]
    problems += [
        f"{key}={code!r}: {problem}"
        for key, codes in labels.VALUE_LABELS.items()
        for code, label in codes.items()
        for problem in _french(str(label), code)
    ]
    assert not problems, "\n".join(problems)


def test_every_literal_code_written_in_a_detail_reads_in_french(french):
    _object_types, _keys, codes = written()
    problems = [
        f"{key}={code!r} ({at}) reads {shown!r}: {'; '.join(found)}"
        for (key, code), at in sorted(codes.items())
        if key not in labels.IDENTIFIER_KEYS
        for shown in [labels.detail_value(key, code)]
        if (found := _french(shown, code))
    ]
    assert not problems, "\n".join(problems)


def test_values_read_as_words(french):
    assert labels.detail_value("restricted", True) == "oui"
    assert labels.detail_value("restricted", False) == "non"
    assert labels.detail_value("latest", None) == "—"
    assert labels.detail_value("object_type", "waiting_list_entry") == "Liste d'attente"
    assert labels.detail_value("for", "booking_slots") == "Prise de rendez-vous (créneaux proposés)"
    assert labels.detail_value("role", "telesecretary") == "Télésecrétaire"
    # A code two enums use, read by the key that holds it.
    assert labels.detail_value("action", "lockout") == "Verrouillage"
    assert labels.detail_value("kind", "lockout") == "Compte verrouillé"
    assert labels.detail_value("outcome", "cancelled") == "Rendez-vous annulé"
    assert labels.detail_value("status", "cancelled") == "Annulé"
    assert labels.detail_value("category", "practitioner") == "Indisponibilité du praticien"
    assert labels.detail_value("source", "manual") == "Saisi à la main"
    assert labels.detail_value("outcome", "failure") == "Échec"
    assert labels.detail_value("practices", [3, 4]) == "3, 4"
    page = labels.detail_value("view_name", "appointments:settings")
    assert page.startswith("Page /p/…/") and "appointments" not in page
    assert labels.object_id_words(ObjectType.URL, "appointments:settings").startswith("/p/…/")
    assert role_label(SYSTEM_ROLE) == "Système (tâche automatique)"
    assert labels.actor_label("system:retention_purge") == (
        "Tâche automatique : Purge des données échues"
    )
    assert labels.actor_label("tele.partie") == "tele.partie"


def test_values_read_in_english_too():
    with translation.override("en"):
        assert labels.detail_label("threshold") != "Seuil"
        assert labels.detail_value("restricted", True) == "yes"
        assert str(ObjectType.WAITING_LIST_ENTRY.label) != "Liste d'attente"


# ---------------------------------------------------------------- the pages


class _Text(HTMLParser):
    """The text a reader sees in <main>, as the crawl reads it: identifiers
    shown verbatim are marked translate="no" (user names, ids), and the
    recorded JSON of the event page (<pre>, the record itself) is left out."""

    VOID = {"br", "hr", "img", "input", "meta", "link", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self._main = self._hidden = 0
        self._stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.VOID:
            return
        hidden = tag in {"pre", "script", "style"} or dict(attrs).get("translate") == "no"
        self._stack.append((tag, hidden))
        self._main += tag == "main"
        self._hidden += hidden

    def handle_endtag(self, tag: str) -> None:
        while self._stack and tag in {name for name, _hidden in self._stack}:
            name, hidden = self._stack.pop()
            self._main -= name == "main"
            self._hidden -= hidden
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._main and not self._hidden and data.strip():
            self.text.append(data.strip())


def _page_text(response) -> list[str]:
    assert response.status_code == 200
    parser = _Text()
    parser.feed(response.content.decode())
    return parser.text


# What each kind's detector or job puts in its details (compliance/detectors.py,
# compliance/audit_trail.py, compliance/signals.py, continuity/services.py).
ALERT_DETAILS = {
    Alert.Kind.CHAIN_BROKEN: {"chain": "practice:1", "chain_id": 1, "event_id": 1, "seq": 4,
                              "problem": "prev_hash"},
    Alert.Kind.DIGEST_MISMATCH: {"chain": "platform", "chain_id": 2, "event_id": None, "seq": 9,
                                 "problem": "export_signature"},
    Alert.Kind.BACKUP_FAILED: {"backup_run": 3, "error": "OSError"},
    Alert.Kind.BACKUP_MISSING: {"latest": None},
    Alert.Kind.DRILL_FAILED: {"drill": 4, "error": "restore_failed"},
    Alert.Kind.MASS_ACCESS: {"threshold": 50, "minutes": 10, "practices": [1, 2],
                             "at": "2026-11-30T10:00:00+00:00"},
    Alert.Kind.OFF_HOURS_ACCESS: {"event_id": 1, "day": "2026-11-29"},
    Alert.Kind.ACCESS_PROBING: {"threshold": 5, "minutes": 10},
    Alert.Kind.LOCKOUT: {"event_id": 1, "ip": "192.0.2.1"},
    Alert.Kind.NEW_IP: {"event_id": 1, "ip": "192.0.2.1"},
    Alert.Kind.TASK_FAILURE: {"task": "compliance.tasks.purge", "error": "OperationalError"},
    Alert.Kind.BREAK_GLASS: {"grant": 1, "patient": "7"},
    Alert.Kind.REMINDER_STUCK: {"count": 2},
    Alert.Kind.ROLE_GRANT: {"event_id": 1, "membership": 3, "role": "practitioner",
                            "step": "grant", "by": 2},
    Alert.Kind.RESTRICTION_CHANGE: {"event_id": 1, "patient": "7", "restricted": True,
                                    "refused": False, "by": 2},
    Alert.Kind.SHRED_REFUSED: {"event_id": 1},
}  # fmt: skip


def test_alert_details_name_every_kind():
    assert set(ALERT_DETAILS) == set(Alert.Kind), "a kind with no seeded alert in this test"


def test_alert_inbox_shows_every_kind_in_french(world):
    for kind, detail in ALERT_DETAILS.items():
        alert_raise(kind=kind, fingerprint=f"french:{kind}", detail=detail)
    text = _page_text(world.client("compliance_officer").get(reverse("compliance:alert_list")))
    joined = "\n".join(text)
    for kind in Alert.Kind:
        assert str(kind.label) in joined
    raw = {key for detail in ALERT_DETAILS.values() for key in detail} | set(Alert.Kind.values)
    problems = leftovers(text) + [line for line in text if line.split(" :")[0] in raw]
    # The notice each alert sends the officers (in the application and by e-mail).
    notices = _page_text(world.client("compliance_officer").get(reverse("compliance:notice_list")))
    assert sum(str(Alert.Kind.MASS_ACCESS.label) in line for line in notices) == 1
    assert "Seuil : 50" in notices and "Minutes : 10" in notices
    problems += leftovers(notices) + [line for line in notices if line.split(" :")[0] in raw]
    assert not problems, "\n".join(problems)


def _every_object_type(world) -> list[int]:
    actor = as_actor(world.users["practitioner_a"])
    ids = []
    for number, object_type in enumerate(ObjectType):
        object_id = "appointments:settings" if object_type == ObjectType.URL else number
        detail = {"for": "booking_slots", "change": "moved", "restricted": True, "latest": None}
        ids.append(
            record_event(
                actor=actor,
                action=list(Action)[number % len(Action)],
                practice=world.practice_a,
                object_type=object_type,
                object_id=object_id,
                detail=detail,
            ).id
        )
    ids.append(
        record_event(
            actor=Actor.system("retention_purge"),
            action=Action.PURGE,
            practice=world.practice_a,
            object_type=ObjectType.REMINDERS,
            detail={"count": 2},
        ).id
    )
    return ids


def test_audit_trail_shows_every_object_type_and_action_in_french(world):
    ids = _every_object_type(world)
    officer = world.client("compliance_officer")
    response = officer.get(reverse("audit:event_list"))
    text = _page_text(response)
    assert b"appointments:settings" not in response.content
    problems = leftovers(text)
    shown = "\n".join(text)
    for object_type in ObjectType:
        assert str(object_type.label) in shown
        if "_" in object_type.value:
            assert object_type.value not in shown
    assert "appointments:settings" not in shown
    assert "Tâche automatique : Purge des données échues" in shown
    for event_id in (ids[0], ids[list(ObjectType).index(ObjectType.URL)]):
        response = officer.get(reverse("audit:event_detail", args=[event_id]))
        page = _page_text(response)
        problems += leftovers(page)
        assert b"appointments:settings" not in response.content
        assert "—" in page
    assert not problems, "\n".join(problems)


def test_audit_csv_is_in_french(world):
    _every_object_type(world)
    response = world.client("compliance_officer").post(
        reverse("audit:export"), {"practice": world.practice_a.pk}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    words = [
        cell
        for row in body
        for name, cell in zip(header, row, strict=True)
        if name in {"role", "action", "type_objet", "id_objet", "resultat", "details"}
    ]
    problems = leftovers(words)
    joined = "\n".join(words)
    for object_type in ObjectType:
        if "_" in object_type.value:
            assert object_type.value not in joined
    assert "appointments:settings" not in joined and "booking_slots" not in joined
    users = [row[header.index("utilisateur")] for row in body]
    assert "Tâche automatique : Purge des données échues" in users
    assert "system:retention_purge" not in users
    assert not problems, "\n".join(problems)


def test_breach_register_retention_and_register_pages_read_in_french(world):
    """Every incident state, the patient notices' states ("Brouillon", not
    "draft = 1"), the retention simulation and the record of processing."""
    patient = make_patient(world.practice_a)
    officer = world.client("compliance_officer")
    made = []
    for status in BreachIncident.Status:
        incident = incidents.incident_declare(
            actor=as_actor(world.users["compliance_officer"]),
            practices=[world.practice_a],
            patient_ids=[str(patient.pk)],
            detected_at=timezone.now() - timedelta(hours=2),
            nature="Ordinateur portable volé",
            data_categories="Identité, téléphone",
            people_categories="Patients",
            approx_people=1,
            approx_records=1,
            likely_consequences="Hameçonnage possible",
            measures_taken="Mots de passe changés",
        )
        BreachIncident.objects.filter(pk=incident.pk).update(status=status)
        made.append(incident)
    pages = [
        officer.get(reverse("compliance:incident_list")),
        *(officer.get(reverse("compliance:incident_detail", args=[i.pk])) for i in made),
        officer.get(reverse("compliance:incident_authority_notice", args=[made[0].pk])),
        officer.get(reverse("compliance:retention", args=[world.practice_a.slug])),
        officer.get(reverse("compliance:register", args=[world.practice_a.slug])),
        world.client("practitioner_a").get(
            reverse("compliance:practice_incidents", args=[world.practice_a.slug])
        ),
    ]
    texts = [line for page in pages for line in _page_text(page)]
    joined = "\n".join(texts)
    for status in BreachIncident.Status:
        assert str(status.label) in joined
    assert str(PatientNotification.Status.DRAFT.label) in joined
    assert "draft" not in joined
    export = officer.post(reverse("compliance:incident_export"))
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    statuses = [row[rows[0].index("statut")] for row in rows[1:]]
    assert sorted(statuses) == sorted(str(status.label) for status in BreachIncident.Status)
    problems = leftovers(texts)
    assert not problems, "\n".join(problems)
