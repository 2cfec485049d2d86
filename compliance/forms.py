from django import forms
from django.utils.translation import gettext_lazy as _


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        label=_("Commentaire (analyse, suite donnée)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Un commentaire est obligatoire pour acquitter une alerte.")},
    )


class RetentionForm(forms.Form):
    """One field per data kind, bounded by compliance/retention.py RULES."""

    def __init__(self, *args, current: dict[str, int], **kwargs):
        from compliance.models import DataKind
        from compliance.retention import RULES

        super().__init__(*args, **kwargs)
        for kind, rule in RULES.items():
            self.fields[kind] = forms.IntegerField(
                label=DataKind(kind).label,
                initial=current[kind],
                min_value=rule.min_days,
                max_value=rule.max_days,
                help_text=_("Entre %(min)d et %(max)d jours (par défaut %(default)d).")
                % {"min": rule.min_days, "max": rule.max_days, "default": rule.default_days},
                error_messages={
                    "required": _("Indiquez une durée en jours."),
                    "invalid": _("Indiquez un nombre entier de jours."),
                    "min_value": _(
                        "Durée trop courte : au moins %(limit_value)s jours pour ces données."
                    ),
                    "max_value": _(
                        "Durée trop longue : au plus %(limit_value)s jours pour ces données."
                    ),
                },
            )
