"""Patient pages. Thin views: permission declared, objects fetched within the
practice (another practice's id is a 404), audit recorded before rendering,
`Cache-Control: no-store` on every page (they all carry patient data). Patient
data is read through the access_* selectors, which record the read."""

import json

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import has_practice_perm, practice_permission
from audit.models import Action
from audit.services import record_event
from patients import portability, rules, selectors, services
from patients.decorators import sealed_data
from patients.export_pdf import patient_pdf
from patients.forms import (
    BreakGlassForm,
    ConsentForm,
    ConsentWithdrawForm,
    NoteForm,
    PatientForm,
    SearchForm,
)
from patients.models import Consent, Patient


def _patient(request: HttpRequest, patient_id) -> Patient:
    return selectors.patient_get(request.practice, patient_id)


@practice_permission("view_patient_identity")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def search_view(request: HttpRequest, practice: str) -> HttpResponse:
    form = SearchForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        found = selectors.access_patient_search(
            actor=request.actor, practice=request.practice, query=form.cleaned_data["q"]
        )
        results = [selectors.summary(patient) for patient in found.patients]
    else:
        record_event(actor=request.actor, action=Action.VIEW, object_type="patient_search")
    context = {
        "form": form,
        "results": results,
        "can_create": has_practice_perm(request, "change_patient_identity"),
    }
    return render(request, "patients/search.html", context)


def _duplicates_or_none(request, form, exclude=None) -> list | None:
    """Blind-index matches to warn about, unless the user confirmed."""
    if form.cleaned_data.get("confirm_duplicate"):
        return None
    found = selectors.access_duplicates(
        actor=request.actor, practice=request.practice, identity=form.identity(), exclude=exclude
    )
    if not found:
        return None
    return [selectors.summary(patient) for patient in found]


def _form_status(form) -> int:
    """Bad input is a 400 (the form again, with its French errors)."""
    return 400 if form.is_bound and form.errors else 200


@practice_permission("change_patient_identity")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def create_view(request: HttpRequest, practice: str) -> HttpResponse:
    form = PatientForm(request.POST or None)
    duplicates = None
    if request.method == "POST" and form.is_valid():
        duplicates = _duplicates_or_none(request, form)
        if duplicates is None:
            patient = services.patient_create(
                practice=request.practice,
                identity=form.identity(),
                actor=request.actor,
                duplicate_confirmed=bool(form.cleaned_data.get("confirm_duplicate")),
            )
            messages.success(request, _("Patient créé."))
            return redirect("patients:detail", practice=practice, patient=patient.pk)
    else:
        record_event(actor=request.actor, action=Action.VIEW, object_type="patient_form")
    context = {"form": form, "duplicates": duplicates, "creating": True}
    return render(request, "patients/form.html", context, status=_form_status(form))


@practice_permission("change_patient_identity")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def edit_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    duplicates = None
    if request.method == "POST":
        patient = _patient(request, patient)
        form = PatientForm(request.POST)
        if form.is_valid():
            duplicates = _duplicates_or_none(request, form, exclude=patient)
            if duplicates is None:
                services.patient_update(
                    patient=patient, identity=form.identity(), actor=request.actor
                )
                messages.success(request, _("Identité mise à jour."))
                return redirect("patients:detail", practice=practice, patient=patient.pk)
    else:
        patient = selectors.access_patient(
            actor=request.actor, practice=request.practice, patient_id=patient
        )
        form = PatientForm(initial=PatientForm.initial_from(selectors.identity(patient)))
    context = {"form": form, "duplicates": duplicates, "creating": False, "patient": patient}
    return render(request, "patients/form.html", context, status=_form_status(form))


@practice_permission("view_patient_identity")
@never_cache
@require_http_methods(["GET"])
@sealed_data
def detail_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    card = selectors.access_patient_card(
        actor=request.actor, access=request.practice_access, patient_id=patient
    )
    patient, notes = card.patient, card.notes
    identity = selectors.identity(patient)
    context = {
        "patient": patient,
        "identity": identity,
        "phone": selectors.display_phone(identity.phone),
        "phone_alt": selectors.display_phone(identity.phone_alt),
        "consents": selectors.consents_for(patient),
        "consent_form": ConsentForm(),
        "notes_access": card.notes_access,
        "notes": [(note, note.read("text")) for note in notes] if notes is not None else None,
        "note_form": NoteForm(),
        "can_edit": has_practice_perm(request, "change_patient_identity"),
        "can_write_notes": has_practice_perm(request, "change_clinical_notes"),
        "can_restrict": services.may_change_restriction(patient=patient, actor=request.actor),
        "can_export": has_practice_perm(request, "export_patient_data"),
        "can_book": has_practice_perm(request, "book_appointment"),
    }
    return render(request, "patients/detail.html", context)


def _notes_patient(request: HttpRequest, patient_id, *, record: bool) -> Patient:
    return selectors.access_clinical_notes(
        actor=request.actor, access=request.practice_access, patient_id=patient_id, record=record
    )


