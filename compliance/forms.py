from django import forms
from django.utils.translation import gettext_lazy as _


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        label=_("Commentaire (analyse, suite donnée)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Un commentaire est obligatoire pour acquitter une alerte.")},
    )
