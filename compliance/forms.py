import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compliance.incidents import INCIDENT_TEXT_FIELDS
from compliance.models import BreachIncident, DataKind
from compliance.retention import RULES
from secretariat import inputs


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        label=_("Commentaire (analyse, suite donnée)"),
        max_length=1000,
        validators=[inputs.free_text],
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Un commentaire est obligatoire pour acquitter une alerte.")},
    )


class RetentionForm(forms.Form):
    """One field per data kind, bounded by compliance/retention.py RULES."""

    def __init__(self, *args, current: dict[str, int], **kwargs):
        super().__init__(*args, **kwargs)
        for kind, rule in RULES.items():
            self.fields[kind] = forms.IntegerField(
                label=DataKind(kind).label,
                initial=current[kind],
                min_value=rule.min_days,
                max_value=rule.max_days,
                help_text=_("Entre %(min)d et %(max)d jours (par défaut %(default)d).")
                % {"min": rule.min_days, "max": rule.max_days, "default": rule.default_days},
                error_messages={
                    "required": _("Indiquez une durée en jours."),
                    "invalid": _("Indiquez un nombre entier de jours."),
                    "min_value": _(
                        "Durée trop courte : au moins %(limit_value)s jours pour ces données."
                    ),
                    "max_value": _(
                        "Durée trop longue : au plus %(limit_value)s jours pour ces données."
                    ),
                },
            )


class IncidentForm(forms.ModelForm):
    """The register entry; the affected patients are ids (one per line), never names."""

    patient_ids_text = forms.CharField(
        label=_("Identifiants des patients concernés (un par ligne, facultatif)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=100_000,
    )

    class Meta:
        model = BreachIncident
        fields = [
            "detected_at",
            "nature",
            "data_categories",
            "people_categories",
            "approx_people",
            "approx_records",
            "likely_consequences",
            "measures_taken",
            "patient_advice",
            "practices",
        ]
        widgets = {
            "detected_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "practices": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practices"].error_messages["required"] = _(
            "Indiquez au moins un cabinet concerné."
        )
        for name in ("approx_people", "approx_records"):
            self.fields[name].required = False

        for name in INCIDENT_TEXT_FIELDS:
            self.fields[name].validators.append(inputs.free_text)

    def clean_detected_at(self):
        value = self.cleaned_data["detected_at"]
        if value > timezone.now():
            raise forms.ValidationError(_("La date de découverte ne peut pas être dans le futur."))
        inputs.PAST.validator(value)
        return value

    def clean_patient_ids_text(self):
        values = [line.strip() for line in self.cleaned_data["patient_ids_text"].splitlines()]
        values = [value for value in values if value]
        for value in values:
            try:
                uuid.UUID(value)
            except ValueError:
                raise forms.ValidationError(
                    _("Identifiant de patient invalide (ligne « %(value)s »).")
                    % {"value": value[:40]}
                ) from None
        return values
