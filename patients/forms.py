from django import forms
from django.utils.translation import gettext_lazy as _

from patients import normalise
from patients.models import Consent
from patients.services import Identity
from secretariat import inputs


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Téléphone, date de naissance, nom ou « nom prénom »"),
        max_length=200,
        validators=[inputs.plain_text],
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )


class DateInput(forms.DateInput):
    input_type = "text"

    def __init__(self, **kwargs):
        super().__init__(format="%d/%m/%Y", attrs={"placeholder": "jj/mm/aaaa"}, **kwargs)


class PatientForm(forms.Form):
    """Identity only: no practice, no flag, no key field can be posted."""

    last_name = forms.CharField(
        label=_("Nom d'usage"), max_length=100, validators=[inputs.plain_text]
    )
    birth_name = forms.CharField(
        label=_("Nom de naissance"),
        max_length=100,
        required=False,
        validators=[inputs.plain_text],
    )
    first_names = forms.CharField(
        label=_("Prénoms"), max_length=150, validators=[inputs.plain_text]
    )
    birth_date = forms.DateField(
        label=_("Date de naissance"),
        input_formats=["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"],
        validators=[inputs.BIRTH_DATE.validator],
        widget=DateInput(),
    )
    phone = forms.CharField(
        label=_("Téléphone"), max_length=40, required=False, validators=[inputs.plain_text]
    )
    phone_alt = forms.CharField(
        label=_("Autre téléphone"), max_length=40, required=False, validators=[inputs.plain_text]
    )
    email = forms.EmailField(label=_("Courriel"), required=False, validators=[inputs.plain_text])
    address = forms.CharField(
        label=_("Adresse"),
        max_length=300,
        required=False,
        validators=[inputs.free_text],
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    nir = forms.CharField(
        label=_("NIR (n° de sécurité sociale)"),
        max_length=21,
        required=False,
        validators=[inputs.plain_text],
    )
    confirm_duplicate = forms.BooleanField(
        label=_("Je confirme qu'il s'agit d'un autre patient"), required=False
    )

    def _clean_phone(self, name: str) -> str:
        value = self.cleaned_data.get(name, "").strip()
        if value and normalise.phone(value) is None:
            raise forms.ValidationError(_("Numéro de téléphone invalide."))
        return value

    def clean_phone(self) -> str:
        return self._clean_phone("phone")

    def clean_phone_alt(self) -> str:
        return self._clean_phone("phone_alt")

    def clean_nir(self) -> str:
        value = self.cleaned_data.get("nir", "").replace(" ", "").upper()
        if value and not (len(value) == 15 and value[:1] in "12378" and value[1:].isalnum()):
            raise forms.ValidationError(_("Le NIR compte 15 caractères (clé comprise)."))
        return value

    def identity(self) -> Identity:
        data = self.cleaned_data
        return Identity(
            **{name: data[name] for name in Identity.__dataclass_fields__ if name in data}
        )

    @classmethod
    def initial_from(cls, identity: Identity) -> dict:
        return {name: getattr(identity, name) for name in Identity.__dataclass_fields__}


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note clinique"),
        max_length=10_000,
        validators=[inputs.free_text],
        widget=forms.Textarea(attrs={"rows": 5}),
    )


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Consentement"), choices=Consent.Purpose.choices)


class ConsentWithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Le patient retire ce consentement ; j'enregistre le retrait."),
        error_messages={"required": _("Cochez la case pour confirmer le retrait.")},
    )


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif de l'accès d'urgence"),
        min_length=10,
        max_length=1000,
        validators=[inputs.free_text],
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Obligatoire. L'accès est limité à 4 heures et signalé."),
    )
