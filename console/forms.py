from django import forms
from django.utils.translation import gettext_lazy as _

from console.models import Call
from patients import normalise
from patients.forms import PatientForm, SearchForm
from secretariat import inputs

ALL_PRACTITIONERS = "tous"


class ConsoleSearchForm(SearchForm):
    """The caller search; `auto` is set when the search ran as the number was
    typed (then only a phone match opens straight into booking)."""

    auto = forms.BooleanField(required=False, widget=forms.HiddenInput)


class PanelForm(forms.Form):
    """GET choices of the booking panel (no health data): a type, a practitioner
    ("tous" for all), a first day."""

    type = forms.IntegerField(required=False, min_value=1, max_value=inputs.ID_MAX)
    praticien = forms.CharField(required=False, max_length=12, validators=[inputs.plain_text])
    a_partir_du = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], validators=[inputs.SCHEDULE.validator]
    )

    def practitioner_choice(self) -> int | str | None:
        """An id, ALL_PRACTITIONERS, or None (the usual practitioner)."""
        if not self.is_valid():
            return None
        value = self.cleaned_data["praticien"]
        if value == ALL_PRACTITIONERS:
            return ALL_PRACTITIONERS
        # ASCII digits only: "²" is a digit to str.isdigit() but not to int().
        return int(value) if value.isascii() and value.isdigit() else None


class NewCallerForm(PatientForm):
    """A new caller, the least the practice needs to book: names, birth date, the
    number they call from, and whether they accept SMS reminders (asked, so a
    required yes or no). No practice, flag or key can be posted."""

    birth_name = None
    phone_alt = None
    email = None
    address = None
    nir = None
    sms_consent = forms.TypedChoiceField(
        label=_("Accepte les rappels par SMS ?"),
        choices=[("oui", _("Oui")), ("non", _("Non"))],
        coerce=lambda value: value == "oui",
        widget=forms.RadioSelect,
        error_messages={"required": _("Demandez si le patient accepte les rappels par SMS.")},
    )
    field_order = ["phone", "last_name", "first_names", "birth_date", "sms_consent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The focus where typing starts: the name when the number is known.
        first = "last_name" if self.initial.get("phone") or self.data.get("phone") else "phone"
        self.fields[first].widget.attrs["data-autofocus"] = ""


class CallEndForm(forms.Form):
    """What a call came to; `appel` names the phone system's call, if any."""

    outcome = forms.ChoiceField(choices=Call.Outcome.choices)
    appel = forms.UUIDField(required=False)


class CallerMessageForm(forms.Form):
    """A message instead of a booking: for whom, how urgent, the number to call
    back, what the caller said. No practice, author or state can be posted."""

    practitioner = forms.TypedChoiceField(label=_("Pour le praticien"), coerce=int)
    urgent = forms.BooleanField(label=_("Urgent"), required=False)
    callback = forms.CharField(
        label=_("Numéro de rappel"),
        max_length=40,
        required=False,
        validators=[inputs.plain_text],
    )
    text = forms.CharField(
        label=_("Message"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[inputs.free_text],
    )
    appel = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, practitioners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].choices = [
            (user.pk, user.get_full_name() or user.username) for user in practitioners
        ]
        self.fields["text"].widget.attrs["data-autofocus"] = ""

    def clean_callback(self) -> str:
        value = self.cleaned_data["callback"].strip()
        if value and normalise.phone(value) is None:
            raise forms.ValidationError(_("Numéro de téléphone invalide."))
        return value


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Votre réponse (lue au patient à son prochain appel)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[inputs.free_text],
    )
