from django import forms
from django.utils.translation import gettext_lazy as _


class InitialsForm(forms.Form):
    show_initials = forms.BooleanField(
        label=_("Afficher les initiales des patients (ex. « J. D. »)"),
        required=False,
        help_text=_(
            "Par défaut l'agenda abonné ne montre que l'heure, la durée, le type de "
            "rendez-vous et le cabinet. Jamais le motif, les notes ni le téléphone."
        ),
    )
