from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Practice
from fhir_api.scopes import SCOPES
from secretariat import inputs


class ApiClientForm(forms.Form):
    practice = forms.ModelChoiceField(
        label=_("Cabinet"),
        queryset=Practice.objects.exclude(status=Practice.Status.CLOSED).order_by("name"),
    )
    name = forms.CharField(
        label=_("Nom du logiciel"), max_length=100, validators=[inputs.plain_text]
    )
    scopes = forms.MultipleChoiceField(
        label=_("Autorisations (scopes SMART)"),
        choices=[(scope, f"{scope} — {label}") for scope, label in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Le minimum dont le logiciel a besoin. Aucune ne donne accès aux notes."),
    )
