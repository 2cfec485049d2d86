from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Practice
from audit.models import Action, ObjectType, Outcome
from secretariat import inputs


class DateInput(forms.DateInput):
    input_type = "date"


class EventFilterForm(forms.Form):
    """Filters of the audit browser. POSTed (with the keyset position) so that a
    patient's id never lands in a URL, a history or a proxy log."""

    practice = forms.ModelChoiceField(
        label=_("Cabinet"),
        queryset=Practice.objects.order_by("name"),
        required=False,
        empty_label=_("Tous les cabinets"),
    )
    user = forms.CharField(
        label=_("Utilisateur (identifiant)"),
        max_length=150,
        required=False,
        validators=[inputs.plain_text],
    )
    object_type = forms.ChoiceField(label=_("Type d'objet"), choices=(), required=False)
    object_id = forms.CharField(
        label=_("Identifiant de l'objet"),
        max_length=64,
        required=False,
        validators=[inputs.plain_text],
        help_text=_("ex. référence du patient"),
    )
    action = forms.ChoiceField(
        label=_("Action"), choices=[("", _("Toutes"))] + Action.choices, required=False
    )
    outcome = forms.ChoiceField(
        label=_("Résultat"), choices=[("", _("Tous"))] + Outcome.choices, required=False
    )
    date_from = forms.DateField(
        label=_("Du"), required=False, widget=DateInput, validators=[inputs.HISTORY.validator]
    )
    date_to = forms.DateField(
        label=_("Au"), required=False, widget=DateInput, validators=[inputs.HISTORY.validator]
    )
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # By label, in the reader's language: nobody has to know the stored codes.
        self.fields["object_type"].choices = [("", _("Tous"))] + sorted(
            ObjectType.choices, key=lambda choice: str(choice[1]).lower()
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("La date de début doit précéder la date de fin."))
        return data

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound else {}
        return {
            name: data.get(name) or (None if name in ("practice", "date_from", "date_to") else "")
            for name in (
                "practice",
                "user",
                "object_type",
                "object_id",
                "action",
                "outcome",
                "date_from",
                "date_to",
            )
        }

    def audit_detail(self) -> dict:
        """The filters as identifiers for the audit event of this read."""
        filters = self.filters()
        detail = {
            "practice": filters["practice"].pk if filters["practice"] else None,
            "user": filters["user"][:80],
            "object_type": filters["object_type"],
            "object_id": filters["object_id"],
            "action": filters["action"],
            "outcome": filters["outcome"],
            "date_from": filters["date_from"].isoformat() if filters["date_from"] else "",
            "date_to": filters["date_to"].isoformat() if filters["date_to"] else "",
        }
        return {key: value for key, value in detail.items() if value not in ("", None)}


class PatientAccessForm(forms.Form):
    practice = forms.ModelChoiceField(
        label=_("Cabinet"), queryset=Practice.objects.order_by("name")
    )
    # The reference shown on the patient's card (the patient's id), which a
    # practitioner hands to the compliance officer.
    patient_id = forms.UUIDField(
        label=_("Référence du patient"),
        help_text=_("Indiquée sur la fiche du patient, rubrique « Référence »."),
        error_messages={"invalid": _("Référence invalide : copiez-la depuis la fiche du patient.")},
    )
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