@practice_permission("change_clinical_notes")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def note_add_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    patient = _notes_patient(request, patient, record=request.method == "GET")
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.clinical_note_add(
            patient=patient, text=form.cleaned_data["text"], actor=request.actor
        )
        messages.success(request, _("Note ajoutée."))
        return redirect("patients:detail", practice=practice, patient=patient.pk)
    return render(request, "patients/note_form.html", {"form": form, "patient": patient})


@practice_permission("change_patient_identity")
@never_cache
@require_POST
def consent_record_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    patient = _patient(request, patient)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez un consentement valide."))
    else:
        services.consent_record(
            patient=patient, purpose=form.cleaned_data["purpose"], actor=request.actor
        )
        messages.success(request, _("Consentement enregistré."))
    return redirect("patients:detail", practice=practice, patient=patient.pk)


@practice_permission("change_patient_identity")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def consent_withdraw_view(request: HttpRequest, practice: str, patient, consent: int):
    """A withdrawal is not undone (the patient consents anew, as a new record):
    the page says what it stops, and only a post with the box ticked records
    it. A post without it changes nothing and shows the page again (400)."""
    patient = _patient(request, patient)
    found = Consent.objects.filter(practice=request.practice, patient=patient, pk=consent).first()
    if found is None:
        raise Http404
    form = ConsentWithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.consent_withdraw(consent=found, actor=request.actor)
        messages.success(request, _("Retrait du consentement enregistré."))
        return redirect("patients:detail", practice=practice, patient=patient.pk)
    patient = selectors.access_patient(
        actor=request.actor, practice=request.practice, patient_id=patient.pk
    )
    context = {
        "patient": patient,
        "identity": selectors.identity(patient),
        "consent": found,
        "form": form,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "patients/consent_withdraw.html", context, status=status)


@practice_permission("change_clinical_notes")
@never_cache
@require_POST
def restrict_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    """A practitioner who may read the notes restricts the record to himself (or
    opens it again). Once restricted, only the practitioners it names may change
    that (services.may_change_restriction): a break-glass grant does not."""
    patient = _notes_patient(request, patient, record=False)
    restricted = request.POST.get("restricted") == "1"
    if restricted != patient.restricted:
        try:
            services.patient_set_restricted(
                patient=patient,
                restricted=restricted,
                practitioners=[request.user],
                actor=request.actor,
            )
        except services.RestrictionRefused as refused:
            context = {"patient": patient, "message": str(refused)}
            return render(request, "patients/restriction_refused.html", context, status=403)
    if restricted:
        messages.success(request, _("Dossier restreint : vous seul(e) voyez ses notes cliniques."))
    else:
        messages.success(request, _("Restriction levée."))
    return redirect("patients:detail", practice=practice, patient=patient.pk)


def _export(request: HttpRequest, patient_id, fmt: str) -> tuple[Patient, dict]:
    return selectors.access_patient_export(
        actor=request.actor, access=request.practice_access, patient_id=patient_id, fmt=fmt
    )


@practice_permission("export_patient_data")
@never_cache
@require_http_methods(["GET"])
@sealed_data
def export_json_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    patient, data = _export(request, patient, "json")
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="patient-{patient.pk}.json"'
    return response


@practice_permission("export_patient_data")
@never_cache
@require_http_methods(["GET"])
@sealed_data
def export_html_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    patient, data = _export(request, patient, "html")
    context = {"patient": patient, "data": data, "page": portability.readable(data)}
    return render(request, "patients/export.html", context)


@practice_permission("export_patient_data")
@never_cache
@require_http_methods(["GET"])
@sealed_data
def export_pdf_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    patient, data = _export(request, patient, "pdf")
    response = HttpResponse(patient_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="patient-{patient.pk}.pdf"'
    return response


@practice_permission("view_clinical_notes")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def break_glass_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    patient = _patient(request, patient)
    notes_rule = rules.notes_access(
        user=request.user, access=request.practice_access, patient=patient
    )
    if notes_rule == rules.NotesAccess.ALLOWED:
        return redirect("patients:detail", practice=practice, patient=patient.pk)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.break_glass_open(
            patient=patient, actor=request.actor, reason=form.cleaned_data["reason"]
        )
        messages.warning(
            request, _("Accès d'urgence ouvert pour 4 heures. Il est enregistré et sera revu.")
        )
        return redirect("patients:detail", practice=practice, patient=patient.pk)
    if request.method == "GET":
        record_event(
            actor=request.actor, action=Action.VIEW, object_type="patient", object_id=patient.pk
        )
    return render(request, "patients/break_glass.html", {"form": form, "patient": patient})


@practice_permission("view_clinical_notes")
@never_cache
@require_http_methods(["GET"])
@sealed_data
def break_glass_list_view(request: HttpRequest, practice: str) -> HttpResponse:
    grants = selectors.access_break_glass_grants(actor=request.actor, practice=request.practice)
    rows = [(grant, grant.read("reason")) for grant in grants]
    return render(request, "patients/break_glass_list.html", {"rows": rows})
