from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, User
from secretariat import inputs


class TrainingSessionForm(forms.Form):
    date = forms.DateField(
        label=_("Date"),
        validators=[inputs.PAST.validator],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    topic = forms.CharField(label=_("Thème"), max_length=200, validators=[inputs.plain_text])
    attendees = forms.ModelMultipleChoiceField(
        label=_("Participants"), queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Staff only: active users holding an active role.
        self.fields["attendees"].queryset = User.objects.filter(
            is_active=True, pk__in=Membership.objects.active().values("user_id")
        ).order_by("last_name", "first_name", "username")

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("Une session ne peut pas être enregistrée à l'avance."))
        return day
