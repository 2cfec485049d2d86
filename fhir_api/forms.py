from django import forms
from django.utils.html import format_html
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
        choices=[(scope, scope) for scope in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Le minimum dont le logiciel a besoin. Aucune ne donne accès aux notes."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Labels built per form, in the request's language; the scope itself is
        # an identifier, shown verbatim (translate="no").
        self.fields["scopes"].choices = [
            (scope, format_html('<code translate="no">{}</code> — {}', scope, label))
            for scope, label in SCOPES.items()
        ]
