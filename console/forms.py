from django import forms

from patients.forms import SearchForm

ALL_PRACTITIONERS = "tous"


class ConsoleSearchForm(SearchForm):
    """The caller search; `auto` is set when the search ran as the number was
    typed (then only a phone match opens straight into booking)."""

    auto = forms.BooleanField(required=False, widget=forms.HiddenInput)


class PanelForm(forms.Form):
    """GET choices of the booking panel (no health data): a type, a practitioner
    ("tous" for all), a first day."""

    type = forms.IntegerField(required=False, min_value=1)
    praticien = forms.CharField(required=False, max_length=12)
    a_partir_du = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    def practitioner_choice(self) -> int | str | None:
        """An id, ALL_PRACTITIONERS, or None (the usual practitioner)."""
        if not self.is_valid():
            return None
        value = self.cleaned_data["praticien"]
        if value == ALL_PRACTITIONERS:
            return ALL_PRACTITIONERS
        return int(value) if value.isdigit() else None
