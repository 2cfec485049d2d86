from django import forms
from django.utils.translation import gettext_lazy as _

from secretariat import inputs


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Identifiant"), max_length=150, validators=[inputs.plain_text]
    )
    password = forms.CharField(
        label=_("Mot de passe"), max_length=64, strip=False, widget=forms.PasswordInput
    )


class OTPForm(forms.Form):
    code = forms.CharField(
        label=_("Code à 6 chiffres ou code de secours"),
        max_length=40,
        validators=[inputs.plain_text],
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code affiché par votre application"),
        max_length=8,
        validators=[inputs.plain_text],
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class AgreementForm(forms.Form):
    accept = forms.BooleanField(
        label=_("J'ai lu la charte de confidentialité et je m'engage à la respecter."),
        required=True,
    )
