import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Practice, User
from accounts.roles import PRACTICE_ROLES, PROVIDER_ROLES, Role
from onboarding.models import DeviceReset
from secretariat import inputs

# France first, overseas included (a practice in Réunion books in Réunion's time),
# with the names people use; then the rest of Europe under their zone names.
FRENCH_TIMEZONES = [
    ("Europe/Paris", _("France métropolitaine et Corse")),
    ("America/Guadeloupe", _("Guadeloupe")),
    ("America/Martinique", _("Martinique")),
    ("America/Cayenne", _("Guyane")),
    ("Indian/Reunion", _("La Réunion")),
    ("Indian/Mayotte", _("Mayotte")),
    ("America/Miquelon", _("Saint-Pierre-et-Miquelon")),
    ("America/St_Barthelemy", _("Saint-Barthélemy")),
    ("America/Marigot", _("Saint-Martin")),
    ("Pacific/Tahiti", _("Polynésie française (Tahiti)")),
    ("Pacific/Marquesas", _("Polynésie française (Marquises)")),
    ("Pacific/Gambier", _("Polynésie française (Gambier)")),
    ("Pacific/Noumea", _("Nouvelle-Calédonie")),
    ("Pacific/Wallis", _("Wallis-et-Futuna")),
]
OTHER_EUROPEAN_TIMEZONES = sorted(
    zone
    for zone in zoneinfo.available_timezones()
    if zone.startswith("Europe/") and zone not in dict(FRENCH_TIMEZONES)
)
TIMEZONE_CHOICES = [
    (_("France"), FRENCH_TIMEZONES),
    (_("Autres pays d'Europe"), [(zone, zone) for zone in OTHER_EUROPEAN_TIMEZONES]),
]


# The contact point given to patients in a breach notice (GDPR art. 34).
PRIVACY_CONTACT = ["dpo_name", "dpo_email", "dpo_phone"]


class PracticeIdentityForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        label=_("Fuseau horaire"),
        choices=TIMEZONE_CHOICES,
        initial="Europe/Paris",
    )

    class Meta:
        model = Practice
        fields = [
            "name",
            "slug",
            "address",
            "specialty",
            "timezone",
            "finess",
            "siret",
            *PRIVACY_CONTACT,
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "specialty", *PRIVACY_CONTACT):
            self.fields[name].validators.append(inputs.plain_text)
        self.fields["address"].validators.append(inputs.free_text)

    def clean_finess(self):
        value = self.cleaned_data["finess"]
        if value and (len(value) != 9 or not (value.isascii() and value.isalnum())):
            raise forms.ValidationError(_("Le numéro FINESS compte 9 caractères."))
        return value

    def clean_siret(self):
        value = self.cleaned_data["siret"].replace(" ", "")
        if value and (len(value) != 14 or not (value.isascii() and value.isdigit())):
            raise forms.ValidationError(_("Le numéro SIRET compte 14 chiffres."))
        return value


class PracticeIdentityEditForm(PracticeIdentityForm):
    class Meta(PracticeIdentityForm.Meta):
        fields = ["name", "address", "specialty", "timezone", "finess", "siret", *PRIVACY_CONTACT]


class ContractForm(forms.Form):
    version = forms.CharField(
        label=_("Version du contrat"), max_length=40, validators=[inputs.plain_text]
    )
    signed_on = forms.DateField(
        label=_("Signé le"),
        validators=[inputs.PAST.validator],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    pdf = forms.FileField(label=_("Contrat signé (PDF)"))


class InvitationForm(forms.Form):
    first_name = forms.CharField(label=_("Prénom"), max_length=150, validators=[inputs.plain_text])
    last_name = forms.CharField(label=_("Nom"), max_length=150, validators=[inputs.plain_text])
    email = forms.EmailField(label=_("Adresse e-mail"), validators=[inputs.plain_text])
    role = forms.ChoiceField(label=_("Rôle"))

    def __init__(self, *args, practice_roles: bool, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = PRACTICE_ROLES if practice_roles else PROVIDER_ROLES
        self.fields["role"].choices = [(r.value, r.label) for r in Role if r in allowed]


class AssignmentForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Télésecrétaire"), queryset=User.objects.none())
    starts_on = forms.DateField(
        label=_("Début"),
        validators=[inputs.SCHEDULE.validator],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    ends_on = forms.DateField(
        label=_("Fin (facultative)"),
        required=False,
        validators=[inputs.SCHEDULE.validator],
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, practice: Practice, **kwargs):
        super().__init__(*args, **kwargs)
        telesecretaries = Membership.objects.filter(role=Role.TELESECRETARY).values("user")
        self.fields["user"].queryset = (
            User.objects.filter(is_active=True, pk__in=telesecretaries)
            .exclude(memberships__practice=practice, memberships__role=Role.TELESECRETARY)
            .order_by("last_name", "first_name")
        )


class StatusForm(forms.Form):
    # Closing is not offered here: it is irreversible and goes through its own
    # confirmation page (PracticeCloseForm).
    status = forms.ChoiceField(
        choices=[
            (Practice.Status.ACTIVE, ""),
            (Practice.Status.SUSPENDED, ""),
        ]
    )


class PracticeCloseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "Je confirme la fermeture définitive de ce cabinet : elle ne peut pas être annulée."
        ),
        error_messages={"required": _("Cochez la case pour confirmer la fermeture.")},
    )


class DeviceResetForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Vérification d'identité effectuée"), choices=DeviceReset.Method.choices
    )
    reference = forms.CharField(
        label=_("Référence de la vérification"),
        max_length=80,
        validators=[inputs.plain_text],
        help_text=_(
            "Par exemple : numéro de ticket, date et heure de l'appel. Pas de donnée de santé."
        ),
    )
    confirm = forms.BooleanField(
        label=_("J'ai vérifié l'identité de la personne et je réinitialise son appareil."),
    )


class InvitationAcceptForm(forms.Form):
    username = forms.RegexField(
        label=_("Identifiant de connexion"),
        max_length=150,
        regex=r"\A[a-zA-Z0-9._-]+\Z",
        error_messages={"invalid": _("Lettres, chiffres, points, tirets et tirets bas seulement.")},
    )
    password1 = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        max_length=64,
        widget=forms.PasswordInput,
        help_text=_("12 à 64 caractères ; une phrase de passe est idéale."),
    )
    password2 = forms.CharField(
        label=_("Confirmation"), strip=False, max_length=64, widget=forms.PasswordInput
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") != data.get("password2"):
            raise forms.ValidationError(_("Les deux mots de passe ne correspondent pas."))
        return data
