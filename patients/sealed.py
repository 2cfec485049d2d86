"""The one registry of sealed models: every concrete subclass of
patients.models.SealedModel, found from the installed models at run time.

Patients sits below appointments in the layers, so it cannot name
Appointment or CallMessage; the registry finds them through apps.get_models()
instead. Rotation, crypto-shredding, the exports and the restore drill's check
all read this registry: a new sealed model is covered by each of them the
moment it exists, and tests/patients/test_sealed_registry.py fails when one
of them leaves a sealed model out.
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.db import models

from patients.models import PracticeKey, SealedModel
from secretariat.crypto import DecryptionError


def sealed_models() -> tuple[type[SealedModel], ...]:
    """Every concrete (non-abstract, non-proxy) sealed model, in label order."""
    found = [
        model
        for model in apps.get_models()
        if issubclass(model, SealedModel) and not model._meta.proxy
    ]
    for model in found:
        _check_columns(model)
    return tuple(sorted(found, key=lambda model: model._meta.label_lower))


def sealed_columns(model: type[SealedModel]) -> list[str]:
    """The database fields that hold the model's ciphertexts."""
    return [f"{name}_sealed" for name in model.SEALED]


def sealed_fields() -> dict[str, tuple[str, ...]]:
    """{model label: its sealed logical fields}, for documents that list them."""
    return {model._meta.label_lower: model.SEALED for model in sealed_models()}


def patient_sealed_models() -> tuple[tuple[type[SealedModel], str], ...]:
    """(model, name of its foreign key to Patient) for the sealed models whose
    rows belong to one patient (the patient row itself is not in the list)."""
    patient_model = apps.get_model("patients", "Patient")
    found = []
    for model in sealed_models():
        for candidate in model._meta.get_fields():
            if (
                isinstance(candidate, models.ForeignKey)
                and candidate.related_model is patient_model
                and not candidate.auto_created
            ):
                found.append((model, candidate.name))
                break
    return tuple(found)


def rows_on_versions(practice_id: int, versions: list[int]) -> dict[str, int]:
    """{model label: rows of the practice still sealed under one of the
    versions}, listing only the models that have some. The caller enters the
    practice's scope."""
    found = {}
    for model in sealed_models():
        count = model.objects.filter(practice_id=practice_id, key_version__in=versions).count()
        if count:
            found[model._meta.label_lower] = count
    return found


def rows_per_model(practice_id: int) -> dict[str, int]:
    """{model label: sealed rows of the practice}, every sealed model listed.
    The caller enters the practice's scope."""
    return {
        model._meta.label_lower: model.objects.filter(practice_id=practice_id).count()
        for model in sealed_models()
    }


@dataclass
class OpenCheck:
    """What sample_open() found: rows opened per model label, and the rows
    that did not open (as "label:pk", identifiers only)."""

    checked: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    shredded: bool = False


def sample_open(practice_id: int, per_model: int) -> OpenCheck:
    """Open every sealed field of up to per_model rows of each sealed model of
    the practice (the rows on the oldest key versions first, where a forgotten
    rotation would show). A shredded practice (no live key) is reported as such,
    not as failures. The caller enters the practice's scope."""
    result = OpenCheck()
    if not PracticeKey.objects.filter(practice_id=practice_id, destroyed_at=None).exists():
        result.shredded = True
        return result
    for model in sealed_models():
        label = model._meta.label_lower
        rows = model.objects.filter(practice_id=practice_id).order_by("key_version", "pk")
        result.checked[label] = 0
        for row in rows[:per_model]:
            result.checked[label] += 1
            try:
                for name in model.SEALED:
                    row.read(name)
            except DecryptionError:  # KeyUnavailable included: a destroyed version
                result.failures.append(f"{label}:{row.pk}")
    return result


def _check_columns(model: type[SealedModel]) -> None:
    if not model.SEALED:
        raise TypeError(f"{model._meta.label} is a SealedModel with no SEALED field")
    names = {field.name for field in model._meta.get_fields()}
    missing = [column for column in sealed_columns(model) if column not in names]
    if missing:
        raise TypeError(f"{model._meta.label} declares sealed fields without columns: {missing}")
